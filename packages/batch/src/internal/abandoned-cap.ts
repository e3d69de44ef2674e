import type { Clock } from '../clock.js';
import type { Counts, Waker } from './attempt.js';
import { DeadlineQueue, type QueueEntry } from './deadline-queue.js';

/** What the cap needs to know of a call of `fetchOne`. */
export interface AbandonableCall {
  /** The work has not ended yet. */
  readonly running: boolean;
  /** Present once the work read its signal. */
  readonly controller: AbortController | undefined;
}

/**
 * The `maxAbandoned` cap: calls whose slot was freed (timeout, stop, hedge lost) while their work
 * still runs hold an abandoned slot until the work ends; while `max` are held, new attempts wait.
 *
 * It also counts `stats.abandoned`: a call counts when its work never read its signal (it cannot
 * stop), when it is still running one clock turn after its abort (a zero-delay check in one shared
 * queue: work that honours its signal has ended by then), or when it is still running at the end.
 */
export class AbandonedCap {
  readonly #max: number;
  readonly #clock: Clock;
  readonly #counts: Counts;
  #held = 0;
  /** Wake-ups of waiting workers, in arrival order; each removes itself when called. */
  readonly #waiters = new Set<() => void>();
  /** Abandoned calls that read their signal, not yet counted, and their pending check. */
  readonly #unjudged = new Map<AbandonableCall, QueueEntry>();
  readonly #checks: DeadlineQueue;

  constructor(max: number, clock: Clock, counts: Counts) {
    this.#max = max;
    this.#clock = clock;
    this.#counts = counts;
    this.#checks = new DeadlineQueue(clock);
  }

  get full(): boolean {
    return this.#held >= this.#max;
  }

  /**
   * Waits until a slot may be free (or the batch stops, through the worker's waker). The attempt
   * that waited reads the clock when it resumes, not here: every waiter is woken at once, and the
   * first to resume may spend CPU before the next one runs.
   */
  wait(worker: number, wakers: (Waker | undefined)[]): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        this.#waiters.delete(wake);
        wakers[worker] = undefined;
        resolve();
      };
      this.#waiters.add(wake);
      wakers[worker] = { wake };
    });
  }

  /** A call's slot was freed while its work still runs. */
  abandoned(call: AbandonableCall): void {
    this.#held += 1;
    if (call.controller === undefined) {
      this.#counts.abandoned += 1;
      return;
    }
    const check: QueueEntry = {
      at: 0,
      live: false,
      expire: () => {
        this.#unjudged.delete(call);
        if (call.running) this.#counts.abandoned += 1;
      },
    };
    this.#unjudged.set(call, check);
    this.#checks.add(check, this.#clock.now());
  }

  /** The work of an abandoned call ended: its slot is free again. */
  ended(call: AbandonableCall): void {
    this.#held -= 1;
    const check = this.#unjudged.get(call);
    if (check !== undefined) {
      this.#unjudged.delete(call);
      this.#checks.cancel(check);
    }
    // The cap counts abandoned calls, not attempts: once it is not full, every waiter may go on.
    // (Waking only the first left the others waiting for a slot that was already free: with two
    // workers queued, one was never woken and the batch hung without a timer.)
    if (!this.full) for (const wake of [...this.#waiters]) wake();
  }

  /** The batch ended: calls still running count as abandoned; no check timer is left. */
  close(): void {
    for (const call of this.#unjudged.keys()) if (call.running) this.#counts.abandoned += 1;
    this.#unjudged.clear();
    this.#checks.close();
  }
}
