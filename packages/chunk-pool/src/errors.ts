/**
 * The errors of `@holdfast/chunk-pool`: one base class with a stable string `code`, and a guard
 * that works across duplicate installs (a `Symbol.for` brand, not `instanceof`).
 *
 * @module
 */

const BRAND = Symbol.for('holdfast.chunk-pool.error');

/**
 * The stable codes of {@link ChunkPoolError}; match on these, never on messages.
 *
 * - `POOL_CLOSED`: the pool was closed; nothing more is accepted or handed out.
 * - `STORAGE_FULL`: storage cannot take the record (the disk reported `ENOSPC`, or `maxBytesStored`
 *   is reached and `whenFull` is `'block'` but the append was given up); nothing already accepted
 *   is lost.
 * - `RECORD_TOO_LARGE`: one record is larger than `chunkBytes`.
 * - `CORRUPT_CHUNK`: a stored chunk failed its checksum or is truncated; it was quarantined.
 * - `INVALID_OPTION`: an option or argument is out of range; the message names it.
 * - `INVALID_RECORD`: a record that is neither a string nor a `Uint8Array`.
 * - `UNKNOWN_OUTPUT`: an output name that is not in `options.outputs`.
 * - `LEASE_SETTLED`: `ack`, `retry` or `drop` on a lease that was already settled or had expired
 *   (its chunk was handed out again).
 * - `ABORTED`: the `signal` given to `take`, `consume` or `append` was aborted.
 * - `STORAGE_ERROR`: storage failed for another reason; `cause` has the system error.
 * - `STORAGE_LOCKED`: another live pool (this process or another, named in the message) holds
 *   the storage folder; one pool per folder.
 * - `UNKNOWN_DEAD_LETTER`: a dead letter asked for by id is not in the storage folder.
 */
export type ChunkPoolErrorCode =
  | 'POOL_CLOSED'
  | 'STORAGE_FULL'
  | 'RECORD_TOO_LARGE'
  | 'CORRUPT_CHUNK'
  | 'INVALID_OPTION'
  | 'INVALID_RECORD'
  | 'UNKNOWN_OUTPUT'
  | 'LEASE_SETTLED'
  | 'ABORTED'
  | 'STORAGE_ERROR'
  | 'STORAGE_LOCKED'
  | 'UNKNOWN_DEAD_LETTER';

/**
 * Every error `@holdfast/chunk-pool` throws or rejects with.
 *
 * **When to use:** branch on `error.code` (or {@link isChunkPoolError} first, for errors that may
 * come from elsewhere); `cause` carries the underlying system error where there is one.
 *
 * @example
 * ```ts
 * try { await pool.append('app', line); }
 * catch (e) { if (isChunkPoolError(e) && e.code === 'STORAGE_FULL') metrics.diskFull++; else throw e; }
 * ```
 */
export class ChunkPoolError extends Error {
  override name = 'ChunkPoolError';
  readonly code: ChunkPoolErrorCode;
  readonly [BRAND] = true;

  constructor(code: ChunkPoolErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/**
 * Whether `error` is a {@link ChunkPoolError} from any copy of this package, optionally with the
 * given code.
 *
 * @example
 * ```ts
 * isChunkPoolError(error, 'POOL_CLOSED'); // => true after pool.close()
 * ```
 */
export function isChunkPoolError(
  error: unknown,
  code?: ChunkPoolErrorCode,
): error is ChunkPoolError {
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as Record<symbol, unknown>)[BRAND] === true &&
    (code === undefined || (error as ChunkPoolError).code === code)
  );
}
