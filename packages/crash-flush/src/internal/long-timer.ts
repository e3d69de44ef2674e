/**
 * A timeout of any length: Node clamps a `setTimeout` past 2^31 − 1 ms to 1 ms, so longer waits
 * are chained in steps of at most that; `Infinity` never fires. (One copy per package for now:
 * issue 15 moves it to a shared private package with this exact API.)
 */

/** The longest delay `setTimeout` honours. */
const MAX_STEP_MS = 2 ** 31 - 1;

/** Calls `fn` once after `ms` (any value up to `Infinity`); the handle clears it. Unref'd. */
export function setLongTimeout(fn: () => void, ms: number): { clear(): void } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let cleared = false;
  const arm = (left: number) => {
    if (cleared || left === Infinity) return;
    const step = Math.min(Math.max(left, 0), MAX_STEP_MS);
    timer = setTimeout(() => {
      if (left > MAX_STEP_MS) arm(left - MAX_STEP_MS);
      else fn();
    }, step);
    timer.unref?.();
  };
  arm(ms);
  return {
    clear: () => {
      cleared = true;
      if (timer !== undefined) clearTimeout(timer);
    },
  };
}
