/**
 * What the verdict counts: the breaker samples required items that settled on their own (a
 * success or a failure; not a skip, not an item the batch stopped), opens at exactly its minimum
 * and ratio, and names the failure that opened it; the every-required-item-failed rule keeps a
 * verdict already given and is not judged when the consumer stopped the batch.
 */
import { describe, expect, test } from 'vitest';
import { fetchAll, fetchEach, isCancelledError, type FetchContext } from '../src/index.js';
import { VirtualClock } from '../src/testing.js';

const refused = (i: number) =>
  Object.assign(new Error(`connect ECONNREFUSED (item ${i})`), { code: 'ECONNREFUSED' });
/** Work that fails (after one try) for the items in `failing`, answers for the others. */
const work =
  (failing: readonly number[]) =>
  (i: number): number => {
    if (failing.includes(i)) throw refused(i);
    return i;
  };
const ids = (n: number) => Array.from({ length: n }, (_, i) => i);
const sequential = { concurrency: 1, allFailedIsFatal: false } as const;

describe('the breaker', () => {
  test('opens at exactly minSamples, on the failure that reached it, which is its cause', async () => {
    const result = await fetchAll(ids(5), work([0, 1, 2, 3, 4]), {
      ...sequential,
      breaker: { failureRatio: 1, minSamples: 3 },
    });
    expect(result.fatal?.message).toBe('breaker opened: 3 of 3 required items failed (ratio 1)');
    const third = result.outcomes[2] as { error: Error };
    expect(result.fatal?.cause).toBe(third.error);
    expect(result.outcomes.slice(3).every((o) => 'error' in o && isCancelledError(o.error))).toBe(
      true,
    );
  });

  test('opens at exactly its ratio; when a success reaches it, there is no cause', async () => {
    const result = await fetchAll(ids(4), work([0]), {
      ...sequential,
      breaker: { failureRatio: 0.5, minSamples: 2 },
    });
    expect(result.fatal?.message).toBe('breaker opened: 1 of 2 required items failed (ratio 0.5)');
    expect(result.fatal?.cause).toBeUndefined();
    expect(result.outcomes.map((o) => o.status)).toEqual([
      'rejected',
      'fulfilled',
      'rejected',
      'rejected',
    ]);
  });

  test('stays closed below its ratio', async () => {
    const result = await fetchAll(ids(6), work([0, 2, 4]), {
      ...sequential,
      breaker: { failureRatio: 0.7, minSamples: 2 }, // 1/2, 2/3, 2/4, 3/5, 3/6: all below
    });
    expect(result.fatal).toBeUndefined();
    expect(result.stats).toMatchObject({ fulfilled: 3, rejected: 3 });
  });

  test('does not count skipped items, optional items, or items the deadline stopped', async () => {
    const breaker = { failureRatio: 1, minSamples: 2 } as const;
    // Skips are not successes: two failures around two skips open the breaker.
    const skipping = await fetchAll(
      ids(4),
      (i) => {
        if (i === 1 || i === 2) throw new Error('skip');
        throw refused(i);
      },
      {
        ...sequential,
        breaker,
        classify: (error) => ((error as Error).message === 'skip' ? 'skip' : 'transient'),
      },
    );
    expect(skipping.fatal?.message).toBe('breaker opened: 2 of 2 required items failed (ratio 1)');

    // Optional failures are not samples.
    const optional = await fetchAll(ids(4), work([0, 1, 2]), {
      ...sequential,
      breaker,
      importance: (i) => (i < 3 ? 'optional' : 'required'),
    });
    expect(optional.fatal).toBeUndefined();

    // Items rejected because the batch deadline passed are not samples either.
    const clock = new VirtualClock();
    const hang = (_: number, { signal }: FetchContext) =>
      new Promise<never>((_resolve, reject) =>
        signal.addEventListener('abort', () => reject(signal.reason as Error)),
      );
    const late = await clock.runUntilSettled(
      fetchAll(ids(4), hang, {
        clock,
        deadline: 100,
        concurrency: 4,
        breaker,
        allFailedIsFatal: false,
      }),
    );
    expect(late.stats.cancelled).toBe(4);
    expect(late.fatal).toBeUndefined();
  });
});

describe('every required item failed', () => {
  test('a verdict already given is kept (the first fatal failure, not "every required item failed")', async () => {
    const result = await fetchAll(ids(3), () => {
      throw new Error('permission denied');
    });
    expect(result.outcomes.every((o) => o.status === 'rejected')).toBe(true);
    expect(result.fatal?.message).toBe('required item 0 failed fatally');
  });

  test('its cause is the last required failure', async () => {
    const result = await fetchAll(ids(4), work([0, 1, 2, 3]), { concurrency: 1, retry: 0 });
    expect(result.fatal?.message).toBe('every required item failed (4 of 4)');
    expect(result.fatal?.cause).toBe((result.outcomes[3] as { error: Error }).error);
  });

  test('exactly minItems required items, all failed, is fatal; optional items do not count', async () => {
    const three = await fetchAll(ids(3), work([0, 1, 2]), { retry: 0 });
    expect(three.fatal?.message).toBe('every required item failed (3 of 3)');
    const mixed = await fetchAll(ids(5), work([0, 1, 2, 3, 4]), {
      retry: 0,
      importance: (i) => (i < 3 ? 'optional' : 'required'),
    });
    expect(mixed.fatal).toBeUndefined();
  });

  test('not judged when the consumer stopped the stream', async () => {
    const stream = fetchEach(ids(10), work(ids(10)), { concurrency: 1, retry: 0 });
    let seen = 0;
    for await (const outcome of stream) {
      expect(outcome.status).toBe('rejected');
      seen += 1;
      if (seen === 5) break;
    }
    expect(stream.fatal()).toBeUndefined();
  });

  test('a verdict no single item caused has index -1', async () => {
    const breaker = await fetchAll(ids(3), work([0, 1, 2]), {
      ...sequential,
      breaker: { failureRatio: 1, minSamples: 2 },
    });
    expect(breaker.fatal).toMatchObject({ index: -1, attempts: 0 });
    const all = await fetchAll(ids(3), work([0, 1, 2]));
    expect(all.fatal).toMatchObject({ index: -1, attempts: 0 });
  });
});

describe('items the caller cancelled', () => {
  test('are not breaker samples: a caller abort never opens it', async () => {
    const controller = new AbortController();
    const promise = fetchAll(
      ids(4),
      (_i, { signal }) =>
        new Promise<never>((_resolve, reject) =>
          signal.addEventListener('abort', () => reject(signal.reason as Error)),
        ),
      {
        concurrency: 4,
        signal: controller.signal,
        breaker: { failureRatio: 1, minSamples: 1 },
        allFailedIsFatal: false,
      },
    );
    controller.abort();
    const result = await promise;
    expect(result.stats.cancelled).toBe(4);
    expect(result.fatal).toBeUndefined();
  });
});
