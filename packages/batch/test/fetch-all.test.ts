import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import {
  fetchAll,
  isCancelledError,
  isDeadlineError,
  isFatalError,
  isTimeoutError,
  isTransientError,
  type FetchContext,
} from '../src/index.js';

/** Work that never settles and never looks at its signal: the worst straggler. */
const hang = () => new Promise<never>(() => {});
/** Work that settles only when its signal aborts, rejecting with the signal's reason. */
const untilAborted = (_: unknown, { signal }: Pick<FetchContext, 'signal'>) =>
  new Promise<never>((_resolve, reject) => {
    signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
  });
const transient = (message = 'reset') => Object.assign(new Error(message), { code: 'ECONNRESET' });

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('fetchAll outcomes', () => {
  test('one outcome per item, in input order, whatever the completion order', async () => {
    const promise = fetchAll([30, 10, 20], async (ms) => {
      await new Promise((resolve) => setTimeout(resolve, ms));
      return ms * 2;
    });
    await vi.advanceTimersByTimeAsync(30);
    const result = await promise;
    expect(result.outcomes.map((o) => [o.status, o.index])).toEqual([
      ['fulfilled', 0],
      ['fulfilled', 1],
      ['fulfilled', 2],
    ]);
    expect(result.values).toEqual([60, 20, 40]);
    expect(result.complete).toBe(true);
    expect(result.fatal).toBeUndefined();
    expect(result.stats).toMatchObject({ total: 3, fulfilled: 3, rejected: 0 });
    expect(result.summary()).toMatch(/^batch: 3\/3 fulfilled, .*verdict ok$/);
  });

  test('accepts async iterables and synchronous work', async () => {
    async function* ids() {
      yield 'a';
      yield 'b';
    }
    const result = await fetchAll(ids(), (id) => id.toUpperCase());
    expect(result.values).toEqual(['A', 'B']);
  });

  test('a synchronous throw in fetchOne is an item failure, not a rejection', async () => {
    const result = await fetchAll([1, 2], (n) => {
      if (n === 1) throw new Error('boom');
      return n;
    });
    expect(result.outcomes[0]).toMatchObject({ status: 'rejected', index: 0 });
    expect(result.values).toEqual([2]);
    expect(result.complete).toBe(false);
  });

  test('passes index and attempt number to fetchOne', async () => {
    const seen: [number, number][] = [];
    await fetchAll(['x', 'y'], (_item, ctx) => {
      seen.push([ctx.index, ctx.attempt]);
    });
    expect(seen).toEqual([
      [0, 1],
      [1, 1],
    ]);
  });
});

describe('timeouts', () => {
  test('a timeout aborts the attempt signal with a TimeoutError and frees the slot', async () => {
    let reason: unknown;
    const started: number[] = [];
    const promise = fetchAll(
      [0, 1],
      (i, ctx) => {
        started.push(Date.now());
        if (i === 1) return 'second';
        ctx.signal.addEventListener('abort', () => (reason = ctx.signal.reason));
        return hang();
      },
      { concurrency: 1, timeout: 100, maxAbandoned: 1_000 },
    );
    await vi.advanceTimersByTimeAsync(100);
    const result = await promise;
    expect(isTimeoutError(reason)).toBe(true);
    expect(started[1]! - started[0]!).toBe(100);
    expect(result.outcomes[0]).toMatchObject({ status: 'rejected', attempts: 1 });
    const error = (result.outcomes[0] as { error: unknown }).error;
    expect(isTimeoutError(error) && error.timeoutMs).toBe(100);
    expect(result.values).toEqual(['second']);
    expect(result.stats).toMatchObject({ timedOut: 1, abandoned: 1 });
  });

  test('work that honours its signal is not counted as abandoned', async () => {
    const promise = fetchAll([0], untilAborted, { timeout: 50 });
    await vi.advanceTimersByTimeAsync(50);
    const result = await promise;
    expect(result.stats).toMatchObject({ timedOut: 1, abandoned: 0 });
  });

  test('beyond maxAbandoned, new attempts wait for abandoned work to end', async () => {
    const releases: (() => void)[] = [];
    const started: number[] = [];
    const promise = fetchAll(
      [0, 1, 2],
      (i) => {
        started.push(i);
        // Ignores its signal; ends only when the test says so.
        return new Promise<number>((resolve) => releases.push(() => resolve(i)));
      },
      { concurrency: 1, timeout: 10, maxAbandoned: 1 },
    );
    await vi.advanceTimersByTimeAsync(10);
    expect(started).toEqual([0]); // item 0 abandoned; item 1 waits: 1 abandoned is the cap
    releases[0]!();
    await vi.advanceTimersByTimeAsync(0);
    expect(started).toEqual([0, 1]);
    releases[1]!();
    await vi.advanceTimersByTimeAsync(0);
    releases[2]!();
    const result = await promise;
    expect(result.values).toEqual([1, 2]);
    expect(result.stats.timedOut).toBe(1);
  });
});

describe('deadline and cancellation', () => {
  test('at the deadline the promise settles at once and every unfinished item is reported', async () => {
    let settled = false;
    const promise = fetchAll([0, 1, 2, 3, 4], () => hang(), { concurrency: 2, deadline: 500 });
    // Either way it settled; a rejection also fails the `await promise` below.
    promise.then(
      () => (settled = true),
      () => (settled = true),
    );
    await vi.advanceTimersByTimeAsync(499);
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    const result = await promise;
    expect(result.outcomes).toHaveLength(5);
    expect(result.outcomes.every((o) => o.status === 'rejected' && isDeadlineError(o.error))).toBe(
      true,
    );
    expect(result.outcomes.map((o) => (o.status === 'rejected' ? o.attempts : -1))).toEqual([
      1, 1, 0, 0, 0,
    ]);
    expect(result.complete).toBe(false);
    // Nothing required came back: the default verdict of a batch whose every required item failed.
    expect(result.fatal?.message).toBe('every required item failed (5 of 5)');
    expect(result.stats.cancelled).toBe(5);
  });

  test("the caller's abort is a CancelledError carrying the reason, apart from timeouts", async () => {
    const controller = new AbortController();
    const promise = fetchAll([0, 1, 2], untilAborted, {
      concurrency: 1,
      signal: controller.signal,
    });
    await vi.advanceTimersByTimeAsync(5);
    controller.abort(new Error('shutting down'));
    const result = await promise;
    for (const outcome of result.outcomes) {
      expect(outcome.status).toBe('rejected');
      const error = (outcome as { error: unknown }).error;
      expect(isCancelledError(error) && error.by).toBe('caller');
      expect(isTimeoutError(error)).toBe(false);
    }
    expect((result.outcomes[0] as { error: Error }).error.cause).toEqual(
      new Error('shutting down'),
    );
  });

  test('an already aborted signal starts nothing', async () => {
    const fetchOne = vi.fn();
    const result = await fetchAll([1, 2], fetchOne, { signal: AbortSignal.abort() });
    expect(fetchOne).not.toHaveBeenCalled();
    expect(result.stats.cancelled).toBe(2);
  });
});

describe('retries', () => {
  test('transient failures are retried with backoff; no sleep after the last try', async () => {
    const attempts: number[] = [];
    const promise = fetchAll(
      ['x'],
      () => {
        attempts.push(Date.now());
        throw transient();
      },
      { retry: { maxAttempts: 3, minDelay: 100, factor: 2, jitter: false } },
    );
    await vi.advanceTimersByTimeAsync(300);
    const result = await promise;
    const start = attempts[0]!;
    expect(attempts.map((t) => t - start)).toEqual([0, 100, 300]);
    expect(result.stats.durationMs).toBe(300); // settled right after the third failure
    const error = (result.outcomes[0] as { error: unknown }).error;
    expect(isTransientError(error)).toBe(true);
    expect(result.outcomes[0]).toMatchObject({ attempts: 3 });
    expect(result.stats.retried).toBe(2);
  });

  test('a retry that could not start before the deadline is not taken', async () => {
    const fetchOne = vi.fn(() => {
      throw transient();
    });
    const promise = fetchAll(['x'], fetchOne, {
      deadline: 150,
      retry: { maxAttempts: 6, minDelay: 100, factor: 2, jitter: false },
    });
    await vi.advanceTimersByTimeAsync(150);
    const result = await promise;
    expect(fetchOne).toHaveBeenCalledTimes(2); // at 0 and 100; the next would start at 300
    expect(result.stats.durationMs).toBe(100);
  });

  test('fatal failures are not retried', async () => {
    const fetchOne = vi.fn(() => {
      throw new Error('no such container');
    });
    const result = await fetchAll(['x'], fetchOne, { retry: 3, importance: () => 'optional' });
    expect(fetchOne).toHaveBeenCalledTimes(1);
    expect(isFatalError((result.outcomes[0] as { error: unknown }).error)).toBe(true);
  });

  test('the retry budget caps retries across the batch', async () => {
    const fetchOne = vi.fn(() => {
      throw transient();
    });
    const promise = fetchAll(
      Array.from({ length: 20 }, (_, i) => i),
      fetchOne,
      {
        concurrency: 20,
        retry: {
          maxAttempts: 4,
          minDelay: 10,
          jitter: false,
          budget: { ratio: 0.1, minRetries: 1 },
        },
      },
    );
    await vi.advanceTimersByTimeAsync(1_000);
    const result = await promise;
    // 20 first attempts: at most 1 + 0.1 × 20 = 3 retries, not 60.
    expect(result.stats.retried).toBe(3);
    expect(fetchOne).toHaveBeenCalledTimes(23);
  });
});

describe('classification and verdict', () => {
  test("'skip' gives a skipped outcome, which keeps the batch complete", async () => {
    const gone = new Error('gone');
    const result = await fetchAll(
      [1, 2],
      (n) => {
        if (n === 1) throw gone;
        return n;
      },
      { classify: () => 'skip' },
    );
    expect(result.outcomes[0]).toEqual({ status: 'skipped', item: 1, index: 0, reason: gone });
    expect(result.complete).toBe(true);
  });

  test('an optional item failing fatally never makes the batch fatal', async () => {
    const result = await fetchAll(
      ['running', 'exited'],
      (s) => {
        if (s === 'exited') throw new Error('inspect failed');
        return s;
      },
      { importance: (s) => (s === 'exited' ? 'optional' : 'required') },
    );
    expect(result.fatal).toBeUndefined();
    expect(result.values).toEqual(['running']);
  });

  test('a required item failing fatally sets fatal, cancels the rest, keeps what was gathered', async () => {
    const promise = fetchAll(
      [0, 1, 2, 3],
      async (n, { signal }) => {
        if (n === 0) return 'done';
        if (n === 1) throw new Error('permission denied');
        return untilAborted(n, { signal });
      },
      { concurrency: 3 },
    );
    const result = await promise;
    expect(isFatalError(result.fatal)).toBe(true);
    expect(result.fatal?.cause).toEqual(new Error('permission denied'));
    expect(result.outcomes.map((o) => o.status)).toEqual([
      'fulfilled',
      'rejected',
      'rejected',
      'rejected',
    ]);
    const rest = result.outcomes.slice(2).map((o) => (o as { error: unknown }).error);
    expect(rest.every((e) => isCancelledError(e) && e.by === 'fatal')).toBe(true);
  });

  test('the breaker calls the batch fatal when required items keep failing', async () => {
    const fetchOne = vi.fn(() => {
      throw Object.assign(new Error('connect ECONNREFUSED /var/run/docker.sock'), {
        code: 'ECONNREFUSED',
      });
    });
    const result = await fetchAll(
      Array.from({ length: 100 }, (_, i) => i),
      fetchOne,
      {
        concurrency: 4,
        breaker: { failureRatio: 0.5, minSamples: 10 },
      },
    );
    expect(result.fatal?.message).toMatch(/breaker opened: 10 of 10 required items failed/);
    expect(fetchOne.mock.calls.length).toBeLessThan(20); // stopped early, not 100 calls
    expect(result.outcomes).toHaveLength(100);
  });

  test('a throwing classifier counts as fatal; a throwing importance as required', async () => {
    const result = await fetchAll([1], () => Promise.reject(new Error('x')), {
      classify: () => {
        throw new Error('bug');
      },
      importance: () => {
        throw new Error('bug');
      },
    });
    expect(isFatalError(result.fatal)).toBe(true);
  });
});

describe('hedging', () => {
  test('a slow attempt gets one speculative twin; the first answer wins and the other is aborted', async () => {
    let calls = 0;
    let firstAborted = false;
    const promise = fetchAll(
      ['x'],
      (_item, { signal }) => {
        calls += 1;
        if (calls === 1) {
          signal.addEventListener('abort', () => (firstAborted = true));
          return new Promise((resolve) => setTimeout(() => resolve('slow'), 1_000));
        }
        return new Promise((resolve) => setTimeout(() => resolve('fast'), 10));
      },
      { hedge: { delay: 50 } },
    );
    await vi.advanceTimersByTimeAsync(60);
    const result = await promise;
    expect(result.values).toEqual(['fast']);
    expect(firstAborted).toBe(true);
    expect(result.stats.hedged).toBe(1);
  });

  test('an attempt that answers before the hedge delay starts no twin', async () => {
    const fetchOne = vi.fn(async () => 'quick');
    const result = await fetchAll(['x'], fetchOne, { hedge: { delay: 50 } });
    await vi.advanceTimersByTimeAsync(100);
    expect(fetchOne).toHaveBeenCalledTimes(1);
    expect(result.stats.hedged).toBe(0);
  });
});

describe('hooks', () => {
  test('onOutcome sees every outcome once; a throwing hook is counted, not fatal', async () => {
    const seen: number[] = [];
    const result = await fetchAll([1, 2, 3], (n) => n, {
      onOutcome: (o) => {
        seen.push(o.index);
        if (o.index === 1) throw new Error('hook bug');
      },
    });
    expect(seen.sort()).toEqual([0, 1, 2]);
    expect(result.stats.hookErrors).toBe(1);
    expect(result.values).toEqual([1, 2, 3]);
  });
});

describe('invalid options', () => {
  test.each([
    [{ concurrency: 0 }, /concurrency: expected an integer ≥ 1 \(or Infinity\), got 0 \(number\)/],
    [
      { timeout: -1 },
      /timeout: expected a duration in milliseconds: a number ≥ 0 \(Infinity allowed\), got -1 \(number\)/,
    ],
    [{ deadline: 'soon' }, /deadline: expected .* got "soon" \(string\)/],
    [
      { retry: { maxAttempts: 1.5 } },
      /retry.maxAttempts: expected an integer ≥ 1 \(or Infinity\), got 1.5/,
    ],
    [
      { retry: { minDelay: 500, maxDelay: 100 } },
      /retry.maxDelay: expected at least retry.minDelay \(500\)/,
    ],
    [{ breaker: { failureRatio: 2 } }, /breaker.failureRatio: expected a number in \(0, 1\]/],
    [{ classify: 'transient' }, /classify: expected a function/],
    [{ signal: {} }, /signal: expected an AbortSignal/],
    [{ hedge: {} }, /hedge.delay: expected/],
  ])('%j is rejected with a TypeError naming the option', async (options, message) => {
    await expect(fetchAll([1], (n) => n, options as never)).rejects.toThrow(message);
    await expect(fetchAll([1], (n) => n, options as never)).rejects.toBeInstanceOf(TypeError);
  });

  test('items and fetchOne are checked too', async () => {
    await expect(fetchAll(42 as never, (n) => n)).rejects.toThrow(/items: expected an iterable/);
    await expect(fetchAll([1], 'inspect' as never)).rejects.toThrow(
      /fetchOne: expected a function/,
    );
  });
});
