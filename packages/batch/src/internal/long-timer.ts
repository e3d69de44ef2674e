/**
 * A timer for any duration up to `Infinity`. Node clamps a `setTimeout` beyond 2^31 − 1 ms to
 * 1 ms (with a warning), so a 30-day timer would fire at once; this one chains timers of at most
 * 2^31 − 1 ms until the whole duration has passed. `Infinity` never fires and holds no handle.
 *
 * The global `setTimeout` is looked up at each step, so fake timers installed after import
 * (vitest, sinon) are honoured.
 */

/** The longest delay Node's `setTimeout` takes as given. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export interface LongTimer {
  clear(): void;
  /** Lets the process exit while this timer is pending (as `Timeout.unref()`). */
  unref(): LongTimer;
}

export function setLongTimeout(fn: () => void, ms: number): LongTimer {
  let handle: ReturnType<typeof setTimeout> | undefined;
  let unref = false;
  let cleared = false;
  const arm = (left: number) => {
    const step = Math.min(left, MAX_TIMER_MS);
    handle = globalThis.setTimeout(() => {
      handle = undefined;
      if (left > MAX_TIMER_MS) arm(left - MAX_TIMER_MS);
      else fn();
    }, step);
    if (unref) (handle as { unref?: () => void }).unref?.();
  };
  if (ms !== Infinity) arm(Math.max(0, ms));
  const timer: LongTimer = {
    clear() {
      cleared = true;
      if (handle !== undefined) globalThis.clearTimeout(handle);
      handle = undefined;
    },
    unref() {
      unref = true;
      if (!cleared && handle !== undefined) (handle as { unref?: () => void }).unref?.();
      return timer;
    },
  };
  return timer;
}
