import { afterAll, afterEach, describe, expect, test } from 'vitest';
import { fetchAll, fetchEach, type FetchContext } from '../src/index.js';

// Real timers on purpose: this checks what the batch leaves in Node's event loop once it settles.
// Nothing here measures time; the timeouts are only there to make timers exist.

/**
 * Timers set by this package's code (found by the creation stack) that neither fired nor were
 * cleared. Counting every `Timeout` of the process would count the test runner's too, which come
 * and go on their own under load.
 */
const pendingBatchTimers = new Set<unknown>();
const realSetTimeout = globalThis.setTimeout;
const realClearTimeout = globalThis.clearTimeout;
globalThis.setTimeout = ((fn: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) => {
  const ours = new Error().stack?.includes('/packages/batch/src/') === true;
  const handle: unknown = realSetTimeout(() => {
    pendingBatchTimers.delete(handle);
    fn(...args);
  }, ms);
  if (ours) pendingBatchTimers.add(handle);
  return handle;
}) as typeof setTimeout;
globalThis.clearTimeout = ((handle: Parameters<typeof clearTimeout>[0]) => {
  pendingBatchTimers.delete(handle);
  realClearTimeout(handle);
}) as typeof clearTimeout;
afterAll(() => {
  globalThis.setTimeout = realSetTimeout;
  globalThis.clearTimeout = realClearTimeout;
});
const activeTimers = () => pendingBatchTimers.size;
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
    const result = await fetchAll(
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
    expect(result.outcomes).toHaveLength(40);
    expect(activeTimers()).toBe(before);
  });

  test('after a deadline with stragglers that never end', async () => {
    const before = activeTimers();
    const result = await fetchAll([1, 2, 3], () => new Promise<never>(() => {}), {
      deadline: 10,
      timeout: Infinity,
    });
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
