/** Retry jitter draws from a seam; a retry refused by the budget is counted and said. */
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { fetchAll, isTransientError } from '../src/index.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});
const reset = () => {
  throw Object.assign(new Error('reset'), { code: 'ECONNRESET' });
};

describe('retry jitter and budget', () => {
  test('jitter draws from retry.random, never from Math.random', async () => {
    const mathRandom = vi.spyOn(Math, 'random');
    const calledAt: number[] = [];
    const promise = fetchAll(
      ['x'],
      () => {
        calledAt.push(performance.now());
        reset();
      },
      { retry: { maxAttempts: 3, minDelay: 100, factor: 2, random: () => 0.25 } },
    );
    await vi.advanceTimersByTimeAsync(1_000);
    await promise;
    const start = calledAt[0]!;
    expect(calledAt.map((t) => t - start)).toEqual([0, 25, 75]); // 0.25 × 100, then 0.25 × 200
    expect(mathRandom).not.toHaveBeenCalled();
  });

  test('a random that throws or leaves [0, 1] gives the full delay and is counted', async () => {
    for (const random of [
      () => {
        throw new Error('x');
      },
      () => Number.NaN,
      () => 7,
    ]) {
      const calledAt: number[] = [];
      const promise = fetchAll(
        ['x'],
        () => {
          calledAt.push(performance.now());
          reset();
        },
        { retry: { maxAttempts: 2, minDelay: 100, random } },
      );
      await vi.advanceTimersByTimeAsync(1_000);
      const result = await promise;
      expect(calledAt[1]! - calledAt[0]!).toBe(100);
      expect(result.stats.hookErrors).toBe(1);
    }
  });

  test('a retry refused by the budget is counted, and the error says why', async () => {
    const promise = fetchAll(
      Array.from({ length: 10 }, (_, i) => i),
      reset,
      {
        concurrency: 10,
        retry: { maxAttempts: 4, minDelay: 10, jitter: false, budget: { ratio: 0, minRetries: 2 } },
      },
    );
    await vi.advanceTimersByTimeAsync(1_000);
    const result = await promise;
    // 2 retries granted; 8 items refused after their first attempt, the 2 retried after their second.
    expect(result.stats.retried).toBe(2);
    expect(result.stats.budgetRefused).toBe(10);
    const refused = result.outcomes.filter(
      (o) =>
        o.status === 'rejected' && isTransientError(o.error) && o.error.retryRefusedBy === 'budget',
    );
    expect(refused).toHaveLength(10);
    expect(
      (refused.find((o) => o.status === 'rejected' && o.attempts === 1) as { error: Error }).error
        .message,
    ).toMatch(/after 1 attempt\(s\) \(retry budget spent\): reset/);
  });

  test('retries that ran out say so too', async () => {
    const promise = fetchAll(['x'], reset, { retry: { maxAttempts: 2, minDelay: 1 } });
    await vi.advanceTimersByTimeAsync(10);
    const error = ((await promise).outcomes[0] as { error: unknown }).error;
    expect(isTransientError(error) && error.retryRefusedBy).toBe('attempts');
  });

  test.each([
    ['no deadline', {}],
    ['a deadline', { deadline: 60_000 }],
  ])(
    'a retry delay of Infinity is no retry at all (%s): the item fails at once, its attempts spent',
    async (_name, over) => {
      let calls = 0;
      const failing = async () => {
        calls += 1;
        throw Object.assign(new Error('reset'), { code: 'ECONNRESET' });
      };
      const promise = fetchAll(['x'], failing, {
        retry: { maxAttempts: 5, minDelay: Infinity },
        ...over,
      });
      await vi.advanceTimersByTimeAsync(0);
      const result = await promise;
      const error = (result.outcomes[0] as { error: unknown }).error;
      expect(calls).toBe(1);
      expect(isTransientError(error) && error.retryRefusedBy).toBe('attempts');
      expect(String((error as Error).message)).toMatch(
        /^item 0: failed after 1 attempt\(s\): reset/,
      );
    },
  );
});
