/**
 * The storage seam: where sealed chunks live when they are not in memory. The pool owns memory
 * budgets, routing and leases; a storage only keeps bytes, so a custom one (a network volume, an
 * embedded database) needs only the methods below, and `@holdfast/chunk-pool/testing` checks
 * that it keeps the pool's invariants.
 *
 * @module
 */
import type { DeadLetter, DeadLetterSelection } from '../dead-letters.js';

/** What identifies a chunk in storage. `id` is `[A-Za-z0-9_-]+`, safe as a file name. */
export interface ChunkHeader {
  readonly id: string;
  /** The tag the records were appended under (any string; storages must not trust it as a path). */
  readonly tag: string;
  /** Wall-clock time (ms since the epoch) when the chunk was opened: a later run orders by it. */
  readonly createdAt: number;
  /** The outputs this chunk is routed to. */
  readonly routes: readonly string[];
}

/** A chunk a previous run left in storage, found by {@link ChunkStorage.open}. */
export interface RecoveredChunk extends ChunkHeader {
  readonly recordCount: number;
  /** Payload bytes (the sum of the records' lengths). */
  readonly bytes: number;
  /** Routes already acked or dropped before the restart; the chunk is not delivered to them. */
  readonly doneRoutes: readonly string[];
  /**
   * The records, when the storage read them anyway while recovering (the pool keeps them up if
   * its recovery budget allows, and otherwise lets them go).
   */
  readonly records?: readonly Buffer[];
}

/** What the pool asks of {@link ChunkStorage.open}. */
export interface RecoveryOptions {
  /**
   * Read the records of the oldest recovered chunks, up to this many bytes in all, and return
   * them with the chunks (the pool's `recoveryBytesUp`). A storage may return fewer.
   */
  readonly recordBytes?: number;
}

/** What {@link ChunkStorage.open} found. */
export interface RecoveryScan {
  readonly chunks: readonly RecoveredChunk[];
  /** Damaged chunks moved to quarantine while scanning (their readable records are in `chunks`). */
  readonly quarantined: number;
  /** What damage cost: records (where the damaged bytes still tell) and bytes no chunk could keep. */
  readonly lost?: { readonly records: number; readonly bytes: number };
}

/**
 * A place for chunks. Methods for one chunk id are never called concurrently by the pool (it
 * serialises them), but calls for different ids may overlap.
 *
 * **When to use:** implement it to put the pool's backlog somewhere other than a local folder;
 * pass the factory to `checkChunkStorage` from `@holdfast/chunk-pool/testing` in your CI.
 *
 * @example
 * ```ts
 * const pool = await ChunkPool.open({ outputs: ['otlp'], storage: fileStorage({ dir: '/var/lib/agent/buffer' }) });
 * ```
 */
export interface ChunkStorage {
  /**
   * `true` when chunks stay in storage after they leave memory: the pool then lets chunks go
   * *down* (waiting retries, spill under memory pressure) and recovers them after a restart.
   * `false` (memory storage): every chunk stays up until it is done.
   */
  readonly persistent: boolean;
  /**
   * `true` when every {@link append} must be durable before it resolves (`fsync: 'always'`): the
   * pool then writes each append as it happens instead of once per chunk at seal time.
   */
  readonly syncEachAppend: boolean;
  /** Prepares the storage and lists what a previous run left (damaged chunks quarantined). */
  open(options?: RecoveryOptions): Promise<RecoveryScan>;
  /** Appends records to the chunk, creating it on the first call. */
  append(header: ChunkHeader, records: readonly Buffer[]): Promise<void>;
  /** No more records will come for this chunk: make it durable per the storage's policy. */
  seal(id: string): Promise<void>;
  /** Makes every chunk sealed so far durable; `pool.flush()` and `pool.close()` call it. */
  sync(): Promise<void>;
  /** Reads a sealed chunk's records back; rejects with a `CORRUPT_CHUNK` error if damaged. */
  read(id: string): Promise<Buffer[]>;
  /** Records that `output` is done with the chunk, so a restart does not deliver it there again. */
  markRouteDone(id: string, output: string): Promise<void>;
  /**
   * Records that the chunk's route `from` (an output no longer configured) now goes to `to`, so a
   * restart delivers it to `to` (once, if `to` is already one of its routes).
   */
  reroute(id: string, from: string, to: string): Promise<void>;
  /** Removes the chunk: every route is done. */
  delete(id: string): Promise<void>;
  /** Keeps a copy of the chunk's records as a dead letter of `output`, for an operator to inspect. */
  deadLetter(
    header: ChunkHeader,
    output: string,
    reason: string,
    records: readonly Buffer[],
  ): Promise<void>;
  /**
   * The dead letters it keeps, oldest first (file storage: `rejected/<output>/`), for a running
   * pool's `deadLetters()`. Optional: a storage without it keeps none (memory storage drops them).
   */
  deadLetters?(selection: DeadLetterSelection): Promise<DeadLetter[]>;
  /**
   * Makes one dead letter a stored chunk again, for `into` (its route when absent), in one atomic
   * step (a crash leaves it a dead letter or a stored chunk, never both), and returns it as a
   * recovered chunk for the running pool to take over. Optional, with `deadLetters`.
   */
  reviveDeadLetter?(output: string, id: string, into: string | undefined): Promise<RecoveredChunk>;
  /** Deletes one dead letter; resolves with what it was. Optional, with `deadLetters`. */
  dropDeadLetter?(output: string, id: string): Promise<DeadLetter>;
  /** Moves a chunk that failed to read aside, so it is never read again. */
  quarantine(id: string, reason: string): Promise<void>;
  /** Releases files and handles; the pool calls it once, last. */
  close(): Promise<void>;
}
