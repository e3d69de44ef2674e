/**
 * Work that ignores its signal while the abandoned cap is full: the items queued behind the cap
 * keep their own timeout (counted from when they start), get their own outcome, and every call
 * that ignored its signal is counted. Also: a timeout's signal reason IS the outcome's error.
 */
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { fetchAll, isCancelledError, isDeadlineError, type FetchContext } from '../src/index.js';
import { VirtualClock } from '../src/testing.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('behind a full abandoned cap', () => {
  test('a queued healthy item starts its timeout when it starts, answers, and the stragglers are counted', async () => {
    const calledAt: number[] = [];
    const promise = fetchAll(
      [0, 1, 2],
      async (i, { signal }) => {
        calledAt[i] = performance.now();
        if (i < 2) {
          signal.addEventListener('abort', () => {}); // reads its signal, then ignores it
          await sleep(600);
          return `late ${i}`;
        }
        await sleep(10);
        return 'healthy';
      },
      { concurrency: 2, timeout: 100, maxAbandoned: 2 },
    );
    await vi.advanceTimersByTimeAsync(700);
    const result = await promise;
    expect(calledAt[2]).toBe(600); // waited for an abandoned slot
    expect(result.outcomes[2]).toMatchObject({
      status: 'fulfilled',
      value: 'healthy',
      attempts: 1,
    });
    expect(result.outcomes.slice(0, 2).map((o) => o.status)).toEqual(['rejected', 'rejected']);
    expect(result.stats).toMatchObject({ timedOut: 2, abandoned: 2 });
  });

  test('a queued item that does time out reports its own timeout', async () => {
    const promise = fetchAll(
      [0, 1],
      (i, { signal }) => {
        if (i === 0) return new Promise<never>(() => {}); // ignores its signal, never ends
        return new Promise<never>((_resolve, reject) =>
          signal.addEventListener('abort', () => reject(signal.reason as Error)),
        );
      },
      { concurrency: 1, timeout: 100, maxAbandoned: 1, deadline: 10_000 },
    );
    await vi.advanceTimersByTimeAsync(10_000);
    const result = await promise;
    // Item 1 never got a slot: the cap was held until the deadline.
    const error = (result.outcomes[1] as { error: unknown }).error;
    expect(isDeadlineError(error) && error.index).toBe(1);
    expect(result.stats.abandoned).toBe(1);
  });

  test('work that honours its signal is not counted, with or without a timeout', async () => {
    const promise = fetchAll(
      [0, 1],
      (_, { signal }: FetchContext) =>
        new Promise<never>((_resolve, reject) =>
          signal.addEventListener('abort', () => reject(signal.reason as Error)),
        ),
      { timeout: 50, retry: 1 },
    );
    await vi.advanceTimersByTimeAsync(500);
    expect((await promise).stats.abandoned).toBe(0);
  });

  test('maxAbandoned: 0 is rejected (no attempt could ever start)', async () => {
    await expect(fetchAll([1], (n) => n, { maxAbandoned: 0 })).rejects.toThrow(
      /maxAbandoned: expected an integer ≥ 1 \(or Infinity\), got 0 \(number\)/,
    );
  });
});

describe("the abort reason is the outcome's error", () => {
  test('on a timeout', async () => {
    let reason: unknown;
    const promise = fetchAll(
      [0],
      (_, { signal }) =>
        new Promise<never>((_resolve, reject) =>
          signal.addEventListener('abort', () => reject((reason = signal.reason) as Error)),
        ),
      { timeout: 100 },
    );
    await vi.advanceTimersByTimeAsync(100);
    const result = await promise;
    expect((result.outcomes[0] as { error: unknown }).error).toBe(reason);
  });

  test('on the deadline and on the caller abort', async () => {
    for (const stopBy of ['deadline', 'caller'] as const) {
      let reason: unknown;
      const controller = new AbortController();
      const promise = fetchAll(
        [0],
        (_, { signal }) =>
          new Promise<never>((_resolve, reject) =>
            signal.addEventListener('abort', () => reject((reason = signal.reason) as Error)),
          ),
        { deadline: 100, signal: controller.signal },
      );
      if (stopBy === 'caller') controller.abort();
      await vi.advanceTimersByTimeAsync(100);
      const error = ((await promise).outcomes[0] as { error: unknown }).error;
      expect(stopBy === 'caller' ? isCancelledError(error) : isDeadlineError(error)).toBe(true);
      expect(error).toBe(reason);
    }
  });
});

describe('several workers queued behind the cap', () => {
  test('all go on once it frees (waking one left the other waiting forever: the batch hung)', async () => {
    vi.useRealTimers();
    const clock = new VirtualClock();
    const calledAt: number[] = [];
    const result = await clock.runUntilSettled(
      fetchAll(
        [100, 200, 1, 1],
        async (ms, { index }) => {
          calledAt[index] = clock.now();
          await clock.sleep(ms); // never reads its signal
          return ms;
        },
        { clock, concurrency: 2, timeout: 10, maxAbandoned: 1 },
      ),
    );
    // Items 0 and 1 time out at 10 and hold two abandoned slots (the cap is 1) until 100 and 200:
    // items 2 and 3 wait until both are gone, then start together.
    expect(calledAt).toEqual([0, 0, 200, 200]);
    expect(result.outcomes.map((o) => o.status)).toEqual([
      'rejected',
      'rejected',
      'fulfilled',
      'fulfilled',
    ]);
    expect(result.stats.abandoned).toBe(2);
  });

  test('a woken waiter that then sleeps before a retry is still woken by the stop (a stale wake-up cleared its waker)', async () => {
    const stop = new AbortController();
    const promise = fetchAll(
      [0, 1, 2, 3],
      async (i, { signal }) => {
        if (i < 2) {
          signal.addEventListener('abort', () => {}); // reads its signal, then ignores it
          await sleep(i === 0 ? 600 : 800);
          return 'late';
        }
        if (i === 2) throw Object.assign(new Error('reset'), { code: 'ECONNRESET' });
        return 'ok';
      },
      {
        concurrency: 2,
        timeout: 100,
        maxAbandoned: 2,
        retry: { maxAttempts: 2, minDelay: 10_000, jitter: false },
        // Only item 2 is retried; the timeouts of 0 and 1 are final, and do not stop the batch.
        classify: (_error, i) => (i === 2 ? 'transient' : 'fatal'),
        importance: (i) => (i < 2 ? 'optional' : 'required'),
        signal: stop.signal,
      },
    );
    let settled = false;
    void promise.then(
      () => (settled = true),
      () => (settled = true),
    );
    // 100: items 0 and 1 abandoned, the cap full; items 2 and 3 wait. 600: item 0's work ends,
    // both go on; item 2 fails and sleeps 10 s before its retry. 800: item 1's work ends too.
    await vi.advanceTimersByTimeAsync(1_000);
    expect(settled).toBe(false);
    stop.abort();
    await vi.advanceTimersByTimeAsync(0);
    expect(settled).toBe(true); // not at 10,600, when the sleep would have ended by itself
    const result = await promise;
    expect(result.outcomes.map((o) => [o.status, o.status === 'skipped' ? 0 : o.attempts])).toEqual(
      [
        ['rejected', 1],
        ['rejected', 1],
        ['rejected', 1],
        ['fulfilled', 1],
      ],
    );
    expect(isCancelledError((result.outcomes[2] as { error: unknown }).error)).toBe(true);
  });

  test('a woken waiter times out from when it runs, not from when the cap freed (the first to run spent 10 ms of CPU)', async () => {
    vi.useRealTimers();
    const clock = new VirtualClock();
    const calls: [index: number, startedAt: number][] = [];
    const result = await clock.runUntilSettled(
      fetchAll(
        [0, 1, 2, 3],
        async (_, { index, signal }) => {
          calls.push([index, clock.now()]);
          if (index === 0) return clock.sleep(50); // ignores its signal: holds the cap's one slot
          if (index === 1)
            // honours its signal: times out at 5 without holding a slot
            return new Promise<never>((_resolve, reject) =>
              signal.addEventListener('abort', () => reject(signal.reason as Error)),
            );
          if (index === 2) clock.spend(10); // microtask-fast, but blocks the loop for 10 ms
          await clock.sleep(3);
          return index;
        },
        { clock, concurrency: 2, timeout: 5, maxAbandoned: 1 },
      ),
    );
    // Items 0 and 1 time out at 5; item 0 holds the slot until 50, so items 2 and 3 wait, both
    // woken at 50.
    // Item 2 runs first and spends until 60 (its own CPU counts: it times out). Item 3 starts at 60
    // and needs 3 of its 5 ms. Timed from the wake-up (50), its timeout was already past when it
    // started: it failed at 60 without its call having run.
    expect(calls).toEqual([
      [0, 0],
      [1, 0],
      [2, 50],
      [3, 60],
    ]);
    expect(result.outcomes.map((o) => o.status)).toEqual([
      'rejected',
      'rejected',
      'rejected',
      'fulfilled',
    ]);
  });
});
