/**
 * `stats.abandoned`, call by call: a call counts once if its work kept running after its abort
 * (it never read its signal, it was still running one clock turn after the abort, or it was still
 * running when the batch ended), and not at all if it ended in the turn of its abort. On a
 * VirtualClock.
 */
import { describe, expect, test } from 'vitest';
import { fetchAll, type FetchContext } from '../src/index.js';
import { VirtualClock } from '../src/testing.js';

/** Work that reads its signal and, once aborted, ends after `lag` ms of virtual time (0: at once). */
const endsAfterAbort =
  (clock: VirtualClock, lag: number) =>
  (_item: unknown, { signal }: FetchContext) =>
    new Promise<never>((_resolve, reject) => {
      signal.addEventListener('abort', () => {
        if (lag === 0) reject(signal.reason as Error);
        else clock.setTimeout(() => reject(signal.reason as Error), lag);
      });
    });

describe('stats.abandoned', () => {
  test('work that ends in the turn of its abort is not counted; 1 ms later it is', async () => {
    for (const [lag, counted] of [
      [0, 0],
      [1, 1],
    ] as const) {
      const clock = new VirtualClock();
      const result = await clock.runUntilSettled(
        fetchAll(['a', 'b'], endsAfterAbort(clock, lag), {
          clock,
          timeout: 100,
          concurrency: 1,
          maxAbandoned: Infinity,
        }),
      );
      expect(result.stats).toMatchObject({ timedOut: 2, abandoned: 2 * counted });
    }
  });

  test('work still running when the batch ends is counted, once', async () => {
    const clock = new VirtualClock();
    const result = await clock.runUntilSettled(
      fetchAll(
        ['straggler', 'next'],
        async (item, { signal }) => {
          if (item === 'next') {
            await clock.sleep(50);
            return item;
          }
          signal.addEventListener('abort', () => {}); // reads its signal, ignores it
          return new Promise<never>(() => {});
        },
        { clock, timeout: 100, concurrency: 1, maxAbandoned: Infinity },
      ),
    );
    // Judged one turn after its abort (counted), and still running at the end: counted once.
    expect(result.stats).toMatchObject({ timedOut: 1, abandoned: 1 });
    expect(result.values).toEqual(['next']);
  });

  test('the last item aborted is judged at the end of the batch, before its check would run', async () => {
    const clock = new VirtualClock();
    const result = await clock.runUntilSettled(
      fetchAll(
        ['straggler'],
        (_item, { signal }) => {
          signal.addEventListener('abort', () => {});
          return new Promise<never>(() => {});
        },
        { clock, timeout: 100 },
      ),
    );
    expect(result.stats).toMatchObject({ timedOut: 1, abandoned: 1 });
    expect(clock.pendingTimers()).toBe(0);
  });

  test('a retry waiting behind the cap starts as soon as the abandoned work ends', async () => {
    const clock = new VirtualClock();
    const calledAt: number[] = [];
    const result = await clock.runUntilSettled(
      fetchAll(
        ['x'],
        async (_item, ctx) => {
          calledAt.push(clock.now());
          if (ctx.attempt === 1) {
            ctx.signal.addEventListener('abort', () => {}); // ignores its abort for 50 ms
            await clock.sleep(150);
            throw Object.assign(new Error('late reset'), { code: 'ECONNRESET' });
          }
          return 'ok';
        },
        {
          clock,
          timeout: 100,
          maxAbandoned: 1,
          retry: { maxAttempts: 2, minDelay: 10, jitter: false },
        },
      ),
    );
    expect(calledAt).toEqual([0, 150]);
    expect(result.values).toEqual(['ok']);
    expect(result.stats).toMatchObject({ abandoned: 1, retried: 1 });
  });

  test('work that never reads its signal is counted, even if it ends in the turn right after its timeout', async () => {
    const clock = new VirtualClock();
    const result = await clock.runUntilSettled(
      fetchAll(['x', 'next'], (item) => clock.sleep(item === 'x' ? 100 : 50).then(() => item), {
        clock,
        timeout: 100,
        concurrency: 1,
        maxAbandoned: Infinity,
      }),
    );
    // Its timer is due at 100 too, but was set after the timeout's: the timeout fires first, and
    // the work ends before the next turn, while the batch goes on with the next item.
    expect(result.stats).toMatchObject({ timedOut: 1, abandoned: 1 });
    expect(result.values).toEqual(['next']);
  });
});
