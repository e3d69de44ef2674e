/**
 * A first-in, first-out queue of callers waiting for something (room in a budget, a chunk to
 * lease), each of which can give up through its `AbortSignal`. The one waiter queue of every
 * package: a waiter that leaves (aborted, woken or rejected) takes its abort listener with it, so
 * nothing leaks however long the queue lives.
 */
export class WaiterQueue<T> {
  readonly #waiters = new Set<Waiter<T>>();

  /** Callers waiting now. */
  get size(): number {
    return this.#waiters.size;
  }

  /**
   * Waits to be woken with a value. Rejects with the signal's reason if it aborts first (at once
   * if it already has); the queue forgets the waiter either way.
   */
  wait(signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter<T> = {
        resolve,
        reject,
        leave: () => {
          this.#waiters.delete(waiter);
          signal?.removeEventListener('abort', onAbort);
        },
      };
      const onAbort = (): void => {
        waiter.leave();
        reject(signal?.reason as Error);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.add(waiter);
    });
  }

  /** Wakes the longest-waiting caller with `value`; false when nobody waits. */
  wakeOne(value: T): boolean {
    const [first] = this.#waiters;
    if (first === undefined) return false;
    first.leave();
    first.resolve(value);
    return true;
  }

  /** Wakes every caller waiting now with `value` (callers that wait during this call are not). */
  wakeAll(value: T): number {
    const woken = [...this.#waiters];
    for (const waiter of woken) {
      waiter.leave();
      waiter.resolve(value);
    }
    return woken.length;
  }

  /** Rejects every caller waiting now with `error` (on close, say). */
  rejectAll(error: unknown): number {
    const rejected = [...this.#waiters];
    for (const waiter of rejected) {
      waiter.leave();
      waiter.reject(error);
    }
    return rejected.length;
  }
}

interface Waiter<T> {
  resolve(value: T): void;
  reject(error: unknown): void;
  /** Removes the waiter from the queue and its abort listener from the signal. */
  leave(): void;
}
