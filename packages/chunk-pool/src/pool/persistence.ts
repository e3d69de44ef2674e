/**
 * Persistence: sealing a chunk and writing it to storage (at seal time, or each append with
 * `fsync: 'always'`), handing it to its routes' queues, `flush()`, and a full disk.
 *
 * @module
 */
import type { Chunk } from '../chunk.js';
import { ChunkPoolError, isChunkPoolError } from '../errors.js';
import { overMemoryQuota } from '../output-policy.js';
import { recountHolding } from '../output-quota.js';
import type { OutputState } from '../output-state.js';
import { memoryCost } from '../record-cost.js';
import type { PoolCore } from './core.js';
import { storageFailure } from './pool-errors.js';

export class Persistence {
  readonly #pool: PoolCore;
  /**
   * Seal-time writes to storage still running. While one is, a blocked append does not seal the
   * open chunks: that write, once done, lets a chunk go down, which makes room (see whenFull).
   */
  sealWrites = 0;
  /** Set when storage reported a full disk; cleared by a deletion or after `chunkAge`. */
  storageFull: ChunkPoolError | undefined;
  #storageFullTimer: unknown;

  constructor(pool: PoolCore) {
    this.#pool = pool;
  }

  sealOpenChunks(): void {
    for (const chunk of [...this.#pool.openChunks.values()]) this.seal(chunk);
  }

  /**
   * open → sealing, and the chunk's write to storage starts; it is queued for its routes at once,
   * or with `fsync: 'always'` once every append is on disk.
   */
  seal(chunk: Chunk): void {
    if (chunk.sealed) return;
    const pool = this.#pool;
    chunk.seal();
    pool.placement.sized(chunk.recordCount);
    pool.options.clock.clearTimeout(chunk.ageTimer);
    if (pool.openChunks.get(chunk.tag) === chunk) pool.openChunks.delete(chunk.tag);
    const { storage } = pool.options;
    if (!storage.persistent) {
      this.#handToRoutes(chunk);
      return;
    }
    if (storage.syncEachAppend) {
      // Queued only once every append is on disk, so no output sees a record whose append failed.
      this.sealWrites += 1;
      chunk
        .chain(() => storage.seal(chunk.id))
        .then(
          () => {
            this.#stored(chunk);
            this.#handToRoutes(chunk);
            this.#sealWriteEnded();
          },
          (error: unknown) => {
            this.storageError(chunk, error);
            this.#handToRoutes(chunk);
            this.#sealWriteEnded();
          },
        );
      return;
    }
    this.#handToRoutes(chunk);
    const records = chunk.records as Buffer[];
    this.sealWrites += 1;
    chunk
      .chain(async () => {
        if (chunk.done) return;
        await storage.append(chunk, records);
        await storage.seal(chunk.id);
      })
      .then(
        () => {
          this.#stored(chunk);
          this.#sealWriteEnded();
        },
        // The chunk stays up and is delivered from memory; `flush()` reports that it is not durable.
        (error: unknown) => {
          this.storageError(chunk, error);
          this.#sealWriteEnded();
        },
      );
  }

  /**
   * A seal-time write ended: when it was the last one and appends still wait, nothing under way
   * will make room for them, so the open chunks are sealed (the liveness whenFull relies on).
   */
  #sealWriteEnded(): void {
    this.sealWrites -= 1;
    if (this.sealWrites === 0 && this.#pool.appendWaiters.size > 0) this.sealOpenChunks();
  }

  /** sealing → queued: the chunk goes to the queues of its routes (an empty one leaves). */
  #handToRoutes(chunk: Chunk): void {
    const pool = this.#pool;
    if (chunk.done) return;
    if (chunk.recordCount === 0) {
      pool.departures.removeFromPool(chunk);
      return;
    }
    chunk.enqueue();
    pool.emit('sealed', chunk.info());
    if (chunk.refusedBy.length > 0) {
      // Its records were counted as dropped for these outputs as they were placed.
      pool.emit('dropped', {
        reason: 'drop-newest',
        tag: chunk.tag,
        chunk: chunk.info(),
        outputs: chunk.refusedBy.map((quota) => quota.output),
        records: chunk.recordCount,
        bytes: chunk.bytes,
        data: chunk.records,
      });
    }
    for (const route of chunk.pendingRoutes) {
      const state = pool.outputs.get(route) as OutputState;
      state.queue.add(chunk);
      pool.delivery.serve(state);
    }
    // Under 'drop-oldest' an append may be waiting for a chunk it is allowed to drop: this one.
    if (pool.options.whenFull === 'drop-oldest') pool.appendWaiters.admit();
  }

  /** stored none → complete: the chunk may go down now. */
  #stored(chunk: Chunk): void {
    const pool = this.#pool;
    // A chunk one of whose writes failed stays failed (delivered from memory): see chunk.ts.
    if (chunk.done || chunk.stored !== 'none') return;
    chunk.markStored();
    pool.memory.checkSpillable(chunk);
    // An output's memory limit, with persistent storage: its chunks past it go down once written.
    if (pool.limited && overMemoryQuota(chunk) && pool.memory.spillable(chunk)) {
      pool.memory.moveDown(chunk);
    }
    // Memory this chunk holds can now be released by moving it down.
    pool.wakeWaiting();
  }

  /** stored → failed: reports a failed write; the chunk stays up, delivered from memory. */
  storageError(chunk: Chunk, error: unknown): ChunkPoolError {
    const poolError = storageFailure(error, `storage failed on chunk ${chunk.id}`);
    chunk.markStoreFailed(poolError);
    if (poolError.code === 'STORAGE_FULL') this.#markStorageFull(poolError);
    this.#pool.emit('storage-error', { chunk: chunk.info(), error: poolError });
    return poolError;
  }

  /** New appends are refused until storage frees space or `chunkAge` passes. */
  #markStorageFull(error: ChunkPoolError): void {
    this.storageFull = error;
    const { clock, chunkAge } = this.#pool.options;
    clock.clearTimeout(this.#storageFullTimer);
    this.#storageFullTimer = clock.setTimeout(() => {
      this.storageFull = undefined;
    }, chunkAge);
    this.#pool.appendWaiters.admit();
  }

  /** A deletion freed space: appends are taken again. */
  clearStorageFull(): void {
    if (this.storageFull === undefined) return;
    this.storageFull = undefined;
    this.#pool.options.clock.clearTimeout(this.#storageFullTimer);
  }

  /** On close. */
  stopTimers(): void {
    this.#pool.options.clock.clearTimeout(this.#storageFullTimer);
  }

  /**
   * `fsync: 'always'`: writes the records appended since the last write, as one frame, after the
   * chunk's earlier writes. Every append in the group resolves when that write is durable; if it
   * fails, they reject and their records leave the chunk (they were never accepted).
   */
  writeThrough(chunk: Chunk): Promise<void> {
    return chunk.writeGroup(this.#appendGroup);
  }

  /** Writes one group of `fsync: 'always'` appends; on failure takes them back and rejects. */
  readonly #appendGroup = async (chunk: Chunk, batch: Buffer[], start: number): Promise<void> => {
    try {
      await this.#pool.options.storage.append(chunk, batch);
    } catch (error) {
      this.#unaccept(chunk, start, batch.length);
      throw this.storageError(chunk, error);
    }
  };

  /** Takes back records whose durable write failed (their appends reject). */
  #unaccept(chunk: Chunk, start: number, count: number): void {
    const pool = this.#pool;
    const removed = chunk.removeRecords(start, count);
    let bytes = 0;
    for (const record of removed) bytes += record.length;
    chunk.charge?.release(memoryCost(bytes, removed.length));
    recountHolding(chunk, pool.quotaOf);
    pool.admission.countRefused(chunk.refusedBy, -removed.length, -bytes); // never accepted
    pool.storedBytes -= bytes;
    pool.accepted.add(-removed.length, -bytes);
    pool.acks.unaccepted(removed.length); // their numbers are not reused
  }

  /** See `ChunkPool.flush`. */
  async flush(): Promise<void> {
    const pool = this.#pool;
    this.sealOpenChunks();
    const { storage } = pool.options;
    const chunks = [...pool.chunks];
    await Promise.all(chunks.map((chunk) => chunk.io));
    try {
      await storage.sync();
    } catch (error) {
      throw storageFailure(error, 'making the stored chunks durable failed');
    }
    if (!storage.persistent) return;
    const failed = chunks.find((chunk) => !chunk.done && chunk.stored === 'failed');
    if (failed !== undefined) {
      throw new ChunkPoolError(
        isChunkPoolError(failed.storageError, 'STORAGE_FULL') ? 'STORAGE_FULL' : 'STORAGE_ERROR',
        `chunk ${failed.id} could not be made durable; it stays in memory until delivered`,
        { cause: failed.storageError },
      );
    }
  }
}
