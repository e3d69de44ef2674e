/**
 * What an outcome and the counters say, exactly: the errors of items the batch stopped (their
 * cause, attempts, deadline), the retry delays at their edges (0, the cap, Infinity, jitter's
 * bounds, a retry landing on the deadline), durations on a virtual clock, and counters that add
 * up. All on a VirtualClock: nothing here depends on how busy the machine is.
 */
import { getEventListeners } from 'node:events';
import { describe, expect, test, vi } from 'vitest';
import {
  fetchAll,
  fetchEach,
  isCancelledError,
  isDeadlineError,
  isTransientError,
  type FetchContext,
  type Outcome,
} from '../src/index.js';
import { VirtualClock } from '../src/testing.js';

const reset = (i = 0) => Object.assign(new Error(`reset ${i}`), { code: 'ECONNRESET' });
const untilAborted = (_: unknown, { signal }: FetchContext) =>
  new Promise<never>((_resolve, reject) =>
    signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true }),
  );
const errorOf = (outcome: Outcome<unknown, unknown> | undefined) =>
  (outcome as unknown as { error: Error & Record<string, unknown> }).error;
/** Lets promise callbacks run without moving virtual time. */
const settle = async () => {
  for (let i = 0; i < 5; i += 1) await new Promise((resolve) => setImmediate(resolve));
};

describe('items the batch stopped', () => {
  test('at the deadline: a DeadlineError with the attempts made, the deadline, and the previous failure as cause', async () => {
    const clock = new VirtualClock();
    const first = reset(0);
    const result = await clock.runUntilSettled(
      fetchAll(
        [0, 1],
        (i, ctx) => {
          if (i === 0 && ctx.attempt === 1) throw first;
          return untilAborted(i, ctx);
        },
        {
          clock,
          deadline: 500,
          concurrency: 2,
          retry: { maxAttempts: 3, minDelay: 10, jitter: false },
        },
      ),
    );
    const retried = errorOf(result.outcomes[0]);
    expect(isDeadlineError(retried)).toBe(true);
    expect(retried).toMatchObject({ index: 0, attempts: 2, deadlineMs: 500, cause: first });
    const once = errorOf(result.outcomes[1]);
    expect(once).toMatchObject({ index: 1, attempts: 1, deadlineMs: 500 });
    expect('cause' in once).toBe(false);
    expect(result.outcomes.map((o) => (o as { durationMs: number }).durationMs)).toEqual([
      500, 500,
    ]);
  });

  test("by the caller: a CancelledError by 'caller' whose cause is the previous failure, else the abort reason", async () => {
    const clock = new VirtualClock();
    const controller = new AbortController();
    const first = reset(0);
    const why = new Error('shutting down');
    const promise = fetchAll(
      [0, 1],
      (i, ctx) => {
        if (i === 0 && ctx.attempt === 1) throw first;
        return untilAborted(i, ctx);
      },
      {
        clock,
        signal: controller.signal,
        concurrency: 2,
        retry: { maxAttempts: 3, minDelay: 10, jitter: false },
      },
    );
    await clock.advanceBy(20);
    controller.abort(why);
    const result = await clock.runUntilSettled(promise);
    const retried = errorOf(result.outcomes[0]);
    expect(isCancelledError(retried)).toBe(true);
    expect(retried).toMatchObject({ by: 'caller', attempts: 2, cause: first });
    expect(errorOf(result.outcomes[1])).toMatchObject({ by: 'caller', attempts: 1, cause: why });
    expect(result.complete).toBe(false);
  });

  test('an item stopped while it slept before a retry reports the attempts it made', async () => {
    const clock = new VirtualClock();
    const promise = fetchAll(
      ['x'],
      () => {
        throw reset();
      },
      {
        clock,
        deadline: 1_000,
        retry: { maxAttempts: 5, minDelay: 100, factor: 1, jitter: false },
      },
    );
    const result = await clock.runUntilSettled(promise);
    // Attempts at 0, 100, …, 900; the retry at 1,000 is refused: it could not start in time.
    const error = errorOf(result.outcomes[0]);
    expect(result.stats).toMatchObject({ retried: 4 });
    expect(isTransientError(error) && error.retryRefusedBy).toBe('attempts');
  });
});

describe('retry delays at their edges', () => {
  const calledAt = async (
    retry: Record<string, unknown>,
    { deadline = Infinity, attempts = 4 } = {},
  ) => {
    const clock = new VirtualClock();
    const times: number[] = [];
    const result = await clock.runUntilSettled(
      fetchAll(
        ['x'],
        () => {
          times.push(clock.now());
          if (times.length < attempts) throw reset();
          return 'ok';
        },
        { clock, deadline, timeout: Infinity, retry },
      ),
    );
    return { times, result };
  };

  test('the delay grows by factor and stops at maxDelay', async () => {
    const { times } = await calledAt({
      maxAttempts: 4,
      minDelay: 100,
      factor: 3,
      maxDelay: 500,
      jitter: false,
    });
    expect(times).toEqual([0, 100, 400, 900]);
  });

  test('minDelay 0 retries at once, without a timer and without drawing a random number', async () => {
    const clock = new VirtualClock();
    const random = vi.fn(() => 0.5);
    let calls = 0;
    let settled = false;
    const promise = fetchAll(
      ['x'],
      () => {
        calls += 1;
        if (calls < 3) throw reset();
        return 'ok';
      },
      { clock, timeout: Infinity, retry: { maxAttempts: 3, minDelay: 0, random } },
    ).then((result) => {
      settled = true;
      return result;
    });
    await settle(); // virtual time never moves
    expect(settled).toBe(true);
    expect((await promise).values).toEqual(['ok']);
    expect(random).not.toHaveBeenCalled();
    expect(clock.pendingTimers()).toBe(0);
  });

  test('a delay of Infinity is never slept: the item ends after its first attempt, without drawing a random number', async () => {
    const random = vi.fn(() => 0.5);
    const { times, result } = await calledAt({
      maxAttempts: 3,
      minDelay: Infinity,
      maxDelay: Infinity,
      random,
    });
    expect(times).toEqual([0]);
    expect(result.outcomes[0]?.status).toBe('rejected');
    expect(random).not.toHaveBeenCalled();
  });

  test('jitter takes the draw as a fraction of the delay, 0 and 1 included, without counting an error', async () => {
    for (const [draw, second] of [
      [0, 0],
      [1, 100],
      [0.5, 50],
    ] as const) {
      const { times, result } = await calledAt(
        { maxAttempts: 2, minDelay: 100, random: () => draw },
        { attempts: 2 },
      );
      expect(times).toEqual([0, second]);
      expect(result.stats.hookErrors).toBe(0);
    }
  });

  test('a retry that would start exactly at the deadline is not taken; 1 ms before, it is', async () => {
    const exactly = await calledAt(
      { maxAttempts: 2, minDelay: 100, jitter: false },
      { deadline: 100, attempts: 2 },
    );
    expect(exactly.times).toEqual([0]);
    expect(errorOf(exactly.result.outcomes[0])).toMatchObject({ retryRefusedBy: 'deadline' });
    const before = await calledAt(
      { maxAttempts: 2, minDelay: 99, jitter: false },
      { deadline: 100, attempts: 2 },
    );
    expect(before.times).toEqual([0, 99]);
    expect(before.result.values).toEqual(['ok']);
  });

  test('a retry attempt gets its own timeout, counted from its start', async () => {
    const clock = new VirtualClock();
    const aborted: number[] = [];
    const result = await clock.runUntilSettled(
      fetchAll(
        ['x'],
        (_item, ctx) => {
          ctx.signal.addEventListener('abort', () => aborted.push(clock.now()));
          return untilAborted(_item, ctx);
        },
        { clock, timeout: 100, retry: { maxAttempts: 2, minDelay: 50, jitter: false } },
      ),
    );
    expect(aborted).toEqual([100, 250]);
    expect(errorOf(result.outcomes[0])).toMatchObject({ code: 'TIMEOUT', attempts: 2 });
  });
});

describe('counters and durations', () => {
  test('every counter, exactly, for a mixed batch', async () => {
    const clock = new VirtualClock();
    const result = await clock.runUntilSettled(
      fetchAll(
        ['ok', 'skip', 'fatal', 'slow', 'flaky', 'late'],
        async (kind, ctx) => {
          if (kind === 'ok') return 1;
          if (kind === 'skip') throw new Error('gone');
          if (kind === 'fatal') throw new Error('denied');
          if (kind === 'slow') return untilAborted(kind, ctx);
          if (kind === 'flaky' && ctx.attempt === 1) throw reset();
          if (kind === 'flaky') return 2;
          await clock.sleep(10_000);
          return 3;
        },
        {
          clock,
          concurrency: 6,
          timeout: 1_000,
          deadline: 5_000,
          importance: () => 'optional',
          allFailedIsFatal: false,
          classify: (error) => {
            const message = (error as Error).message;
            if (message === 'gone') return 'skip';
            if (message === 'denied') return 'fatal';
            return 'transient';
          },
          retry: { maxAttempts: 2, minDelay: 10, jitter: false },
        },
      ),
    );
    const { durationMs, ...counts } = result.stats;
    expect(counts).toEqual({
      total: 6,
      fulfilled: 2,
      rejected: 3,
      timedOut: 2, // slow and late, each on its second attempt
      retried: 3, // flaky once, slow and late after their first timeout
      hedged: 0,
      skipped: 1,
      cancelled: 0,
      budgetRefused: 0,
      abandoned: 2, // late's two calls: they never read their signal
      hookErrors: 0,
    });
    expect(durationMs).toBe(2_010);
  });

  test('durations: of each outcome from its start, of the batch until its end (not growing after)', async () => {
    const clock = new VirtualClock();
    await clock.advanceBy(1_000_000); // far from zero: a sum of two times would not equal their difference
    const promise = fetchAll(
      [30, 70],
      async (ms) => {
        await clock.sleep(ms);
        if (ms === 70) throw new Error('denied');
        return ms;
      },
      { clock, importance: () => 'optional' },
    );
    const result = await clock.runUntilSettled(promise);
    expect(result.outcomes.map((o) => (o as { durationMs: number }).durationMs)).toEqual([30, 70]);
    expect(result.stats.durationMs).toBe(70);
    expect(result.outcomes[1]).toMatchObject({ status: 'rejected', attempts: 1 });
    expect(errorOf(result.outcomes[1]).message).toBe('item 1: denied');
  });

  test('a second stop does not change why the batch stopped: a deadline stays the reason', async () => {
    const clock = new VirtualClock();
    const caller = new AbortController();
    const result = await clock.runUntilSettled(
      fetchAll(['a', 'b', 'c'], untilAborted, {
        clock,
        concurrency: 3,
        deadline: 100,
        signal: caller.signal,
        // The caller aborts once it sees the first stopped item, before the batch has finished.
        onOutcome: (outcome) => {
          if (outcome.index === 0) caller.abort(new Error('caller gave up'));
        },
      }),
    );
    expect(result.outcomes.map((outcome) => isDeadlineError(errorOf(outcome)))).toEqual([
      true,
      true,
      true,
    ]);
    // Stopped by its deadline, not by the caller: every required item failing is the verdict.
    expect(result.fatal?.message).toBe('every required item failed (3 of 3)');
  });

  test('the batch leaves no listener on the caller’s signal, and clears only timers it set', async () => {
    const caller = new AbortController();
    const given: unknown[] = [];
    const virtual = new VirtualClock();
    // A user's clock may throw on a handle it never gave out (no deadline: no deadline timer).
    const strict = {
      now: () => virtual.now(),
      setTimeout: (callback: () => void, ms: number) => {
        const handle = virtual.setTimeout(callback, ms);
        given.push(handle);
        return handle;
      },
      clearTimeout: (handle: unknown) => {
        if (!given.includes(handle)) throw new Error(`clearTimeout(${String(handle)})`);
        virtual.clearTimeout(handle);
      },
    };
    const result = await fetchAll([1, 2], (n) => n, { clock: strict, signal: caller.signal });
    expect(result.values).toEqual([1, 2]);
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(0);
  });

  test("a required item's fatal failure names it in the verdict and in its outcome", async () => {
    const result = await fetchAll(['a', 'b'], (item) => {
      if (item === 'b') throw new Error('permission denied');
      return item;
    });
    expect(result.fatal?.message).toBe('required item 1 failed fatally');
    expect(result.fatal).toMatchObject({ index: 1, attempts: 1 });
    expect(errorOf(result.outcomes[1])).toMatchObject({
      message: 'item 1: permission denied',
      index: 1,
      attempts: 1,
    });
  });
});

describe('workers and the source', () => {
  test('stats() during a run tells the time so far; after the end it stays', async () => {
    const clock = new VirtualClock();
    const stream = fetchEach([100, 300], (ms) => clock.sleep(ms).then(() => ms), { clock });
    const first = stream.next();
    await clock.advanceTo(50);
    expect(stream.stats().durationMs).toBe(50);
    await clock.advanceTo(100);
    await first;
    expect(stream.stats()).toMatchObject({ durationMs: 100, total: 1 });
    await clock.advanceTo(300);
    expect((await stream.next()).done).toBe(false);
    expect((await stream.next()).done).toBe(true);
    await clock.advanceTo(1_000);
    expect(stream.stats()).toMatchObject({ durationMs: 300, total: 2 });
  });

  test('exactly concurrency items run at once, started in input order', async () => {
    const clock = new VirtualClock();
    const started: number[] = [];
    let running = 0;
    let most = 0;
    await clock.runUntilSettled(
      fetchAll(
        [50, 10, 30, 20, 40, 10, 10],
        async (ms, { index }) => {
          started.push(index);
          running += 1;
          most = Math.max(most, running);
          await clock.sleep(ms);
          running -= 1;
          return ms;
        },
        { clock, concurrency: 3 },
      ),
    );
    expect(most).toBe(3);
    expect(started).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  test('after a stop, an async source is not read further: every item read has its outcome', async () => {
    let reads = 0;
    const source: AsyncIterable<number> = {
      // five items
      [Symbol.asyncIterator]: () => ({
        next: () => {
          reads += 1;
          return Promise.resolve(
            reads <= 5 ? { done: false, value: reads - 1 } : { done: true, value: undefined },
          );
        },
      }),
    };
    const result = await fetchAll(
      source,
      () => {
        throw new Error('permission denied'); // fatal for a required item: the batch stops
      },
      { concurrency: 1 },
    );
    expect(result.fatal?.message).toBe('required item 0 failed fatally');
    expect(reads).toBe(1);
    expect(result.outcomes).toHaveLength(1);
  });

  test('no deadline, no timeout: no timer is set while the batch runs', async () => {
    const clock = new VirtualClock();
    let release!: () => void;
    const promise = fetchAll(
      ['x'],
      () => new Promise<string>((resolve) => (release = () => resolve('ok'))),
      {
        clock,
        timeout: Infinity,
      },
    );
    await settle();
    expect(clock.pendingTimers()).toBe(0);
    release();
    expect((await promise).values).toEqual(['ok']);
  });
});
