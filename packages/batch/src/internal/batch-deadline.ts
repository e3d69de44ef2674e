import type { Clock, TimerHandle } from '../clock.js';

/**
 * The batch deadline: a timer for the batch that waits, and a check on the clock before every
 * attempt for the batch that does not. Work that settles in microtasks (cached values,
 * synchronous returns or throws) never lets a timer run, so the timer alone cannot keep the
 * promise that no attempt starts after the deadline.
 */
export class BatchDeadline {
  /** Clock time of the deadline (`Infinity`: none). */
  readonly at: number;
  readonly #clock: Clock;
  readonly #onPassed: () => void;
  #timer: TimerHandle | undefined;

  constructor(clock: Clock, startedAt: number, ms: number, onPassed: () => void) {
    this.#clock = clock;
    this.#onPassed = onPassed;
    this.at = startedAt + ms;
    this.#timer = ms === Infinity ? undefined : clock.setTimeout(onPassed, ms);
  }

  /** Whether the deadline has passed at `now`; if so, reports it (`onPassed` is idempotent). */
  passed(now: number): boolean {
    if (now < this.at) return false;
    this.#onPassed();
    return true;
  }

  clear(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
