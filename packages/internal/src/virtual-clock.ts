import type { Clock, TimerHandle } from './clock.js';

/**
 * A {@link Clock} on virtual time, for tests: timers fire only when the test advances time, in
 * deadline order (then in the order they were set), so a 30-day timeout passes in microseconds
 * and never depends on how busy the machine is. A timer of `Infinity` never fires.
 */
export class VirtualClock implements Clock {
  #now = 0;
  #nextId = 1;
  // Pending timers by id; ids grow, so (at, id) order is deadline order, then set order.
  readonly #timers = new Map<number, { at: number; callback: () => void }>();

  now(): number {
    return this.#now;
  }

  setTimeout(callback: () => void, ms: number): TimerHandle {
    const id = this.#nextId++;
    const delay = Number.isNaN(ms) ? 0 : Math.max(0, ms);
    this.#timers.set(id, { at: this.#now + delay, callback });
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
    this.#now += Number.isNaN(ms) ? 0 : Math.max(0, ms);
  }

  /** A promise that resolves after `ms` of virtual time. */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.setTimeout(resolve, ms));
  }

  /** Timers not yet fired. */
  pendingTimers(): number {
    return this.#timers.size;
  }

  /** Fires the earliest pending timer due by `limit` (moving time to it); false when none is. */
  #fireNext(limit: number): boolean {
    let nextId: number | undefined;
    let next: { at: number; callback: () => void } | undefined;
    for (const [id, timer] of this.#timers) {
      if (next === undefined || timer.at < next.at) {
        next = timer;
        nextId = id;
      }
    }
    if (next === undefined || nextId === undefined || next.at > limit || next.at === Infinity) {
      return false;
    }
    this.#timers.delete(nextId);
    this.#now = Math.max(this.#now, next.at);
    next.callback();
    return true;
  }

  /**
   * Moves time forward by `ms`, firing every timer due by then in order (letting promise
   * callbacks run after each), and lands exactly `ms` later.
   */
  async advanceBy(ms: number): Promise<void> {
    await this.advanceTo(this.#now + ms);
  }

  /** Moves time forward to `at` (never back), firing every timer due by then, in order. */
  async advanceTo(at: number): Promise<void> {
    await flushMicrotasks();
    while (this.#fireNext(at)) await flushMicrotasks();
    this.#now = Math.max(this.#now, at);
    await flushMicrotasks();
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
