/**
 * A first-in, first-out queue of callers waiting for something (room in a budget, a chunk to
 * lease), each of which can give up through its `AbortSignal`. The one waiter queue of every
 * package: a waiter that leaves (aborted, woken or rejected) takes its abort listener with it, so
 * nothing leaks however long the queue lives.
 *
 * A waiter may wait with data (`D`: what it waits to do, say the record an append waits to
 * place), which the queue's owner reads at the head with {@link WaiterQueue.peek} before deciding
 * whether to wake it.
 */
export class WaiterQueue<T, D = undefined> {
  readonly #waiters = new Set<Waiter<T, D>>();
  readonly #options: WaiterQueueOptions;

  constructor(options: WaiterQueueOptions = {}) {
    this.#options = options;
  }

  /** Callers waiting now. */
  get size(): number {
    return this.#waiters.size;
  }

  /**
   * Waits to be woken with a value. Rejects with the signal's reason (or what the `abortError`
   * option makes of the signal) if it aborts first (at once if it already has); the queue forgets
   * the waiter either way, then calls the `onAbort` option.
   */
  wait(signal?: AbortSignal, data?: D): Promise<T> {
    if (signal?.aborted) return Promise.reject(this.#abortError(signal) as Error);
    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter<T, D> = {
        data: data as D,
        resolve,
        reject,
        leave: () => {
          this.#waiters.delete(waiter);
          signal?.removeEventListener('abort', onAbort);
        },
      };
      const onAbort = (): void => {
        waiter.leave();
        this.#options.onAbort?.();
        reject(this.#abortError(signal as AbortSignal));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.add(waiter);
    });
  }

  /** The data the longest-waiting caller waits with; `undefined` when nobody waits. */
  peek(): D | undefined {
    const [first] = this.#waiters;
    return first?.data;
  }

  /**
   * Wakes the longest-waiting caller with `value` (a promise: its wait settles as that does);
   * false when nobody waits.
   */
  wakeOne(value: T | PromiseLike<T>): boolean {
    const [first] = this.#waiters;
    if (first === undefined) return false;
    first.leave();
    first.resolve(value);
    return true;
  }

  /** Rejects the longest-waiting caller with `error`; false when nobody waits. */
  rejectOne(error: unknown): boolean {
    const [first] = this.#waiters;
    if (first === undefined) return false;
    first.leave();
    first.reject(error);
    return true;
  }

  /**
   * Wakes, in the order they came, every caller waiting now whose data `matches` (a watermark
   * reached, say), with `value`; the others keep waiting. Returns how many were woken.
   */
  wakeWhere(matches: (data: D) => boolean, value: T): number {
    const woken = [...this.#waiters].filter((waiter) => matches(waiter.data));
    for (const waiter of woken) {
      waiter.leave();
      waiter.resolve(value);
    }
    return woken.length;
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

  #abortError(signal: AbortSignal): unknown {
    const { abortError } = this.#options;
    return abortError === undefined ? signal.reason : abortError(signal);
  }
}

/** How a {@link WaiterQueue} reports an aborted wait. */
export interface WaiterQueueOptions {
  /** What an aborted wait rejects with; default: the signal's `reason`. */
  readonly abortError?: (signal: AbortSignal) => unknown;
  /** Called once a waiter left because its signal aborted (before its wait rejects). */
  readonly onAbort?: () => void;
}

interface Waiter<T, D> {
  readonly data: D;
  resolve(value: T | PromiseLike<T>): void;
  reject(error: unknown): void;
  /** Removes the waiter from the queue and its abort listener from the signal. */
  leave(): void;
}
