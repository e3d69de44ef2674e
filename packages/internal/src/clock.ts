/**
 * The clock seam: every timer and every reading of time in a holdfast package goes through a
 * {@link Clock}, so tests drive time explicitly instead of waiting on the wall clock.
 *
 * Two clocks, never confused: deadlines and timeouts run on {@link monotonicClock}
 * (`performance.now()`, which a wall-clock step cannot move); timestamps in reports and records
 * come from {@link wallClock}.
 *
 * @module
 */
import { globalTimers, setLongTimeout, type LongTimer } from './long-timer.js';

/** An opaque timer handle, as returned by {@link Clock.setTimeout}. */
export type TimerHandle = unknown;

/** Where a package reads time and sets timers. */
export interface Clock {
  /** Milliseconds on a monotonic scale; only differences are meaningful. */
  now(): number;
  /** Calls `callback` after `ms` (any duration up to `Infinity`, which never fires). */
  setTimeout(callback: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/**
 * The default clock: `performance.now()` and the global timers (looked up at each call, so fake
 * timers installed after import are honoured), chained past 2^31 − 1 ms.
 */
export const monotonicClock: Clock = {
  now: () => performance.now(),
  setTimeout: (callback, ms) => setLongTimeout(callback, ms, globalTimers),
  clearTimeout: (handle) => (handle as LongTimer | undefined)?.clear(),
};

/** Wall-clock time, for timestamps only: milliseconds since the epoch. */
export const wallClock = {
  now: (): number => Date.now(),
};
