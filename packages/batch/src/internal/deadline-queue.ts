import type { Clock, TimerHandle } from '../clock.js';
import { emptyObjectArray } from './object-array.js';

/**
 * One scheduled expiry: an object that is its own entry (an attempt is its timeout's entry, so
 * scheduling allocates nothing). `live` turns false when it fires or is cancelled.
 */
export interface QueueEntry {
  at: number;
  live: boolean;
  expire(): void;
}

/**
 * A FIFO of expiries served by ONE timer.
 *
 * Invariant: entries are added in non-decreasing `at` order. That holds because every entry of a
 * queue is `clock.now() + d` for the same `d` (the per-attempt timeout, or the hedge delay), and
 * the clock never goes back. So the head is always the earliest live expiry, and a batch of
 * 100,000 attempts costs one armed timer at a time instead of 100,000 timers.
 *
 * Cancelled entries are dropped lazily, when they reach the head. An `expire()` may add to the
 * queue it fires from: the timer is armed once the firing is over, for the head, not for the
 * entry just added (a later one, which would make the head late).
 */
export class DeadlineQueue {
  #entries: QueueEntry[] = emptyObjectArray();
  #head = 0;
  #timer: TimerHandle | undefined;
  #firing = false;
  readonly #clock: Clock;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Schedules `entry.expire()` at `at` (not before any entry added earlier). */
  add(entry: QueueEntry, at: number): void {
    entry.at = at;
    entry.live = true;
    this.#entries.push(entry);
    if (this.#timer === undefined && !this.#firing) this.#arm(at);
  }

  cancel(entry: QueueEntry): void {
    entry.live = false;
    this.#dropDeadHead();
  }

  /** Clears the timer and forgets every entry. */
  close(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#entries = emptyObjectArray();
    this.#head = 0;
  }

  #arm(at: number): void {
    this.#timer = this.#clock.setTimeout(this.#fire, Math.max(0, at - this.#clock.now()));
  }

  #fire = (): void => {
    this.#timer = undefined;
    const now = this.#clock.now();
    // No `finally`: `expire()` is package code and never throws (an abort listener that throws
    // does not unwind into `abort()`).
    this.#firing = true;
    while (this.#head < this.#entries.length) {
      const entry = this.#entries[this.#head]!;
      if (entry.live && entry.at > now) break;
      this.#head += 1;
      if (entry.live) {
        entry.live = false;
        entry.expire();
      }
    }
    this.#firing = false;
    this.#compact();
    const next = this.#entries[this.#head];
    if (next !== undefined) this.#arm(next.at);
  };

  #dropDeadHead(): void {
    while (this.#head < this.#entries.length && !this.#entries[this.#head]!.live) this.#head += 1;
    this.#compact();
    if (this.#head === this.#entries.length && this.#timer !== undefined) {
      this.#clock.clearTimeout(this.#timer);
      this.#timer = undefined;
    }
  }

  /** Reclaims the consumed prefix once it is most of the array (amortised O(1), no `shift`). */
  #compact(): void {
    if (this.#head === this.#entries.length) {
      this.#entries = emptyObjectArray();
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#entries.length) {
      this.#entries = this.#entries.slice(this.#head);
      this.#head = 0;
    }
  }
}
