/**
 * Options of {@link fetchAll} and {@link fetchEach}, and their validation. Every field is
 * optional; the defaults are what a discovery loop in a node agent should do.
 *
 * @module
 */
import type { RetryOptions } from '@holdfast/internal';
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
  /**
   * Clock time (`clock.now()`, monotonic ms) at which this attempt is aborted: the earlier of its
   * `timeout` and the batch `deadline`; `Infinity` when it has neither.
   */
  readonly deadlineAt: number;
  /**
   * Milliseconds left before this attempt is aborted (`deadlineAt - clock.now()`, at least 0;
   * `Infinity` when unbounded): pass it downstream, e.g. as a Docker API `?timeout`, so the
   * backend gives up when the batch does. Works destructured (`{ signal, remainingMs }`).
   */
  remainingMs(): number;
}

export type { RetryOptions } from '@holdfast/internal';

/**
 * A retry budget across the whole batch (gRPC and Finagle keep such budgets): at most
 * `minRetries + ratio × first attempts started so far` retries in total, so a sick backend is not
 * hit by a retry storm. A number is shorthand for `{ ratio }`.
 */
export type RetryBudget = number | { readonly ratio: number; readonly minRetries?: number };

/**
 * The retry policy of `fetchAll` and `fetchEach`: the one {@link RetryOptions} of every holdfast
 * package (defaults here: `maxAttempts` 3, `minDelay` 100, `maxDelay` 2 000, `factor` 2, full
 * jitter), for failures classified `'transient'` (timeouts are transient by default), plus a
 * batch-wide `budget`. A delay that would end after the batch deadline is not slept: the item is
 * reported with its last error instead. A `random` that throws or strays counts in
 * `stats.hookErrors`.
 */
export interface BatchRetryOptions extends RetryOptions {
  /** Unset: no budget. */
  readonly budget?: RetryBudget;
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
   * Attempts in flight at once (abandoned work excluded, see `maxAbandoned`). With `hedge`, an
   * attempt slower than the hedge delay runs two calls: up to twice this many calls at once.
   * @default 8
   */
  readonly concurrency?: number;
  /**
   * Per-attempt timeout in ms, counted from the moment the attempt starts (not while the item
   * waits for a slot or for `maxAbandoned`). Any duration up to `Infinity` (which disables it).
   * @default 30_000
   */
  readonly timeout?: number;
  /**
   * Whole-batch deadline in ms from the call (monotonic clock). After it no attempt starts —
   * checked on the clock before every attempt, so it holds even when the work settles in
   * microtasks and the deadline timer never gets a turn — in-flight attempts are aborted, a
   * pending read of an async item source is abandoned, and every item read but unfinished is
   * reported with a `DeadlineError`.
   * @default Infinity
   */
  readonly deadline?: number;
  /**
   * Retries of transient failures: a count of retries (`retry: 2` is `{ maxAttempts: 3 }`), or a
   * policy. @default no retries
   */
  readonly retry?: number | BatchRetryOptions;
  /**
   * Classifies a failure. The default treats timeouts and common network errors as transient and
   * everything else as fatal for the item. A classifier that throws or returns anything else
   * than the three verdicts counts as `'fatal'` (and in `stats.hookErrors`).
   */
  readonly classify?: (error: unknown, item: T) => Classification;
  /**
   * Whether the item may make the batch fatal: a required item classified `'fatal'` does, and
   * the breaker counts only required items. An optional item's failure never does. Anything
   * but `'optional'` (a throw included, counted in `stats.hookErrors`) means required.
   * @default () => 'required'
   */
  readonly importance?: (item: T) => Importance;
  /** Stop early and call the batch fatal when the backend itself is down. Unset: no breaker. */
  readonly breaker?: BreakerOptions;
  /**
   * The verdict of a batch in which every required item was rejected: fatal, once at least
   * `minItems` required items were read (a daemon that is completely down must not read as "no
   * containers"). Skipped items are not failures; a batch cancelled by the caller or a consumer
   * is not judged. `false` turns the rule off.
   * @default { minItems: 3 }
   */
  readonly allFailedIsFatal?: boolean | { readonly minItems?: number };
  /**
   * Attempts that timed out but whose work ignored the signal and is still running. Their slots
   * are freed at the timeout; once this many are outstanding, new attempts wait for one to end,
   * which protects the backend from piling work. At least 1 (with 0 no attempt could start).
   * @default concurrency
   */
  readonly maxAbandoned?: number;
  /**
   * Hedging (as in Polly): when an attempt is slower than `delay`, start one speculative
   * duplicate, take the first success, abort the other. `delay` up to `Infinity` (never).
   * Unset: no hedging.
   */
  readonly hedge?: { readonly delay: number };
  /** Cancels the batch: unfinished items are reported with `CancelledError` (`by: 'caller'`). */
  readonly signal?: AbortSignal;
  /**
   * Called once per item as its outcome is settled, in completion order. A throw, or a returned
   * promise that rejects, is counted in `stats.hookErrors`; the batch goes on.
   */
  readonly onOutcome?: (outcome: Outcome<T, R>) => void;
  /** Time source for every timer and duration. @default systemClock */
  readonly clock?: Clock;
}
