/**
 * The pool's one way to emit an event. Listeners are the user's code: each is called on its own,
 * and one that throws (or returns a promise that rejects) is counted, never unwound into the pool
 * or into the `append()` that caused the event; the listeners after it still run.
 *
 * @module
 */
import type { EventEmitter } from 'node:events';

/**
 * Calls every listener of `name` with `args`, in order; `onListenerError` is called once for each
 * listener that throws or whose returned promise rejects.
 */
export function emitGuarded(
  emitter: EventEmitter,
  name: string,
  args: readonly unknown[],
  onListenerError: (error: unknown) => void,
): void {
  // `rawListeners` keeps `once` wrappers, which remove themselves when called, as `emit` does.
  for (const listener of emitter.rawListeners(name)) {
    try {
      const result: unknown = Reflect.apply(listener, emitter, args);
      watchRejection(result, onListenerError);
    } catch (error) {
      onListenerError(error);
    }
  }
}

/** Calls one user callback the same way: a throw or a rejection goes to `onError`, counted. */
export function callGuarded(call: () => unknown, onError: (error: unknown) => void): void {
  try {
    watchRejection(call(), onError);
  } catch (error) {
    onError(error);
  }
}

/** An async listener's rejection is a listener error too (else it would be unhandled). */
function watchRejection(result: unknown, onListenerError: (error: unknown) => void): void {
  if ((typeof result !== 'object' && typeof result !== 'function') || result === null) return;
  // Reading `then` may itself throw (a hostile object): the caller counts that.
  const then = (result as { then?: unknown }).then;
  if (typeof then !== 'function') return;
  Reflect.apply(then, result, [undefined, onListenerError]);
}
