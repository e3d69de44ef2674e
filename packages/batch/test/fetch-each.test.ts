import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { fetchEach, isCancelledError, type Outcome } from '../src/index.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

const after = <T>(ms: number, value: T) =>
  new Promise<T>((resolve) => setTimeout(() => resolve(value), ms));

describe('fetchEach', () => {
  test('yields outcomes in completion order, one per item', async () => {
    const stream = fetchEach([30, 10, 20], (ms) => after(ms, ms), { concurrency: 3 });
    const seen: number[] = [];
    const consume = (async () => {
      for await (const outcome of stream) {
        if (outcome.status === 'fulfilled') seen.push(outcome.value);
      }
    })();
    await vi.advanceTimersByTimeAsync(30);
    await consume;
    expect(seen).toEqual([10, 20, 30]);
    expect(stream.stats()).toMatchObject({ total: 3, fulfilled: 3 });
  });

  test('starts nothing before the first next()', async () => {
    const fetchOne = vi.fn((n: number) => n);
    const stream = fetchEach([1, 2], fetchOne);
    await vi.advanceTimersByTimeAsync(10);
    expect(fetchOne).not.toHaveBeenCalled();
    await stream.next();
    expect(fetchOne).toHaveBeenCalled();
    await stream.return();
  });

  test('backpressure: while the consumer does not pull, at most about 2 × concurrency items start', async () => {
    let started = 0;
    function* endless() {
      for (let i = 0; ; i += 1) yield i;
    }
    const stream = fetchEach(
      endless(),
      (n) => {
        started += 1;
        return n;
      },
      { concurrency: 4 },
    );
    await stream.next();
    await vi.advanceTimersByTimeAsync(100);
    // 4 outcomes buffered for the consumer, plus at most 4 in flight.
    expect(started).toBeLessThanOrEqual(9);
    const before = started;
    await vi.advanceTimersByTimeAsync(100);
    expect(started).toBe(before); // nothing moves until the consumer pulls
    await stream.next();
    await vi.advanceTimersByTimeAsync(0);
    expect(started).toBeGreaterThan(before);
    await stream.return();
  });

  test('breaking out aborts in-flight attempts and leaves no work running', async () => {
    const aborted: number[] = [];
    const stream = fetchEach(
      [0, 1, 2, 3, 4, 5],
      (n, { signal }) => {
        if (n === 0) return 'first';
        return new Promise<string>((_resolve, reject) => {
          signal.addEventListener('abort', () => {
            aborted.push(n);
            reject(signal.reason as Error);
          });
        });
      },
      { concurrency: 3 },
    );
    const seen: Outcome<number, string>[] = [];
    for await (const outcome of stream) {
      seen.push(outcome);
      break;
    }
    expect(seen.map((o) => o.status)).toEqual(['fulfilled']);
    expect(aborted.sort()).toEqual([1, 2]);
    expect(await stream.next()).toEqual({ done: true, value: undefined });
  });

  test('after the deadline every unfinished item still gets its outcome', async () => {
    const stream = fetchEach([0, 1, 2], () => new Promise<never>(() => {}), {
      concurrency: 1,
      deadline: 100,
      maxAbandoned: Infinity,
    });
    const statuses: string[] = [];
    const consume = (async () => {
      for await (const outcome of stream) statuses.push(outcome.status);
    })();
    await vi.advanceTimersByTimeAsync(100);
    await consume;
    expect(statuses).toEqual(['rejected', 'rejected', 'rejected']);
  });

  test('caller cancellation is reported per item', async () => {
    const controller = new AbortController();
    const stream = fetchEach([0, 1], () => new Promise<never>(() => {}), {
      signal: controller.signal,
    });
    const next = stream.next();
    controller.abort();
    const first = await next;
    expect(first.done).toBe(false);
    const outcome = first.value as Outcome<number, never>;
    expect(outcome.status === 'rejected' && isCancelledError(outcome.error)).toBe(true);
    await stream.return();
  });

  test('rejects bad arguments at the call', () => {
    expect(() => fetchEach([1], (n) => n, { concurrency: -1 })).toThrow(TypeError);
    expect(() => fetchEach(undefined as never, (n) => n)).toThrow(/^items: expected/);
  });
});
