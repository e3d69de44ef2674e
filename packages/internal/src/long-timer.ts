/**
 * Timers for any duration. Node's `setTimeout` takes at most 2^31 − 1 ms (about 24.8 days); a
 * longer delay is clamped to 1 ms with a warning, so a 30-day lease would expire at once. A long
 * timer chains ordinary timers of at most that length until the whole delay has passed.
 *
 * @module
 */

/** The longest delay Node's `setTimeout` honours. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** The timer functions a long timer chains: the globals, or a clock's. */
export interface TimerFunctions {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** A timer that may be longer than {@link MAX_TIMER_MS}. */
export interface LongTimer {
  /** Cancels the timer; harmless after it fired or was cleared. */
  clear(): void;
  /** Lets the process exit while only this timer is pending (also for the timers chained later). */
  unref(): LongTimer;
}

/** The global timers, looked up at each call so that fake timers installed later are honoured. */
export const globalTimers: TimerFunctions = {
  setTimeout: (callback, ms) => globalThis.setTimeout(callback, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/**
 * Calls `callback` once, `ms` milliseconds from now, for any `ms` from 0 to `Infinity`
 * (`Infinity` never fires; a negative or NaN delay is 0, as for `setTimeout`).
 */
export function setLongTimeout(
  callback: () => void,
  ms: number,
  timers: TimerFunctions = globalTimers,
): LongTimer {
  // Invariant: `remaining` is what is left of the delay after the step now armed.
  let remaining = Number.isNaN(ms) || ms < 0 ? 0 : ms;
  let handle: unknown;
  let armed = false;
  let unrefed = false;

  const arm = (): void => {
    if (remaining === Infinity) return;
    const step = Math.min(remaining, MAX_TIMER_MS);
    remaining -= step;
    armed = true;
    handle = timers.setTimeout(() => {
      armed = false;
      if (remaining > 0) arm();
      else callback();
    }, step);
    if (unrefed) unrefHandle(handle);
  };
  arm();

  const timer: LongTimer = {
    clear() {
      remaining = Infinity;
      if (armed) timers.clearTimeout(handle);
      armed = false;
    },
    unref() {
      unrefed = true;
      if (armed) unrefHandle(handle);
      return timer;
    },
  };
  return timer;
}

function unrefHandle(handle: unknown): void {
  (handle as { unref?: () => void } | undefined)?.unref?.();
}
