/**
 * The clock seam: every timer and every reading of time in `@holdfast/chunk-pool` goes through a
 * {@link Clock}, so tests drive time explicitly instead of waiting on the wall clock.
 *
 * @module
 */
import { monotonicClock } from '@holdfast/internal';

/** An opaque timer handle, as returned by {@link Clock.setTimeout}. */
export type TimerHandle = unknown;

/**
 * Where the pool reads time and sets timers.
 *
 * **When to use:** pass your own in `options.clock` to run the pool on virtual time (lease
 * timeouts, retry delays, seal ages: fast-check's scheduler, Effect-style test clocks);
 * `vi.useFakeTimers()` works with the default clock too.
 *
 * @example
 * ```ts
 * const clock: Clock = { now: () => t, setTimeout: (fn, ms) => timers.add(fn, ms), clearTimeout: (h) => timers.remove(h) };
 * ```
 */
export interface Clock {
  /** Milliseconds on a monotonic scale; only differences are used. */
  now(): number;
  setTimeout(callback: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/**
 * The default clock: `performance.now()` (monotonic: a wall-clock step does not move a lease
 * timeout or a seal age) and the global timers, chained past 2^31 − 1 ms so that any duration up
 * to `Infinity` works (a 30-day lease times out after 30 days, not after 1 ms). Both are looked up
 * at each call so that fake timers installed after import (vitest, sinon) are honoured.
 *
 * @example
 * ```ts
 * const started = systemClock.now();
 * ```
 */
export const systemClock: Clock = monotonicClock;
