/**
 * A timeout of any length. Node clamps a delay above 2^31 − 1 ms to 1 ms (a 30-day timer would
 * fire at once); this chains `setTimeout` in steps of at most 2^31 − 1 ms, so a 30-day timer fires
 * after 30 days. `Infinity` never fires (and arms nothing).
 */

/** The longest delay `setTimeout` honours. */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1;

export interface LongTimeout {
  clear(): void;
  /** Lets the process exit while this timer is pending (every later step is unref'd too). */
  unref(): LongTimeout;
}

export function setLongTimeout(fn: () => void, ms: number): LongTimeout {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let referenced = true;
  const arm = (remaining: number) => {
    const step = Math.min(remaining, MAX_TIMEOUT_MS);
    timer = setTimeout(() => {
      if (remaining > step) arm(remaining - step);
      else fn();
    }, step);
    if (!referenced) timer.unref();
  };
  if (ms !== Infinity) arm(Math.max(0, ms));
  const handle: LongTimeout = {
    clear: () => clearTimeout(timer),
    unref: () => {
      referenced = false;
      timer?.unref();
      return handle;
    },
  };
  return handle;
}
