/**
 * Memory storage: the default. Chunks live only in the pool's memory budget and are lost with
 * the process; nothing goes down, nothing is recovered.
 *
 * @module
 */
import { ChunkPoolError } from '../errors.js';
import type { ChunkStorage, RecoveryScan } from './storage.js';

/**
 * Keeps chunks in memory only (the default storage). Dead letters are not kept anywhere: the
 * pool's `dead-letter` event carries the chunk's records, so hand them on from there.
 *
 * **When to use:** an agent that may lose its buffer on restart but must never deadlock or grow
 * past its memory budget.
 *
 * @example
 * ```ts
 * const pool = await ChunkPool.open({ outputs: ['otlp'], storage: memoryStorage() });
 * ```
 */
export function memoryStorage(): ChunkStorage {
  return {
    persistent: false,
    syncEachAppend: false,
    open: (): Promise<RecoveryScan> => Promise.resolve({ chunks: [], quarantined: 0 }),
    // The pool never writes chunks to a storage that is not persistent; these are no-ops.
    append: () => Promise.resolve(),
    seal: () => Promise.resolve(),
    sync: () => Promise.resolve(),
    markRouteDone: () => Promise.resolve(),
    reroute: () => Promise.resolve(),
    delete: () => Promise.resolve(),
    deadLetter: () => Promise.resolve(),
    quarantine: () => Promise.resolve(),
    read: (id) =>
      Promise.reject(
        new ChunkPoolError('CORRUPT_CHUNK', `memory storage holds no stored copy of chunk ${id}`),
      ),
    close: () => Promise.resolve(),
  };
}
