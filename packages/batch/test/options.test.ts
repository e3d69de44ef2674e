/**
 * Every option of fetchAll / fetchEach / createInventory: bad values are a TypeError naming the
 * option, the expected form and the value with its type; unknown keys name the nearest known
 * one; every duration takes any value up to Infinity, and long ones work (chained timers).
 */
import { afterEach, describe, expect, test, vi } from 'vitest';
import { createInventory, fetchAll, fetchEach, systemClock } from '../src/index.js';

afterEach(() => {
  vi.useRealTimers();
});

const DURATIONS: [string, (ms: unknown) => object][] = [
  ['timeout', (ms) => ({ timeout: ms })],
  ['deadline', (ms) => ({ deadline: ms })],
  ['retry.minDelay', (ms) => ({ retry: { minDelay: ms, maxDelay: Infinity } })],
  ['retry.maxDelay', (ms) => ({ retry: { minDelay: 0, maxDelay: ms } })],
  ['hedge.delay', (ms) => ({ hedge: { delay: ms } })],
];

describe('durations', () => {
  for (const [path, options] of DURATIONS) {
    test.each([
      [Number.NaN, 'NaN (number)'],
      ['100', '"100" (string)'],
      [-1, '-1 (number)'],
      [null, 'null'],
    ])(`${path}: %s is rejected`, async (value, shown) => {
      const call = fetchAll([1], (n) => n, options(value) as never);
      await expect(call).rejects.toBeInstanceOf(TypeError);
      await expect(call).rejects.toThrow(
        `${path}: expected a duration in milliseconds: a number ≥ 0 (Infinity allowed), got ${shown}`,
      );
    });
    test.each([2 ** 31, Infinity])(`${path}: %s is accepted`, async (value) => {
      vi.useFakeTimers();
      const result = await fetchAll([1], (n) => n, options(value) as never);
      expect(result.values).toEqual([1]);
    });
  }

  test('createInventory ttl: the same rules', () => {
    const key = (s: string) => s;
    expect(() => createInventory({ key, ttl: Number.NaN })).toThrow('got NaN (number)');
    expect(() => createInventory({ key, ttl: '5' as never })).toThrow('got "5" (string)');
    expect(() => createInventory({ key, ttl: Infinity })).not.toThrow();
  });

  test('a timeout past 2^31 - 1 ms is not clamped to 1 ms: it fires when it is due', async () => {
    vi.useFakeTimers();
    let aborted = -1;
    let settled = false;
    const promise = fetchAll(
      [0],
      (_, { signal }) =>
        new Promise<never>((_resolve, reject) =>
          signal.addEventListener('abort', () => {
            aborted = performance.now();
            reject(signal.reason as Error);
          }),
        ),
      { timeout: 2 ** 31 },
    );
    promise.then(
      () => (settled = true),
      () => (settled = true),
    );
    const start = performance.now();
    await vi.advanceTimersByTimeAsync(2 ** 31 - 1);
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(settled).toBe(true);
    expect(aborted - start).toBe(2 ** 31);
  });

  test('a 30-day deadline settles after 30 days, not at once', async () => {
    vi.useFakeTimers();
    const day = 86_400_000;
    let settled = false;
    const promise = fetchAll([0], () => new Promise<never>(() => {}), {
      deadline: 30 * day,
      timeout: Infinity,
    });
    promise.then(
      () => (settled = true),
      () => (settled = true),
    );
    await vi.advanceTimersByTimeAsync(30 * day - 1);
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(settled).toBe(true);
  });

  test('a retry delay of 3e9 ms waits 3e9 ms; a hedge delay of 2^31 ms starts no twin before', async () => {
    vi.useFakeTimers();
    let calls = 0;
    const retried = fetchAll(
      ['x'],
      () => {
        calls += 1;
        throw Object.assign(new Error('reset'), { code: 'ECONNRESET' });
      },
      { retry: { maxAttempts: 2, minDelay: 3e9, maxDelay: 3e9, jitter: false } },
    );
    await vi.advanceTimersByTimeAsync(3e9 - 1);
    expect(calls).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toBe(2);
    await retried;

    let hedgeCalls = 0;
    const hedged = fetchAll(
      ['x'],
      () => {
        hedgeCalls += 1;
        return hedgeCalls === 1 ? new Promise<never>(() => {}) : 'twin';
      },
      { timeout: Infinity, hedge: { delay: 2 ** 31 } },
    );
    await vi.advanceTimersByTimeAsync(2 ** 31 - 1);
    expect(hedgeCalls).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(hedgeCalls).toBe(2);
    expect((await hedged).values).toEqual(['twin']);
  });
});

describe('unknown keys name the nearest known one', () => {
  test.each([
    [{ timeoutMs: 5 }, 'options: unknown option `timeoutMs` (did you mean `timeout`?)'],
    [{ concurency: 2 }, 'options: unknown option `concurency` (did you mean `concurrency`?)'],
    [{ retry: { retries: 1 } }, 'retry: unknown option `retries` (did you mean `maxAttempts`?)'],
    [
      { retry: { budget: { ratio: 0.1, min: 1 } } },
      'retry.budget: unknown option `min` (did you mean `minRetries`?)',
    ],
    [{ hedge: { delayMs: 5 } }, 'hedge: unknown option `delayMs` (did you mean `delay`?)'],
    [
      { breaker: { failureRatio: 0.5, minSample: 3 } },
      'breaker: unknown option `minSample` (did you mean `minSamples`?)',
    ],
  ])('%j', async (options, message) => {
    await expect(fetchAll([1], (n) => n, options as never)).rejects.toThrow(message);
    expect(() => fetchEach([1], (n) => n, options as never)).toThrow(message);
  });

  test('createInventory too', () => {
    expect(() => createInventory({ key: (s: string) => s, ttlMs: 5 } as never)).toThrow(
      'options: unknown option `ttlMs` (did you mean `ttl`?)',
    );
  });
});

describe('entry points', () => {
  test('fetchAll never throws synchronously, even on exotic arguments', async () => {
    const exotic = Object.create(null) as never;
    let promise: Promise<unknown> | undefined;
    expect(() => (promise = fetchAll([1], exotic))).not.toThrow();
    await expect(promise).rejects.toThrow(
      'fetchOne: expected a function, got an object with no keys',
    );
    await expect(fetchAll(exotic, (n) => n)).rejects.toThrow(
      'items: expected an iterable or async iterable, got an object with no keys',
    );
    await expect(fetchAll([1], (n) => n, 42 as never)).rejects.toThrow(
      'options: expected an object, got 42 (number)',
    );
  });

  test('the default clock is monotonic (performance.now), not the wall clock', () => {
    vi.spyOn(performance, 'now').mockReturnValue(1234.5);
    vi.spyOn(Date, 'now').mockReturnValue(0);
    expect(systemClock.now()).toBe(1234.5);
  });
});
