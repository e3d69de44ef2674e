import type { Clock, TimerHandle } from '../clock.js';

/**
 * A {@link Clock} on virtual time, for tests: timers fire only when the test advances time, in
 * deadline order, so a batch with a 30-second deadline runs in microseconds and never depends on
 * how busy the machine is.
 *
 * **When to use:** pass it as `options.clock`, and make your simulated dependency use
 * `clock.sleep()` for its latency.
 *
 * @example
 * ```ts run
 * const clock = new VirtualClock();
 * const slow = (ms: number) => new Promise((resolve) => clock.setTimeout(() => resolve(ms), ms));
 * const result = await clock.runUntilSettled(fetchAll([10, 5_000], slow, { clock, timeout: 1_000 }));
 * result.values; // => [10]
 * ```
 */
export class VirtualClock implements Clock {
  #now = 0;
  #nextId = 1;
  // Pending timers by id; `advanceTo` fires them in (time, id) order.
  readonly #timers = new Map<number, { at: number; callback: () => void }>();

  now(): number {
    return this.#now;
  }

  setTimeout(callback: () => void, ms: number): TimerHandle {
    const id = this.#nextId++;
    this.#timers.set(id, { at: this.#now + Math.max(0, ms), callback });
    return id;
  }

  clearTimeout(handle: TimerHandle): void {
    this.#timers.delete(handle as number);
  }

  /**
   * Moves time forward by `ms` without running any timer, as CPU-bound work does: a timer that
   * falls due meanwhile fires at the next turn, late. Simulated work that "takes CPU time"
   * calls this synchronously.
   */
  spend(ms: number): void {
    this.#now += Math.max(0, ms);
  }

  /** A promise that resolves after `ms` of virtual time. */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.setTimeout(resolve, ms));
  }

  /** Timers not yet fired. */
  pendingTimers(): number {
    return this.#timers.size;
  }

  /** Fires the earliest pending timer (moving time to it); false when none is pending. */
  #fireNext(limit: number): boolean {
    let nextId: number | undefined;
    let next: { at: number; callback: () => void } | undefined;
    for (const [id, timer] of this.#timers) {
      if (next === undefined || timer.at < next.at) {
        next = timer;
        nextId = id;
      }
    }
    if (next === undefined || nextId === undefined || next.at > limit) return false;
    this.#timers.delete(nextId);
    this.#now = Math.max(this.#now, next.at);
    next.callback();
    return true;
  }

  /**
   * Lets promise callbacks run, then fires timers one by one until `promise` settles or virtual
   * time would pass `maxMs`. Resolves with the promise's value; rejects if it is still pending
   * then (a hang), naming the virtual time reached.
   */
  async runUntilSettled<T>(promise: Promise<T>, { maxMs = 1e9 } = {}): Promise<T> {
    let settled = false;
    const tracked = promise.finally(() => {
      settled = true;
    });
    // Observed here only so that a rejection is not reported as unhandled while the loop below
    // runs; the caller gets `tracked` itself, rejection included.
    tracked.catch(() => undefined);
    for (;;) {
      await flushMicrotasks();
      if (settled) return tracked;
      if (!this.#fireNext(maxMs)) {
        await flushMicrotasks();
        if (settled) return tracked;
        throw new Error(
          `still pending at virtual time ${this.#now} ms with no timer left before ${maxMs} ms`,
        );
      }
    }
  }
}

/** Runs every queued promise callback (they may queue more), via a macrotask turn. */
function flushMicrotasks(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
