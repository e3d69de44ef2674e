/**
 * Options of {@link fetchAll} and {@link fetchEach}, and their validation. Every field is
 * optional; the defaults are what a discovery loop in a node agent should do.
 *
 * @module
 */
import type { Clock } from './clock.js';
import type { Outcome } from './outcome.js';

/** What a failure means for the item: retry it, give up on the batch, or skip the item. */
export type Classification = 'transient' | 'fatal' | 'skip';

/** Whether an item's failure may make the whole batch fatal. */
export type Importance = 'required' | 'optional';

/** What `fetchOne` receives besides the item. */
export interface FetchContext {
  /**
   * Aborts on the attempt's timeout (reason: a `TimeoutError`), on the batch deadline, on the
   * caller's signal, and when a hedged twin won. Pass it to the real work (`fetch`, `http.request`)
   * so a timeout stops the work, not only the wait for it.
   */
  readonly signal: AbortSignal;
  /** 1 for the first attempt, 2 for the first retry, … */
  readonly attempt: number;
  /** Position of the item in the input. */
  readonly index: number;
}

/** Retry policy for failures classified `'transient'` (timeouts are transient by default). */
export interface RetryOptions {
  /**
   * Retries after the first attempt.
   * @default 2
   */
  readonly retries?: number;
  /**
   * Delay before the first retry, in ms.
   * @default 100
   */
  readonly minDelay?: number;
  /**
   * Upper bound of any delay, in ms. A delay that would end after the batch deadline is not
   * slept: the item is reported with its last error instead.
   * @default 2_000
   */
  readonly maxDelay?: number;
  /**
   * Growth of the delay per retry: `minDelay * factor ** (retry - 1)`, capped by `maxDelay`.
   * @default 2
   */
  readonly factor?: number;
  /**
   * Full jitter: each delay is drawn uniformly in `[0, computed delay]`, so a batch of failing
   * items does not retry in lock-step.
   * @default true
   */
  readonly jitter?: boolean;
  /**
   * A retry budget across the whole batch (gRPC and Finagle keep such budgets): at most
   * `minRetries + ratio × first attempts started so far` retries in total, so a sick backend is
   * not hit by a retry storm. A number is shorthand for `{ ratio }`. Unset: no budget.
   */
  readonly budget?: number | { readonly ratio: number; readonly minRetries?: number };
}

/** The failure-ratio breaker over required items. */
export interface BreakerOptions {
  /**
   * Opens when failed required items / settled required items reaches this ratio (0 < r ≤ 1).
   */
  readonly failureRatio: number;
  /**
   * Required items that must have settled before the ratio is trusted.
   * @default 10
   */
  readonly minSamples?: number;
}

/** Options of `fetchAll` and `fetchEach`. */
export interface FetchOptions<T, R = unknown> {
  /**
   * Attempts in flight at once (abandoned work excluded, see `maxAbandoned`).
   * @default 8
   */
  readonly concurrency?: number;
  /**
   * Per-attempt timeout in ms, counted from the moment the attempt starts (not while the item
   * waits for a slot). `Infinity` disables it.
   * @default 30_000
   */
  readonly timeout?: number;
  /**
   * Whole-batch deadline in ms from the call. After it no attempt starts, in-flight attempts
   * are aborted, and every unfinished item is reported with a `DeadlineError`.
   * @default Infinity
   */
  readonly deadline?: number;
  /** Retries of transient failures: a count, or a policy. @default no retries */
  readonly retry?: number | RetryOptions;
  /**
   * Classifies a failure. The default treats timeouts and common network errors as transient and
   * everything else as fatal for the item. A thrown classifier counts as `'fatal'`.
   */
  readonly classify?: (error: unknown, item: T) => Classification;
  /**
   * Whether the item may make the batch fatal: a required item classified `'fatal'` does, and
   * the breaker counts only required items. An optional item's failure never does.
   * @default () => 'required'
   */
  readonly importance?: (item: T) => Importance;
  /** Stop early and call the batch fatal when the backend itself is down. Unset: no breaker. */
  readonly breaker?: BreakerOptions;
  /**
   * Attempts that timed out but whose work ignored the signal and is still running. Their slots
   * are freed at the timeout; once this many are outstanding, new attempts wait for one to end,
   * which protects the backend from piling work.
   * @default concurrency
   */
  readonly maxAbandoned?: number;
  /**
   * Hedging (as in Polly): when an attempt is slower than `delayMs`, start one speculative
   * duplicate, take the first success, abort the other. Unset: no hedging.
   */
  readonly hedge?: { readonly delayMs: number };
  /** Cancels the batch: unfinished items are reported with `CancelledError` (`by: 'caller'`). */
  readonly signal?: AbortSignal;
  /** Called once per item as its outcome is settled, in completion order. Errors thrown are counted in `stats.hookErrors`. */
  readonly onOutcome?: (outcome: Outcome<T, R>) => void;
  /** Time source for every timer and duration. @default systemClock */
  readonly clock?: Clock;
}
