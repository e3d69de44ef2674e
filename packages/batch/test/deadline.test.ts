/**
 * "After the deadline no attempt starts", whatever the work and the source do: work that settles
 * in microtasks (the deadline timer never gets a turn), an item source that hangs, the caller's
 * abort during a hanging read, and a consumer that breaks out while the source hangs.
 */
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { fetchAll, fetchEach, isDeadlineError, type Clock } from '../src/index.js';

/** A clock whose time moves only when the work spends it; its timers are real and never get a turn here. */
function cpuClock() {
  let now = 0;
  const clock: Clock = {
    now: () => now,
    setTimeout: (fn, ms) => setTimeout(fn, ms),
    clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
  };
  return { clock, spend: (ms: number) => (now += ms), now: () => now };
}

describe('the deadline holds when work settles in microtasks', () => {
  const shapes: [string, (spend: () => void) => (i: number) => unknown][] = [
    ['synchronous returns', (spend) => (i) => (spend(), i)],
    [
      'synchronous throws',
      (spend) => () => {
        spend();
        throw Object.assign(new Error('reset'), { code: 'ECONNRESET' });
      },
    ],
    ['cached values (resolved promises)', (spend) => (i) => (spend(), Promise.resolve(i))],
  ];
  for (const [name, work] of shapes) {
    test(name, async () => {
      const { clock, spend, now } = cpuClock();
      const startedAt: number[] = [];
      const result = await fetchAll(
        Array.from({ length: 2_000 }, (_, i) => i),
        work(() => {
          startedAt.push(now());
          spend(1); // each call costs 1 ms of CPU
        }),
        { clock, deadline: 50, concurrency: 4, retry: { maxAttempts: 3, minDelay: 0 } },
      );
      expect(Math.max(...startedAt)).toBeLessThan(50);
      expect(startedAt.length).toBeLessThanOrEqual(50);
      const late = result.outcomes.filter(
        (o) => o.status === 'rejected' && isDeadlineError(o.error),
      );
      expect(late.length).toBeGreaterThanOrEqual(2_000 - 50);
      expect(result.outcomes).toHaveLength(2_000);
    });
  }
});

describe('an item source that hangs', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  /** Yields `n` items, then a `next()` that never resolves. */
  const hangsAfter = (n: number): AsyncIterable<number> => ({
    [Symbol.asyncIterator]() {
      let i = 0;
      return {
        next: () => (i < n ? Promise.resolve({ done: false, value: i++ }) : new Promise(() => {})),
      };
    },
  });
  async function* generatorHangsAfter(n: number) {
    for (let i = 0; i < n; i += 1) yield i;
    await new Promise(() => {});
  }

  test('does not hold fetchAll past its deadline; every item read has its outcome', async () => {
    let settled = false;
    const promise = fetchAll(hangsAfter(3), (i) => i, { deadline: 100 });
    promise.then(
      () => (settled = true),
      () => (settled = true),
    );
    await vi.advanceTimersByTimeAsync(99);
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(settled).toBe(true);
    const result = await promise;
    expect(result.values).toEqual([0, 1, 2]);
    expect(result.complete).toBe(false);
  });

  test("does not hold fetchAll past the caller's abort (an async generator, too)", async () => {
    const controller = new AbortController();
    let settled = false;
    const promise = fetchAll(generatorHangsAfter(2), (i) => i, { signal: controller.signal });
    promise.then(
      () => (settled = true),
      () => (settled = true),
    );
    await vi.advanceTimersByTimeAsync(1_000);
    expect(settled).toBe(false);
    controller.abort();
    await vi.advanceTimersByTimeAsync(0);
    expect(settled).toBe(true);
    expect((await promise).values).toEqual([0, 1]);
  });

  test('a break out of fetchEach returns', async () => {
    let returned = false;
    const consume = (async () => {
      for await (const outcome of fetchEach(generatorHangsAfter(1), (i) => i)) {
        expect(outcome.status).toBe('fulfilled');
        break;
      }
      returned = true;
    })();
    await vi.advanceTimersByTimeAsync(0);
    expect(returned).toBe(true);
    await consume;
  });
});

describe('FetchContext tells the time left', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  test('remainingMs() is the earlier of the attempt timeout and the batch deadline, minus the time spent', async () => {
    const seen: [number, number][] = [];
    const promise = fetchAll(
      [0, 1],
      async (i, ctx) => {
        if (i === 1) await new Promise((resolve) => setTimeout(resolve, 250));
        seen.push([ctx.remainingMs(), ctx.deadlineAt - performance.now()]);
        await new Promise((resolve) => setTimeout(resolve, 30));
        seen.push([ctx.remainingMs(), ctx.deadlineAt - performance.now()]);
        return i;
      },
      { timeout: 1_000, deadline: 300 },
    );
    await vi.advanceTimersByTimeAsync(300);
    await promise;
    // item 0: bounded by its timeout? no: the deadline (300) comes first; item 1 likewise.
    expect(seen).toEqual([
      [300, 300],
      [270, 270],
      [50, 50],
      [20, 20],
    ]);
  });

  test('remainingMs() is Infinity with neither a timeout nor a deadline, and 0 once past', async () => {
    let unbounded = 0;
    await fetchAll(
      [0],
      (_, { remainingMs }) => {
        unbounded = remainingMs(); // destructured: still works
      },
      { timeout: Infinity },
    );
    expect(unbounded).toBe(Infinity);
    let after = -1;
    const promise = fetchAll(
      [0],
      async (_, ctx) => {
        await new Promise((resolve) => setTimeout(resolve, 200));
        after = ctx.remainingMs();
      },
      { timeout: 100, maxAbandoned: Infinity },
    );
    await vi.advanceTimersByTimeAsync(200);
    await promise;
    expect(after).toBe(0);
  });
});
