/**
 * The errors of `@holdfast/crash-flush`: one base class with a stable string `code`, and a guard
 * that works across duplicate installs (a `Symbol.for` brand, not `instanceof`).
 *
 * @module
 */

const BRAND = Symbol.for('holdfast.crash-flush.error');

/** Stable codes of {@link CrashFlushError}. */
export type CrashFlushErrorCode = 'ALREADY_INSTALLED' | 'SINK_FAILED' | 'NOT_INSTALLED';

/**
 * An error of the crash guard itself (never one of the agent's crashes, which are reported).
 *
 * @example
 * ```ts
 * try { installCrashGuard({ sink, service: 'b' }); } catch (e) { if (isCrashFlushError(e) && e.code === 'ALREADY_INSTALLED') log.warn(e.message); else throw e; }
 * ```
 */
export class CrashFlushError extends Error {
  override name = 'CrashFlushError';
  readonly code: CrashFlushErrorCode;
  readonly [BRAND] = true;
  constructor(code: CrashFlushErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/**
 * Whether `error` is a {@link CrashFlushError} from any copy of this package.
 *
 * @example
 * ```ts run
 * isCrashFlushError(new Error('x')); // => false
 * ```
 */
export function isCrashFlushError(error: unknown): error is CrashFlushError {
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as Record<symbol, unknown>)[BRAND] === true
  );
}
