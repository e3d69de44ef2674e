/**
 * Placing records: checking a record before any budget is looked at, and putting an admitted one
 * into its tag's open chunk (opening one when needed), where it counts as accepted.
 *
 * @module
 */
import { wallClock } from '@holdfast/internal';
import { Chunk } from '../chunk.js';
import { ChunkPoolError } from '../errors.js';
import { recountHolding, sameQuotas } from '../output-quota.js';
import { encodeRecord, type PoolRecord } from '../record.js';
import { memoryCost, RECORD_OVERHEAD_BYTES } from '../record-cost.js';
import type { AppendOutcome } from './append-waiters.js';
import type { PoolCore } from './core.js';
import { closedError } from './pool-errors.js';

const ACCEPTED: Promise<AppendOutcome> = Promise.resolve('accepted');
// A larger `new Array(n)` may get slow (dictionary) elements in V8.
const MAX_RECORD_SLOTS = 16_384;

export class Placement {
  readonly #pool: PoolCore;
  /**
   * Slots to allocate for a new chunk's records: as many as the last sealed chunk held (capped).
   * Filling a pre-sized array instead of growing one by `push` saves about a quarter of the cost
   * of an append on the hot path.
   */
  #recordSlots = 16;

  constructor(pool: PoolCore) {
    this.#pool = pool;
  }

  /** The record's bytes, or the error that refuses it before any budget is looked at. */
  acceptable(tag: string, record: PoolRecord): Buffer {
    const pool = this.#pool;
    if (pool.closed) throw closedError();
    if (typeof tag !== 'string') {
      throw new ChunkPoolError('INVALID_RECORD', `tag must be a string, got ${typeof tag}`);
    }
    const bytes = encodeRecord(record);
    const { chunkBytes } = pool.options;
    if (memoryCost(bytes.length, 1) > chunkBytes) {
      throw new ChunkPoolError(
        'RECORD_TOO_LARGE',
        `record of ${bytes.length} bytes is larger than chunkBytes (${chunkBytes}) ` +
          `less the ${RECORD_OVERHEAD_BYTES} bytes a record costs in memory beyond its payload`,
      );
    }
    const { storageFull } = pool.persistence;
    if (storageFull !== undefined) throw storageFull;
    return bytes;
  }

  /** Places an admitted record; rejects (and returns the charge) when `route()` fails. */
  accept(tag: string, record: Buffer): Promise<AppendOutcome> {
    let chunk: Chunk;
    try {
      chunk = this.place(tag, record);
    } catch (error) {
      return Promise.reject(error as Error);
    }
    const { persistence } = this.#pool;
    const written = this.#pool.writesEachAppend ? persistence.writeThrough(chunk) : undefined;
    this.sealIfFull(chunk);
    return written === undefined ? ACCEPTED : written.then(() => 'accepted' as const);
  }

  sealIfFull(chunk: Chunk): void {
    if (chunk.memoryBytes >= this.#pool.options.chunkBytes) this.#pool.persistence.seal(chunk);
  }

  /** A chunk of this many records was sealed: the next one gets as many slots (capped). */
  sized(recordCount: number): void {
    this.#recordSlots = Math.min(MAX_RECORD_SLOTS, Math.max(16, recordCount));
  }

  /**
   * Puts an admitted record (its cost already charged) into its tag's open chunk, opening one if
   * needed. Throws a `ChunkPoolError` (and returns the charge) when `route()` fails, before the
   * record counts as accepted.
   */
  place(tag: string, record: Buffer): Chunk {
    const pool = this.#pool;
    const { chunkBytes } = pool.options;
    let chunk = pool.openChunks.get(tag);
    if (
      chunk !== undefined &&
      (chunk.memoryBytes + memoryCost(record.length, 1) > chunkBytes ||
        (pool.limited && !sameQuotas(chunk.refusedBy, pool.admission.refusing)))
    ) {
      // Full, or it leaves out other outputs than this record must: a new chunk.
      pool.persistence.seal(chunk);
      chunk = undefined;
    }
    if (chunk === undefined) {
      try {
        chunk = this.#openChunk(tag);
      } catch (error) {
        pool.budget.input.release(memoryCost(record.length, 1));
        throw error;
      }
    }
    // Slots past `recordCount` are spare capacity (see #recordSlots); sealing trims them.
    chunk.addRecord(record);
    if (pool.limited) {
      chunk.held.addRecord(memoryCost(record.length, 1), record.length);
      if (chunk.refusedBy.length > 0) {
        pool.admission.countRefused(chunk.refusedBy, 1, record.length);
      }
    }
    pool.storedBytes += record.length;
    pool.accepted.add(1, record.length);
    return chunk;
  }

  #openChunk(tag: string): Chunk {
    const pool = this.#pool;
    const all = pool.routesFor(tag);
    // The full 'drop-newest' outputs are left out of the chunk (and of what it stores).
    const refused = pool.admission.refusing.filter((quota) => all.includes(quota.output));
    const routes = all.filter((route) => !refused.some((quota) => quota.output === route));
    const { clock } = pool.options;
    // Wall-clock time, not the pool's monotonic clock: it is stored, and a later run orders
    // recovered chunks by it (a monotonic reading means nothing in another process).
    const id = pool.newChunkId();
    const chunk = new Chunk(id, tag, wallClock.now(), routes, {
      slots: this.#recordSlots,
      ...(refused.length > 0 ? { refusedBy: refused } : {}),
    });
    chunk.chargeTo(pool.budget.input);
    pool.budget.input.addChunk();
    pool.inputChunks.add(chunk);
    pool.acks.opened(chunk);
    // Its records never go to the full 'drop-newest' outputs: dropped there, for the acks.
    for (const quota of refused) pool.acks.routeSettled(chunk, quota.output, 'dropped');
    chunk.setAgeTimer(clock.setTimeout(() => pool.persistence.seal(chunk), pool.options.chunkAge));
    pool.chunks.add(chunk);
    pool.openChunks.set(tag, chunk);
    recountHolding(chunk, pool.quotaOf);
    return chunk;
  }
}
