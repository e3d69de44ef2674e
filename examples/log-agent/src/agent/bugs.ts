/**
 * The two bugs the scenario makes the agent have on cue. Neither is caught by the agent: what
 * happens next is the crash guard's and the supervisor's work.
 */

/** A parser bug: an exception nobody catches, thrown from a timer. */
export function throwUncaught(): void {
  setTimeout(() => {
    throw new Error('log-agent: the parser met a record it did not expect');
  }, 0);
}

/**
 * A leak that runs away: memory is kept until V8's heap limit is reached and the process aborts
 * with "JavaScript heap out of memory" — no in-process hook runs then; only the supervisor sees it.
 */
export function exhaustHeap(): void {
  const hoard: number[][] = [];
  const grow = () => {
    for (let i = 0; i < 50; i += 1) hoard.push(new Array<number>(10_000).fill(hoard.length));
    setImmediate(grow);
  };
  grow();
}
