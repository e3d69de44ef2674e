/**
 * The errors of `@holdfast/batch`. Every error a batch reports is a {@link BatchError} with a
 * stable string `code`, the index of the item it belongs to, and the underlying `cause`.
 *
 * Type guards (`isTimeoutError(e)`, …) check a brand registered with `Symbol.for`, so they work
 * when two copies of this package are loaded (dual ESM/CJS, duplicate installs), where
 * `instanceof` does not.
 *
 * @module
 */
import { describeCause } from './internal/describe.js';

const BRAND = Symbol.for('holdfast.batch.error');

/** The stable codes of {@link BatchError}; match on these, never on messages. */
export type BatchErrorCode = 'TIMEOUT' | 'TRANSIENT' | 'FATAL' | 'DEADLINE' | 'CANCELLED';

/** Fields every batch error carries besides its message. */
export interface BatchErrorFields {
  /** Position of the item in the input, or `-1` for an error about the whole batch. */
  readonly index: number;
  /** Attempts made for the item when the error was recorded (0 when none started). */
  readonly attempts: number;
  readonly cause?: unknown;
}

/**
 * Base class of every error `@holdfast/batch` reports.
 *
 * **When to use:** branch on `error.code` (or a guard such as {@link isTimeoutError}) in an
 * outcome's `error`; read `error.index` to find the item and `error.cause` for what went wrong.
 *
 * @example
 * ```ts
 * for (const o of result.outcomes) {
 *   if (o.status === 'rejected' && isBatchError(o.error)) console.log(o.error.code, o.index);
 * }
 * ```
 */
export class BatchError extends Error {
  override name = 'BatchError';
  readonly code: BatchErrorCode;
  readonly index: number;
  readonly attempts: number;
  readonly [BRAND] = true;

  constructor(code: BatchErrorCode, message: string, fields: BatchErrorFields) {
    super(message, 'cause' in fields ? { cause: fields.cause } : undefined);
    this.code = code;
    this.index = fields.index;
    this.attempts = fields.attempts;
  }
}

/**
 * An attempt ran past the per-attempt `timeout`; its signal was aborted with this error.
 *
 * **When to use:** {@link isTimeoutError} tells a slow item from a failing one.
 *
 * @example
 * ```ts
 * if (outcome.status === 'rejected' && isTimeoutError(outcome.error)) metrics.inspectTimeouts++;
 * ```
 */
export class TimeoutError extends BatchError {
  override name = 'TimeoutError';
  /** Narrows the union: `error.code === 'TIMEOUT'` means a `TimeoutError`. */
  declare readonly code: 'TIMEOUT';
  /** The per-attempt timeout that expired, in milliseconds. */
  readonly timeoutMs: number;
  constructor(fields: BatchErrorFields & { readonly timeoutMs: number }) {
    super(
      'TIMEOUT',
      `item ${fields.index}: attempt ${fields.attempts} timed out after ${fields.timeoutMs} ms`,
      fields,
    );
    this.timeoutMs = fields.timeoutMs;
  }
}

/**
 * The item failed with an error classified `'transient'`, and no retry was left (attempts,
 * retry budget or time before the deadline). `cause` is the last error.
 *
 * @example
 * ```ts
 * if (outcome.status === 'rejected' && isTransientError(outcome.error)) queueForNextRound(outcome.item);
 * ```
 */
export class TransientError extends BatchError {
  override name = 'TransientError';
  /** Narrows the union: `error.code === 'TRANSIENT'` means a `TransientError`. */
  declare readonly code: 'TRANSIENT';
  /**
   * Why no retry was left: every allowed attempt was made (`'attempts'`; a retry delay of
   * `Infinity` allows no retry at all), the batch retry budget was spent (`'budget'`), or the
   * next retry could not start before the deadline (`'deadline'`).
   */
  readonly retryRefusedBy: RetryRefusedBy;
  constructor(fields: BatchErrorFields & { readonly retryRefusedBy?: RetryRefusedBy }) {
    const by = fields.retryRefusedBy ?? 'attempts';
    const why =
      by === 'attempts'
        ? ''
        : by === 'budget'
          ? ' (retry budget spent)'
          : ' (no retry could start before the deadline)';
    super(
      'TRANSIENT',
      `item ${fields.index}: failed after ${fields.attempts} attempt(s)${why}: ${describeCause(fields.cause, fields.index)}`,
      fields,
    );
    this.retryRefusedBy = by;
  }
}

/** Why a {@link TransientError} was not retried. */
export type RetryRefusedBy = 'attempts' | 'budget' | 'deadline';

/**
 * A failure that retrying cannot fix: an item error classified `'fatal'`, or the batch verdict
 * (a required item failed fatally, the breaker opened, the item source threw, or every required
 * item failed). `BatchResult.fatal` is one of these.
 *
 * @example
 * ```ts
 * const result = await fetchAll(ids, inspect, { breaker: { failureRatio: 0.5, minSamples: 10 } });
 * if (result.fatal) disableUntilNextRound(result.fatal.cause);
 * ```
 */
export class FatalError extends BatchError {
  override name = 'FatalError';
  /** Narrows the union: `error.code === 'FATAL'` means a `FatalError`. */
  declare readonly code: 'FATAL';
  constructor(message: string, fields: BatchErrorFields) {
    super('FATAL', message, fields);
  }
}

/**
 * The batch deadline passed before the item finished: its attempt was aborted, or it never
 * started.
 *
 * @example
 * ```ts
 * const late = result.outcomes.filter((o) => o.status === 'rejected' && isDeadlineError(o.error));
 * ```
 */
export class DeadlineError extends BatchError {
  override name = 'DeadlineError';
  /** Narrows the union: `error.code === 'DEADLINE'` means a `DeadlineError`. */
  declare readonly code: 'DEADLINE';
  /** The batch deadline that passed, in milliseconds. */
  readonly deadlineMs: number;
  constructor(fields: BatchErrorFields & { readonly deadlineMs: number }) {
    super(
      'DEADLINE',
      `item ${fields.index}: batch deadline of ${fields.deadlineMs} ms passed`,
      fields,
    );
    this.deadlineMs = fields.deadlineMs;
  }
}

/** Who stopped the batch when an item is reported as {@link CancelledError}. */
export type CancelledBy = 'caller' | 'fatal' | 'consumer';

/**
 * The item was not finished because the batch was stopped: the caller's `signal` aborted
 * (`by: 'caller'`, `cause` is the signal's reason), the batch verdict became fatal
 * (`by: 'fatal'`), or a `fetchEach` consumer stopped iterating (`by: 'consumer'`).
 * Kept apart from {@link TimeoutError}: a cancelled item was not slow.
 *
 * @example
 * ```ts
 * const shuttingDown =
 *   outcome.status === 'rejected' && isCancelledError(outcome.error) && outcome.error.by === 'caller';
 * ```
 */
export class CancelledError extends BatchError {
  override name = 'CancelledError';
  /** Narrows the union: `error.code === 'CANCELLED'` means a `CancelledError`. */
  declare readonly code: 'CANCELLED';
  readonly by: CancelledBy;
  constructor(fields: BatchErrorFields & { readonly by: CancelledBy }) {
    super('CANCELLED', `item ${fields.index}: cancelled (${fields.by})`, fields);
    this.by = fields.by;
  }
}

function hasCode(error: unknown, code?: BatchErrorCode): boolean {
  if (typeof error !== 'object' || error === null) return false;
  try {
    if ((error as Record<symbol, unknown>)[BRAND] !== true) return false;
    return code === undefined || (error as { code?: unknown }).code === code;
  } catch {
    // A Proxy or a getter that throws: not one of ours.
    return false;
  }
}

/**
 * Whether `error` is a {@link BatchError} from any copy of this package.
 *
 * @example
 * ```ts run
 * isBatchError(new Error('x')); // => false
 * ```
 */
export const isBatchError = (error: unknown): error is BatchError => hasCode(error);
/** Whether `error` is a {@link TimeoutError} from any copy of this package. @example `isTimeoutError(error)` */
export const isTimeoutError = (error: unknown): error is TimeoutError => hasCode(error, 'TIMEOUT');
/** Whether `error` is a {@link TransientError} from any copy of this package. @example `isTransientError(error)` */
export const isTransientError = (error: unknown): error is TransientError =>
  hasCode(error, 'TRANSIENT');
/** Whether `error` is a {@link FatalError} from any copy of this package. @example `isFatalError(result.fatal)` */
export const isFatalError = (error: unknown): error is FatalError => hasCode(error, 'FATAL');
/** Whether `error` is a {@link DeadlineError} from any copy of this package. @example `isDeadlineError(error)` */
export const isDeadlineError = (error: unknown): error is DeadlineError =>
  hasCode(error, 'DEADLINE');
/** Whether `error` is a {@link CancelledError} from any copy of this package. @example `isCancelledError(error)` */
export const isCancelledError = (error: unknown): error is CancelledError =>
  hasCode(error, 'CANCELLED');

/**
 * The error of a rejected outcome: one of the five classes, told apart by `code` (so that
 * `error.code === 'TIMEOUT'` narrows to `TimeoutError`).
 */
export type ItemError = TimeoutError | TransientError | FatalError | DeadlineError | CancelledError;
