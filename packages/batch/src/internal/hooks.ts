import type { Counts } from './attempt.js';

/**
 * Calls a user hook whose failure must cost only itself: a throw, or a returned promise that
 * rejects later, is counted in `stats.hookErrors` and never unwinds into the batch or rejects
 * unobserved. This is the one place the batch emits to user listeners.
 */
export function callHook<A>(counts: Counts, hook: (arg: A) => unknown, arg: A): void {
  try {
    const returned = hook(arg);
    if (typeof (returned as PromiseLike<unknown> | undefined)?.then === 'function') {
      Promise.resolve(returned).then(undefined, () => {
        counts.hookErrors += 1;
      });
    }
  } catch {
    counts.hookErrors += 1;
  }
}
