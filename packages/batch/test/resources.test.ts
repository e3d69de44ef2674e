import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { fetchAll, fetchEach, type FetchContext } from '../src/index.js';

// Fake timers, through the default clock: what the batch leaves in the event loop once it
// settles is every timer it set and neither fired nor cleared, and `vi.getTimerCount()` counts
// exactly those (the test runner's own timers are real). With real timers the run took a
// different path under load (a 5 ms timeout against the machine's stalls), one run in five.
beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});
const activeTimers = () => vi.getTimerCount();
const untilAborted = (_: unknown, { signal }: FetchContext) =>
  new Promise<never>((_resolve, reject) =>
    signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true }),
  );

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
process.on('unhandledRejection', onUnhandled);
afterEach(() => {
  expect(unhandled).toEqual([]);
});

describe('no handle is left behind', () => {
  test('after timeouts, retries, a deadline and a caller signal', async () => {
    const before = activeTimers();
    const controller = new AbortController();
    const listeners: number[] = [];
    const promise = fetchAll(
      Array.from({ length: 40 }, (_, i) => i),
      (i, ctx) => {
        if (i % 4 === 0) return untilAborted(i, ctx);
        if (i % 4 === 1)
          return Promise.reject(Object.assign(new Error('reset'), { code: 'ECONNRESET' }));
        if (i % 4 === 2) return new Promise<never>(() => {}); // abandoned: ignores its signal
        return i;
      },
      {
        concurrency: 8,
        timeout: 5,
        deadline: 5_000,
        maxAbandoned: Infinity,
        retry: { maxAttempts: 2, minDelay: 1, maxDelay: 2 },
        hedge: { delay: 2 },
        signal: controller.signal,
        onOutcome: () => listeners.push(1),
      },
    );
    await vi.advanceTimersByTimeAsync(1_000);
    const result = await promise;
    expect(result.outcomes).toHaveLength(40);
    // Every kind of timer was set on the way: attempt timeouts, retry sleeps, hedges.
    expect(result.stats.timedOut).toBeGreaterThan(0);
    expect(result.stats.retried).toBeGreaterThan(0);
    expect(result.stats.hedged).toBeGreaterThan(0);
    expect(activeTimers()).toBe(before);
  });

  test('after a deadline with stragglers that never end', async () => {
    const before = activeTimers();
    const promise = fetchAll([1, 2, 3], () => new Promise<never>(() => {}), {
      deadline: 10,
      timeout: Infinity,
    });
    await vi.advanceTimersByTimeAsync(10);
    const result = await promise;
    expect(result.stats.cancelled).toBe(3);
    expect(activeTimers()).toBe(before);
  });

  test('after a fetchEach consumer breaks out', async () => {
    const before = activeTimers();
    const work = (i: number, ctx: FetchContext) =>
      i === 0 ? Promise.resolve(i) : untilAborted(i, ctx);
    for await (const outcome of fetchEach([0, 1, 2, 3], work, {
      timeout: 60_000,
      deadline: 60_000,
    })) {
      expect(outcome.status).toBe('fulfilled');
      break;
    }
    expect(activeTimers()).toBe(before);
  });

  test("the caller's signal has no listener left once the batch settled", async () => {
    const controller = new AbortController();
    let added = 0;
    let removed = 0;
    const add = controller.signal.addEventListener.bind(controller.signal);
    const remove = controller.signal.removeEventListener.bind(controller.signal);
    controller.signal.addEventListener = ((...args: Parameters<typeof add>) => {
      added += 1;
      add(...args);
    }) as typeof add;
    controller.signal.removeEventListener = ((...args: Parameters<typeof remove>) => {
      removed += 1;
      remove(...args);
    }) as typeof remove;
    await fetchAll([1, 2], (n) => n, { signal: controller.signal });
    expect(added).toBeGreaterThan(0);
    expect(removed).toBe(added);
  });
});
