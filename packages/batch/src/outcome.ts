/**
 * What a batch returns: one {@link Outcome} per item, and the {@link BatchResult} around them.
 *
 * @module
 */
import type { FatalError, ItemError } from './errors.js';

/** The item's work returned a value. */
export interface FulfilledOutcome<T, R> {
  readonly status: 'fulfilled';
  readonly item: T;
  readonly index: number;
  readonly value: R;
  readonly attempts: number;
  readonly durationMs: number;
}

/** The item did not return a value; `error` says why (a timeout, a failure, the deadline, …). */
export interface RejectedOutcome<T> {
  readonly status: 'rejected';
  readonly item: T;
  readonly index: number;
  readonly error: ItemError;
  readonly attempts: number;
  readonly durationMs: number;
}

/** The classifier said `'skip'`: the item is deliberately left out; not an error. */
export interface SkippedOutcome<T> {
  readonly status: 'skipped';
  readonly item: T;
  readonly index: number;
  /** The error that was classified `'skip'`. */
  readonly reason: unknown;
}

/**
 * The settled state of one item: exactly one per input item.
 *
 * @example
 * ```ts
 * if (outcome.status === 'fulfilled') use(outcome.value);
 * ```
 */
export type Outcome<T, R> = FulfilledOutcome<T, R> | RejectedOutcome<T> | SkippedOutcome<T>;

/** Counters of one batch. */
export interface BatchStats {
  readonly total: number;
  readonly fulfilled: number;
  readonly rejected: number;
  /** Rejected items whose last attempt timed out. */
  readonly timedOut: number;
  /** Retries started (attempts after the first), hedges excluded. */
  readonly retried: number;
  /** Speculative duplicates started by hedging. */
  readonly hedged: number;
  readonly skipped: number;
  /** Items reported as cancelled or past the deadline. */
  readonly cancelled: number;
  /** Transient failures not retried because the retry budget was spent (see `retry.budget`). */
  readonly budgetRefused: number;
  /**
   * Calls whose slot was freed (timeout, deadline, cancellation, hedge lost) while their work
   * kept running: work that never read its signal, or that had not ended by the next turn of
   * the clock after its abort, or was still running when the batch ended. Work that honours its
   * signal is not counted.
   */
  readonly abandoned: number;
  /**
   * Failures of your callbacks other than `fetchOne`, each replaced by its safe default:
   * `onOutcome` throwing or rejecting, `classify` (→ `'fatal'`) and `importance` (→ required)
   * throwing or returning an unknown value, `retry.random` (→ the full delay), and the item
   * source's `return()` failing when the batch closes it early. The batch goes on.
   */
  readonly hookErrors: number;
  readonly durationMs: number;
}

/**
 * The result of {@link fetchAll}: every outcome in input order, the verdict and the counters.
 * It is never a rejection: item failures are data.
 *
 * @example
 * ```ts
 * const result = await fetchAll(containers, inspect, { timeout: 2_000 });
 * logger.info(result.summary()); // one line per batch, never one per item
 * ```
 */
export interface BatchResult<T, R> {
  /** Exactly one per item, in input order. */
  readonly outcomes: readonly Outcome<T, R>[];
  /** The fulfilled values, in input order. */
  readonly values: readonly R[];
  /** Every item fulfilled or skipped, and the batch was not stopped early. */
  readonly complete: boolean;
  /**
   * Set only when the verdict is fatal: a required item failed fatally, the breaker opened, the
   * item source threw, or every required item failed (`allFailedIsFatal`, on by default).
   */
  readonly fatal: FatalError | undefined;
  readonly stats: BatchStats;
  /** One line for logs: counts by kind, duration and verdict. */
  summary(): string;
}

/**
 * Builds the one-line summary used by `BatchResult.summary()`: for a custom result type that
 * keeps `BatchStats` (aggregated over several batches, say) and wants the same log line.
 *
 * @example
 * ```ts
 * logger.info(summarize(result.stats, result.fatal)); // the same line as result.summary()
 * ```
 */
export function summarize(stats: BatchStats, fatal: FatalError | undefined): string {
  const parts = [
    `${stats.fulfilled}/${stats.total} fulfilled`,
    `${stats.rejected} rejected (${stats.timedOut} timed out, ${stats.cancelled} cancelled)`,
    `${stats.skipped} skipped`,
    `${stats.retried} retried`,
  ];
  if (stats.hedged > 0) parts.push(`${stats.hedged} hedged`);
  if (stats.abandoned > 0) parts.push(`${stats.abandoned} abandoned`);
  parts.push(`${Math.round(stats.durationMs)} ms`);
  parts.push(fatal === undefined ? 'verdict ok' : `verdict FATAL: ${fatal.message}`);
  return `batch: ${parts.join(', ')}`;
}
