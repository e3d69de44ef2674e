/**
 * The errors of `@holdfast/reaper`: one base class with a stable string `code`, and a guard that
 * works across duplicate installs (a `Symbol.for` brand, not `instanceof`).
 *
 * @module
 */

const BRAND = Symbol.for('holdfast.reaper.error');

/**
 * Why a command could not run: the `errno` code of a failed spawn (`ENOENT`: no such file,
 * `EACCES`: not executable, `ENOTDIR`, `E2BIG`: arguments and environment too large, …),
 * `BAD_CWD` when the `cwd` given is not an existing directory, or `SPAWN_FAILED` for anything
 * else; `ALREADY_INSTALLED` from a second `installReaper()` with other options.
 */
export type ReaperErrorCode =
  | 'ENOENT'
  | 'EACCES'
  | 'ENOTDIR'
  | 'E2BIG'
  | 'EPERM'
  | 'BAD_CWD'
  | 'SPAWN_FAILED'
  | 'ALREADY_INSTALLED';

/**
 * A command that could not be started. A command that started and then failed is not an error:
 * its exit code is in the `RunResult`.
 *
 * **When to use:** branch on `error.code` (`'ENOENT'` for a missing binary) rather than on the
 * message.
 *
 * @example
 * ```ts
 * try { await run('wget', ['-q', url]); } catch (e) { if (isReaperError(e) && e.code === 'ENOENT') useHttpProbe(); }
 * ```
 */
export class ReaperError extends Error {
  override name = 'ReaperError';
  readonly code: ReaperErrorCode;
  /** The command that could not be started (`installReaper` for `ALREADY_INSTALLED`). */
  readonly command: string;
  readonly [BRAND] = true;

  constructor(
    code: ReaperErrorCode,
    command: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.code = code;
    this.command = command;
  }
}

/**
 * Whether `error` is a {@link ReaperError} from any copy of this package.
 *
 * @example
 * ```ts run
 * isReaperError(new Error('x')); // => false
 * ```
 */
export function isReaperError(error: unknown): error is ReaperError {
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as Record<symbol, unknown>)[BRAND] === true
  );
}
