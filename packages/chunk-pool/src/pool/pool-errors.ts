/**
 * The errors the pool makes of what went wrong around it: storage failures, a closed pool, an
 * aborted call, an output it does not have.
 *
 * @module
 */
import { describeThrown } from '../describe-value.js';
import { ChunkPoolError, isChunkPoolError } from '../errors.js';

/** A storage failure as a `ChunkPoolError` (kept as it is when it already is one). */
export function storageFailure(error: unknown, message: string): ChunkPoolError {
  if (isChunkPoolError(error)) return error;
  let code: unknown;
  try {
    code = (error as { code?: unknown } | null)?.code;
  } catch {
    // A hostile error object: no code to read.
  }
  const full = code === 'ENOSPC' || code === 'EDQUOT';
  return new ChunkPoolError(full ? 'STORAGE_FULL' : 'STORAGE_ERROR', message, { cause: error });
}

export function closedError(): ChunkPoolError {
  return new ChunkPoolError('POOL_CLOSED', 'the chunk pool is closed');
}

export function abortedError(signal: AbortSignal | undefined): ChunkPoolError {
  return new ChunkPoolError('ABORTED', 'the operation was aborted', { cause: signal?.reason });
}

export function unknownOutput(output: unknown, outputs: readonly string[]): ChunkPoolError {
  const shown = typeof output === 'string' ? JSON.stringify(output) : describeThrown(output);
  return new ChunkPoolError(
    'UNKNOWN_OUTPUT',
    `unknown output ${shown}; the pool's outputs are ${outputs.join(', ')}`,
  );
}
