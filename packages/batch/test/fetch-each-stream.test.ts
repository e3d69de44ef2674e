/**
 * The stream's own contract, apart from the engine: bad arguments throw at the call; the
 * backpressure bound (concurrency, or 1,024 outcomes at concurrency Infinity); `return()` before
 * any `next()`, after the end, and while the buffer is full; counters before the start; and a
 * failure of the batch itself (a clock that throws) surfacing from `next()`.
 */
import { describe, expect, test } from 'vitest';
import { emptyCounts } from '../src/internal/engine.js';
import { fetchEach, type Clock, type FetchContext } from '../src/index.js';
import { VirtualClock } from '../src/testing.js';

/** Lets every queued promise callback and timer-free continuation run. */
const settle = async () => {
  for (let i = 0; i < 5; i += 1) await new Promise((resolve) => setImmediate(resolve));
};
function* endless() {
  for (let i = 0; ; i += 1) yield i;
}
const untilAborted = (_: unknown, { signal }: FetchContext) =>
  new Promise<never>((_resolve, reject) =>
    signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true }),
  );

describe('fetchEach, the stream', () => {
  test('a fetchOne that is not a function throws at the call, before any next()', () => {
    expect(() => fetchEach([1], 'inspect' as never)).toThrow(
      /fetchOne: expected a function, got "inspect" \(string\)/,
    );
  });

  test('at concurrency 1, one outcome waits while the consumer holds one', async () => {
    let started = 0;
    const stream = fetchEach(endless(), (n) => ((started += 1), n), { concurrency: 1 });
    expect(await stream.next()).toEqual({
      done: false,
      value: expect.objectContaining({ index: 0 }),
    });
    await settle();
    expect(started).toBe(2);
    await stream.next();
    await settle();
    expect(started).toBe(3);
    await stream.return();
  });

  test('at concurrency Infinity the buffer is still bounded (1,024 outcomes), not the whole input', async () => {
    let started = 0;
    const stream = fetchEach(
      Array.from({ length: 20_000 }, (_, i) => i),
      (n) => ((started += 1), n),
      { concurrency: Infinity },
    );
    await stream.next();
    await settle();
    const held = started;
    expect(held).toBeLessThan(20_000);
    await settle();
    expect(started).toBe(held); // nothing moves while the consumer holds
    await stream.return();
  });

  // A bug found here: next() after an early return() started the batch, which then ran the whole
  // input in the background (nobody waits for space on a closed stream).
  test('return() before any next() starts nothing and says done; so does next() after it', async () => {
    let started = 0;
    const stream = fetchEach([1, 2], (n) => ((started += 1), n));
    expect(await stream.return()).toEqual({ done: true, value: undefined });
    expect(await stream.next()).toEqual({ done: true, value: undefined });
    expect(started).toBe(0);
  });

  test('return() after the end says done', async () => {
    const stream = fetchEach([1], (n) => n);
    for await (const outcome of stream) expect(outcome.status).toBe('fulfilled');
    expect(await stream.return()).toEqual({ done: true, value: undefined });
    expect(stream.stats()).toMatchObject({ total: 1, fulfilled: 1 });
  });

  test('return() while the buffer is full and an item is in flight resolves (the worker does not wait for space)', async () => {
    const stream = fetchEach([0, 1, 2, 3], (n, ctx) => (n === 0 ? n : untilAborted(n, ctx)), {
      concurrency: 1,
    });
    await stream.next(); // item 0 taken
    await settle(); // item 1 runs until aborted; its outcome will fill the buffer
    let returned = false;
    const closing = stream.return().then((result) => {
      returned = true;
      return result;
    });
    await settle();
    expect(returned).toBe(true);
    expect(await closing).toEqual({ done: true, value: undefined });
    expect(stream.stats()).toMatchObject({ total: 2, fulfilled: 1, cancelled: 1 });
  });

  test('stats() and fatal() before the first next(): zero counters, no verdict', () => {
    const stream = fetchEach([1], (n) => n);
    expect(stream.stats()).toEqual({ ...emptyCounts(), durationMs: 0 });
    expect(stream.fatal()).toBeUndefined();
  });

  test('a clock that throws fails the stream: next() rejects with its error, once the workers stopped', async () => {
    const virtual = new VirtualClock();
    const broken = new Error('clock broke');
    let reads = 0;
    const clock: Clock = {
      now: () => {
        reads += 1;
        if (reads > 3) throw broken;
        return virtual.now();
      },
      setTimeout: (fn, ms) => virtual.setTimeout(fn, ms),
      clearTimeout: (handle) => virtual.clearTimeout(handle),
    };
    const stream = fetchEach([1, 2, 3], (n) => n, { clock, concurrency: 1 });
    const seen: unknown[] = [];
    const failure = await (async () => {
      try {
        for await (const outcome of stream) seen.push(outcome.status);
      } catch (error) {
        return error;
      }
      return undefined;
    })();
    expect(failure).toBe(broken);
    expect(seen.length).toBeLessThan(3);
  });
});
