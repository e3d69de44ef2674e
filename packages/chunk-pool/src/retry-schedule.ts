/**
 * Backoff and the per-output breaker: how long an output waits before its next attempt, and when
 * it stops getting chunks for a while because its attempts keep failing.
 *
 * @module
 */
import type { ResolvedRetry } from './options.js';

/**
 * Exponential backoff with equal jitter: attempt n waits between half and all of
 * `minDelay × 2^(n−1)`, capped at `maxDelay`, so a fleet of agents does not retry in lockstep
 * after a shared backend comes back.
 */
export function backoffDelay(retry: ResolvedRetry, attempt: number, random: () => number): number {
  const exponential = Math.min(retry.maxDelay, retry.minDelay * 2 ** Math.max(0, attempt - 1));
  return Math.round(exponential / 2 + (random() * exponential) / 2);
}

/** The state of an output's breaker, as `stats()` and the `breaker` event report it. */
export type BreakerState = 'closed' | 'open' | 'half-open';

/**
 * Opens after `threshold` consecutive failed attempts; while open the output gets no chunk; after
 * the cooldown it is half-open and gets one lease at a time; an ack closes it, a failure opens it
 * again with a longer cooldown.
 */
export class Breaker {
  readonly #threshold: number;
  readonly #retry: ResolvedRetry;
  #consecutiveFailures = 0;
  #openUntil = 0;

  constructor(threshold: number, retry: ResolvedRetry) {
    this.#threshold = threshold;
    this.#retry = retry;
  }

  state(now: number): BreakerState {
    if (this.#consecutiveFailures < this.#threshold) return 'closed';
    return now < this.#openUntil ? 'open' : 'half-open';
  }

  /** Clock time when an open breaker lets one attempt through. */
  get openUntil(): number {
    return this.#openUntil;
  }

  /** Records a success; true when this closed the breaker. */
  success(): boolean {
    const wasOpen = this.#consecutiveFailures >= this.#threshold;
    this.#consecutiveFailures = 0;
    return wasOpen;
  }

  /** Records a failure; true when this opened the breaker (or re-opened it). */
  failure(now: number, random: () => number): boolean {
    this.#consecutiveFailures += 1;
    if (this.#consecutiveFailures < this.#threshold) return false;
    const trips = this.#consecutiveFailures - this.#threshold + 1;
    this.#openUntil = now + backoffDelay(this.#retry, trips, random);
    return true;
  }
}
