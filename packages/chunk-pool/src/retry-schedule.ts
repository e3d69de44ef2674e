/**
 * Backoff and the per-output breaker: how long an output waits before its next attempt, and when
 * it stops getting chunks for a while because its attempts keep failing.
 *
 * @module
 */
import { retryDelay } from '@holdfast/internal';
import type { ResolvedRetry } from './options.js';

/**
 * The delay before an output's attempt number `attempt` + 1 at a chunk (and the cooldown of its
 * breaker's `attempt`-th trip): the one backoff of docs/conventions.md, `minDelay × factor **
 * (attempt − 1)` capped at `maxDelay`, with full jitter, so a fleet of agents does not retry in
 * lockstep after a shared backend comes back.
 */
export function backoffDelay(retry: ResolvedRetry, attempt: number): number {
  return retryDelay(retry, attempt);
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
  failure(now: number): boolean {
    this.#consecutiveFailures += 1;
    if (this.#consecutiveFailures < this.#threshold) return false;
    const trips = this.#consecutiveFailures - this.#threshold + 1;
    this.#openUntil = now + backoffDelay(this.#retry, trips);
    return true;
  }
}
