import { FatalError } from '../errors.js';
import type { Importance } from '../options.js';
import type { Outcome } from '../outcome.js';
import type { FatalReason } from './channels.js';
import type { ResolvedOptions } from './resolve-options.js';

/**
 * The batch verdict: fatal when a required item failed fatally, when the breaker opens over the
 * required items, or — at the end — when every required item was rejected (at least
 * `allFailedIsFatal.minItems` of them): a daemon that is completely down must not read as an
 * empty listing.
 */
export class Verdict {
  fatal: FatalError | undefined = undefined;
  /** What made the batch fatal (for the diagnostics channel), once `fatal` is set. */
  reason: FatalReason | undefined = undefined;
  readonly #breaker: ResolvedOptions<unknown, unknown>['breaker'];
  readonly #allFailedMinItems: number | undefined;
  readonly #onFatal: (error: FatalError) => void;
  #required = 0;
  #requiredRejected = 0;
  #lastRequiredError: unknown = undefined;
  /** Required items the breaker counts (settled on their own, not stopped by the batch). */
  #sampled = 0;
  #sampledFailed = 0;

  constructor(
    o: Pick<ResolvedOptions<unknown, unknown>, 'breaker' | 'allFailedMinItems'>,
    onFatal: (error: FatalError) => void,
  ) {
    this.#breaker = o.breaker;
    this.#allFailedMinItems = o.allFailedMinItems;
    this.#onFatal = onFatal;
  }

  declare(error: FatalError, reason: FatalReason): void {
    if (this.fatal !== undefined) return;
    this.fatal = error;
    this.reason = reason;
    this.#onFatal(error);
  }

  settled(outcome: Outcome<unknown, unknown>, importance: Importance): void {
    if (importance !== 'required') return;
    this.#required += 1;
    if (outcome.status !== 'rejected') {
      if (outcome.status === 'fulfilled') this.#sample(false, undefined);
      return;
    }
    this.#requiredRejected += 1;
    this.#lastRequiredError = outcome.error;
    const code = outcome.error.code;
    if (code !== 'CANCELLED' && code !== 'DEADLINE') this.#sample(true, outcome.error);
  }

  #sample(failed: boolean, error: unknown): void {
    const breaker = this.#breaker;
    if (breaker === undefined) return;
    this.#sampled += 1;
    if (failed) this.#sampledFailed += 1;
    if (
      this.#sampled >= breaker.minSamples &&
      this.#sampledFailed / this.#sampled >= breaker.failureRatio
    ) {
      this.declare(
        new FatalError(
          `breaker opened: ${this.#sampledFailed} of ${this.#sampled} required items failed (ratio ${breaker.failureRatio})`,
          { index: -1, attempts: 0, cause: failed ? error : undefined },
        ),
        'breaker',
      );
    }
  }

  /** At the end of the batch; `cancelledBy` says who stopped it early, if anyone did. */
  finish(cancelledBy: 'caller' | 'consumer' | 'fatal' | undefined): void {
    const min = this.#allFailedMinItems;
    if (this.fatal !== undefined || min === undefined) return;
    if (cancelledBy === 'caller' || cancelledBy === 'consumer') return;
    if (this.#required < min || this.#requiredRejected < this.#required) return;
    // Set, not declared: the batch is over, there is nothing left to stop.
    this.reason = 'all-failed';
    this.fatal = new FatalError(
      `every required item failed (${this.#requiredRejected} of ${this.#required})`,
      { index: -1, attempts: 0, cause: this.#lastRequiredError },
    );
  }
}
