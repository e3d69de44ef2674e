/**
 * The long-timer half of the option table: a duration of 2 ** 31 ms (one past Node's timer limit,
 * which Node — and vitest's fake timers, like it — clamp to 1 ms) has not fired at 2 ** 31 − 1 ms
 * and has fired at 2 ** 31. Each check runs the entry point on its default clock under fake
 * timers (`setTimeout` and `performance` faked), so what is tested is the package's own timer
 * chaining, not a test clock's.
 */
import { vi } from 'vitest';
import { createInventory, fetchAll, type Outcome } from '@holdfast/batch';
import { VirtualClock } from '@holdfast/batch/testing';
import { ChunkPool } from '@holdfast/chunk-pool';
import { installCrashGuard } from '@holdfast/crash-flush';
import { run, startHealthCheck, waitUntilHealthy } from '@holdfast/reaper';
import { nullSink } from './entry-points.js';

const LIMIT = 2 ** 31;

/** Runs `body` under fake timers; `advance(ms)` moves time, running what falls due. */
async function withFakeTimers(body: (advance: (ms: number) => Promise<void>) => Promise<void>) {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
  try {
    await body(async (ms) => {
      await vi.advanceTimersByTimeAsync(ms);
    });
  } finally {
    vi.useRealTimers();
  }
}

/** Whether `promise` has settled yet (after the callbacks already queued have run). */
function tracked<T>(promise: Promise<T>): {
  readonly settled: boolean;
  readonly promise: Promise<T>;
} {
  const state = { settled: false, promise };
  promise.then(
    () => (state.settled = true),
    () => (state.settled = true),
  );
  return state;
}

function assert(condition: boolean, message: string): void {
  if (!condition) throw new Error(message);
}

const hangUntilAborted = (_: unknown, { signal }: { signal: AbortSignal }) =>
  new Promise<never>((_resolve, reject) =>
    signal.addEventListener('abort', () => reject(signal.reason as Error)),
  );

/** A transient failure by the default classifier. */
const reset = () => Object.assign(new Error('reset'), { code: 'ECONNRESET' });

async function fetchTimeout(options: Record<string, unknown>, code: string) {
  await withFakeTimers(async (advance) => {
    const batch = tracked(fetchAll([1], hangUntilAborted, { allFailedIsFatal: false, ...options }));
    await advance(LIMIT - 1);
    assert(!batch.settled, 'settled before 2 ** 31 ms');
    await advance(1);
    assert(batch.settled, 'not settled at 2 ** 31 ms');
    const [outcome] = (await batch.promise).outcomes as Outcome<number, never>[];
    assert(outcome?.status === 'rejected' && outcome.error.code === code, `not a ${code}`);
  });
}

async function secondCallAt(options: Record<string, unknown>, first: () => Promise<unknown>) {
  await withFakeTimers(async (advance) => {
    let calls = 0;
    const batch = fetchAll(
      [1],
      async () => {
        calls += 1;
        return calls === 1 ? first() : 'second';
      },
      { timeout: Infinity, ...options },
    );
    await advance(LIMIT - 1);
    assert(calls === 1, `${calls} calls before 2 ** 31 ms`);
    await advance(1);
    assert(calls === 2, `${calls} calls at 2 ** 31 ms`);
    await batch;
  });
}

const retryAt = (retry: Record<string, unknown>) =>
  secondCallAt({ retry: { maxAttempts: 2, jitter: false, ...retry } }, () =>
    Promise.reject(reset()),
  );

/** The checks, by the row of the duration table they observe. */
export const LONG_TIMER_CHECKS: Readonly<Record<string, () => Promise<void>>> = {
  'FetchOptions.timeout': () => fetchTimeout({ timeout: LIMIT }, 'TIMEOUT'),
  'FetchOptions.deadline': () => fetchTimeout({ timeout: Infinity, deadline: LIMIT }, 'DEADLINE'),
  'FetchOptions.hedge.delay': () =>
    secondCallAt({ hedge: { delay: LIMIT } }, () => new Promise<never>(() => undefined)),
  'FetchOptions.retry.minDelay': () => retryAt({ minDelay: LIMIT, maxDelay: LIMIT }),
  'RetryOptions.minDelay': () => retryAt({ minDelay: LIMIT, maxDelay: Infinity }),
  'FetchOptions.retry.maxDelay': () =>
    withFakeTimers(async (advance) => {
      // The second retry's delay, 1 ms × 2 ** 40, is capped at maxDelay.
      let calls = 0;
      const retry = {
        maxAttempts: 3,
        minDelay: 1,
        factor: 2 ** 40,
        maxDelay: LIMIT,
        jitter: false,
      };
      const batch = fetchAll([1], async () => (++calls < 3 ? Promise.reject(reset()) : 'third'), {
        timeout: Infinity,
        retry,
      });
      await advance(1);
      assert(calls === 2, `${calls} calls after the first retry`);
      await advance(LIMIT - 1);
      assert(calls === 2, `${calls} calls before the capped delay`);
      await advance(1);
      assert(calls === 3, `${calls} calls at the capped delay`);
      await batch;
    }),

  'InventoryOptions.ttl': async () => {
    // No timer: the age is compared on the clock at each apply.
    const clock = new VirtualClock();
    const inventory = createInventory({ key: (item: number) => item, ttl: LIMIT, clock });
    inventory.apply({
      outcomes: [{ status: 'fulfilled', item: 1, value: 'v', index: 0 } as never],
    });
    const failed = { outcomes: [{ status: 'rejected', item: 1, index: 0 } as never] };
    clock.spend(LIMIT);
    assert(inventory.apply(failed).keptStale.length === 1, 'expired by 2 ** 31 ms');
    clock.spend(1);
    assert(inventory.apply(failed).removed.length === 1, 'not expired after 2 ** 31 ms');
  },

  'ChunkPoolOptions.chunkAge': () =>
    withFakeTimers(async (advance) => {
      const pool = await ChunkPool.open({ outputs: ['a'], chunkAge: LIMIT });
      await pool.append('t', Buffer.from('x'));
      const lease = tracked(pool.take('a'));
      await advance(LIMIT - 1);
      assert(!lease.settled, 'sealed before 2 ** 31 ms');
      await advance(1);
      assert(lease.settled, 'not sealed at 2 ** 31 ms');
      await (await lease.promise).ack();
      await pool.close();
    }),
  'ChunkPoolOptions.leaseTimeout': () =>
    withFakeTimers(async (advance) => {
      const pool = await ChunkPool.open({ outputs: ['a'], leaseTimeout: LIMIT });
      let expired = 0;
      pool.on('lease-expired', () => (expired += 1));
      await pool.append('t', Buffer.from('x'));
      await pool.flush();
      await pool.take('a');
      await advance(LIMIT - 1);
      assert(expired === 0, 'lease expired before 2 ** 31 ms');
      await advance(1);
      assert(expired === 1, 'lease not expired at 2 ** 31 ms');
      await pool.close();
    }),

  'CrashGuardOptions.metadataRefreshInterval': () =>
    withFakeTimers(async (advance) => {
      let reads = 0;
      const guard = installCrashGuard({
        sink: nullSink,
        service: 'table',
        metadataRefreshInterval: LIMIT,
        metadata: () => ((reads += 1), {}),
      });
      try {
        const atStart = reads;
        await advance(LIMIT - 1);
        assert(reads === atStart, 'metadata refreshed before 2 ** 31 ms');
        await advance(1);
        assert(reads === atStart + 1, 'metadata not refreshed at 2 ** 31 ms');
      } finally {
        await guard.uninstall();
      }
    }),

  'RunOptions.timeout': () =>
    withFakeTimers(async (advance) => {
      const child = tracked(
        run(process.execPath, ['-e', 'setInterval(() => {}, 1e9)'], { timeout: LIMIT }),
      );
      await advance(LIMIT - 1);
      assert(!child.settled, 'killed before 2 ** 31 ms');
      await advance(1);
      vi.useRealTimers(); // the child's exit is real I/O
      assert((await child.promise).timedOut, 'not timed out at 2 ** 31 ms');
    }),

  'WaitOptions.timeout': () =>
    withFakeTimers(async (advance) => {
      const unhealthy = async () => ({ ok: false, detail: 'down', durationMs: 0 });
      const verdict = tracked(waitUntilHealthy(unhealthy, { timeout: LIMIT, interval: Infinity }));
      await advance(LIMIT - 1);
      assert(!verdict.settled, 'gave up before 2 ** 31 ms');
      await advance(1);
      assert(verdict.settled && !(await verdict.promise).healthy, 'still waiting at 2 ** 31 ms');
    }),
  'WaitOptions.interval': () =>
    withFakeTimers(async (advance) => {
      let calls = 0;
      const second = async () => ({ ok: ++calls === 2, detail: '', durationMs: 0 });
      const verdict = tracked(waitUntilHealthy(second, { timeout: Infinity, interval: LIMIT }));
      await advance(LIMIT - 1);
      assert(calls === 1, `${calls} attempts before 2 ** 31 ms`);
      await advance(1);
      assert(calls === 2 && (await verdict.promise).healthy, 'no second attempt at 2 ** 31 ms');
    }),
  'WaitOptions.attemptTimeout': () =>
    withFakeTimers(async (advance) => {
      let aborted = false;
      const hangs = (signal: AbortSignal) =>
        new Promise<never>(() => signal.addEventListener('abort', () => (aborted = true)));
      const controller = new AbortController();
      const verdict = waitUntilHealthy(hangs, {
        attemptTimeout: LIMIT,
        timeout: Infinity,
        signal: controller.signal,
      });
      await advance(LIMIT - 1);
      assert(!aborted, 'attempt aborted before 2 ** 31 ms');
      await advance(1);
      assert(aborted, 'attempt not aborted at 2 ** 31 ms');
      controller.abort();
      await advance(5_000);
      await verdict;
    }),
  'HealthCheckOptions.interval': () =>
    withFakeTimers(async (advance) => {
      let calls = 0;
      const probe = async () => ((calls += 1), { ok: true, detail: '', durationMs: 0 });
      const check = startHealthCheck({ probe, interval: LIMIT, ref: false });
      await advance(1);
      assert(calls === 1, `${calls} runs at start`);
      await advance(LIMIT - 2);
      assert(calls === 1, `${calls} runs before 2 ** 31 ms`);
      await advance(1);
      assert(calls === 2, `${calls} runs at 2 ** 31 ms`);
      await check.stop();
    }),
  'HealthCheckOptions.timeout': () =>
    withFakeTimers(async (advance) => {
      let aborted = false;
      const probe = (signal: AbortSignal) =>
        new Promise<never>(() => signal.addEventListener('abort', () => (aborted = true)));
      const check = startHealthCheck({ probe, timeout: LIMIT, interval: Infinity, ref: false });
      await advance(LIMIT - 1);
      assert(!aborted, 'run aborted before 2 ** 31 ms');
      await advance(1);
      assert(aborted, 'run not aborted at 2 ** 31 ms');
      const stopped = check.stop();
      await advance(5_000);
      await stopped;
    }),
};

/**
 * Rows whose 2 ** 31 behaviour this table does not observe, and why; their timers are
 * `setLongTimeout` of @holdfast/internal (its chaining is unit-tested there, on stubbed timers).
 */
export const LONG_TIMER_NOT_OBSERVABLE: Readonly<Record<string, string>> = {
  'RetryOptions.maxDelay': 'a cap: FetchOptions.retry.maxDelay observes the delay it bounds',
  'BatchRetryOptions.minDelay': 'the type of FetchOptions.retry, whose minDelay is observed',
  'BatchRetryOptions.maxDelay': 'the type of FetchOptions.retry, whose maxDelay is observed',
  'ChunkPoolOptions.retry.minDelay': 'the breaker cooldown and retry delay: retry-schedule tests',
  'ChunkPoolOptions.retry.maxDelay': 'a cap, as above',
  'OutputOptions.retry.minDelay': 'the same policy as ChunkPoolOptions.retry, per output',
  'OutputOptions.retry.maxDelay': 'a cap, as above',
  'CrashGuardOptions.flushTimeout': 'runs only while the process crashes (child-process tests)',
  'CrashGuardOptions.sendTimeout': 'bounds a send of the spool at start: needs a hanging sink',
  'CrashGuardOptions.shutdownGrace': 'runs only after a termination signal (child-process tests)',
  'CrashGuardOptions.rateLimit.window': 'no timer: a window compared at each report',
  'SuperviseOptions.flushTimeout': 'runs only when the supervised child crashes',
  'SuperviseOptions.rateLimit.window': 'no timer: a window compared at each report',
  'SuperviseOptions.restart.delay': 'between restarts of a crashed child (supervise tests)',
  'SuperviseSelfOptions.flushTimeout': 'as SuperviseOptions.flushTimeout',
  'SuperviseSelfOptions.rateLimit.window': 'as SuperviseOptions.rateLimit.window',
  'SuperviseSelfOptions.restart.delay': 'as SuperviseOptions.restart.delay',
  'CrashScenariosOptions.timeout': 'bounds each crash scenario child (testing helper)',
  'RunOptions.killGrace': 'after the kill signal, only for a child that ignores it',
  'ReaperOptions.pollInterval': 'a sweep finds nothing to observe without an adopted zombie',
};
