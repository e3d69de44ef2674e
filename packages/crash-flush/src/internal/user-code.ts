/**
 * Calling the user's code (sinks, hooks, metadata functions): it may throw anything, return
 * anything, or never return. Each call here costs only itself: a synchronous throw becomes a
 * rejection, a non-promise result a resolved one, a hang a rejection after `timeoutMs`.
 */
import { setLongTimeout } from '@holdfast/internal';

/** Whether `value` is a thenable (reading `then` may throw: then it is not). */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  try {
    return (
      (typeof value === 'object' || typeof value === 'function') &&
      value !== null &&
      typeof (value as { then?: unknown }).then === 'function'
    );
  } catch {
    return false;
  }
}

/** Runs `fn` (user code) as a promise that settles within `timeoutMs` (Infinity: waits). */
export function callAsync(fn: () => unknown, timeoutMs: number): Promise<void> {
  let result: unknown;
  try {
    result = fn();
  } catch (error) {
    return Promise.reject(error as Error);
  }
  if (!isThenable(result)) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const timer = setLongTimeout(
      () => reject(new Error(`no answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
    try {
      result.then(
        () => {
          timer.clear();
          resolve();
        },
        (error: unknown) => {
          timer.clear();
          reject(error as Error);
        },
      );
    } catch (error) {
      timer.clear();
      reject(error as Error);
    }
  });
}
