/**
 * A hedged attempt, call by call: which failure ends it (the last of its two calls, whichever
 * failed first), what the loser's signal says, that a timeout or a stop aborts both calls with the
 * outcome's own error, that no twin starts at or after the deadline, and the hedge delay counted
 * from the attempt's start. On a VirtualClock.
 */
import { describe, expect, test } from 'vitest';
import { fetchAll, isTimeoutError, type FetchContext } from '../src/index.js';
import { VirtualClock } from '../src/testing.js';

const reset = (tag: string) => Object.assign(new Error(`reset ${tag}`), { code: 'ECONNRESET' });

/** A call that settles after `ms` of virtual time (or rejects with its signal's reason). */
const after = (clock: VirtualClock, ms: number, settle: () => unknown, ctx: FetchContext) =>
  new Promise((resolve, reject) => {
    const timer = clock.setTimeout(() => {
      try {
        resolve(settle());
      } catch (error) {
        reject(error);
      }
    }, ms);
    ctx.signal.addEventListener('abort', () => {
      clock.clearTimeout(timer);
      reject(ctx.signal.reason as Error);
    });
  });

describe('hedging, call by call', () => {
  test('the twin failing first does not end the attempt while the first call may still answer', async () => {
    const clock = new VirtualClock();
    const started: number[] = [];
    const result = await clock.runUntilSettled(
      fetchAll(
        ['x'],
        (_item, ctx) => {
          started.push(clock.now());
          return started.length === 1
            ? after(clock, 100, () => 'first', ctx)
            : after(
                clock,
                10,
                () => {
                  throw reset('twin');
                },
                ctx,
              );
        },
        { clock, hedge: { delay: 20 } },
      ),
    );
    expect(started).toEqual([0, 20]);
    expect(result.values).toEqual(['first']);
    expect(result.stats.hedged).toBe(1);
  });

  test('the first call failing does not end the attempt while the twin may still answer', async () => {
    const clock = new VirtualClock();
    let calls = 0;
    const result = await clock.runUntilSettled(
      fetchAll(
        ['x'],
        (_item, ctx) => {
          calls += 1;
          return calls === 1
            ? after(
                clock,
                30,
                () => {
                  throw reset('first');
                },
                ctx,
              )
            : after(clock, 40, () => 'twin', ctx);
        },
        { clock, hedge: { delay: 20 } },
      ),
    );
    expect(result.values).toEqual(['twin']);
  });

  test('both failing: the attempt ends with the error of the last one', async () => {
    const clock = new VirtualClock();
    let calls = 0;
    const result = await clock.runUntilSettled(
      fetchAll(
        ['x'],
        (_item, ctx) => {
          calls += 1;
          const tag = calls === 1 ? 'first' : 'twin';
          return after(
            clock,
            calls === 1 ? 30 : 40,
            () => {
              throw reset(tag);
            },
            ctx,
          );
        },
        { clock, hedge: { delay: 20 } },
      ),
    );
    const error = (result.outcomes[0] as { error: Error }).error;
    expect(error.cause).toMatchObject({ message: 'reset twin' });
    expect(result.outcomes[0]).toMatchObject({ durationMs: 60 });
  });

  test("the loser's signal is aborted with a reason that says a twin answered first", async () => {
    const clock = new VirtualClock();
    const reasons: unknown[] = [];
    let calls = 0;
    await clock.runUntilSettled(
      fetchAll(
        ['x'],
        (_item, ctx) => {
          calls += 1;
          ctx.signal.addEventListener('abort', () => reasons.push(ctx.signal.reason));
          return after(clock, calls === 1 ? 100 : 10, () => calls, ctx);
        },
        { clock, hedge: { delay: 20 } },
      ),
    );
    expect(reasons).toHaveLength(1);
    expect((reasons[0] as Error).message).toBe('a hedged twin answered first');
  });

  test('a timeout aborts both calls with the outcome error itself', async () => {
    const clock = new VirtualClock();
    const reasons: unknown[] = [];
    const result = await clock.runUntilSettled(
      fetchAll(
        ['x'],
        (_item, ctx) => {
          ctx.signal.addEventListener('abort', () => reasons.push(ctx.signal.reason));
          return after(clock, 1_000, () => 'late', ctx);
        },
        { clock, timeout: 100, hedge: { delay: 20 } },
      ),
    );
    const error = (result.outcomes[0] as { error: unknown }).error;
    expect(isTimeoutError(error)).toBe(true);
    expect(reasons).toEqual([error, error]);
    expect(result.stats).toMatchObject({ hedged: 1, abandoned: 0 });
  });

  test('no twin starts once the batch deadline is reached, even if its hedge timer runs late', async () => {
    const clock = new VirtualClock();
    let calls = 0;
    const result = await clock.runUntilSettled(
      fetchAll(
        ['x'],
        (_item, ctx) => {
          calls += 1;
          clock.spend(50); // the first call burns the CPU up to the deadline: every timer runs late
          return after(clock, 1_000, () => 'late', ctx);
        },
        { clock, deadline: 50, hedge: { delay: 20 } },
      ),
    );
    expect(calls).toBe(1);
    expect(result.stats.hedged).toBe(0);
  });

  test('a retry attempt hedges counting from its own start', async () => {
    const clock = new VirtualClock();
    const started: number[] = [];
    await clock.runUntilSettled(
      fetchAll(
        ['x'],
        (_item, ctx) => {
          started.push(clock.now());
          if (started.length === 1) return Promise.reject(reset('first'));
          return after(clock, 100, () => 'ok', ctx);
        },
        { clock, hedge: { delay: 20 }, retry: { maxAttempts: 2, minDelay: 50, jitter: false } },
      ),
    );
    expect(started).toEqual([0, 50, 70]);
  });

  test('a hedge delay of Infinity starts no twin and sets no timer', async () => {
    const clock = new VirtualClock();
    let release!: () => void;
    let calls = 0;
    const promise = fetchAll(
      ['x'],
      () => {
        calls += 1;
        return new Promise<string>((resolve) => (release = () => resolve('ok')));
      },
      { clock, timeout: Infinity, hedge: { delay: Infinity } },
    );
    await clock.advanceBy(0);
    expect(clock.pendingTimers()).toBe(0);
    release();
    expect((await promise).values).toEqual(['ok']);
    expect(calls).toBe(1);
  });
});
