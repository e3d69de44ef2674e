/**
 * Chunks stored for outputs that are no longer configured: listed, rerouted to a configured
 * output, or dropped for such a route. A chunk with no configured route left is parked (see
 * chunk.ts) until one of those calls.
 *
 * @module
 */
import type { Chunk } from '../chunk.js';
import { ChunkPoolError } from '../errors.js';
import type { UnroutedChunk } from '../events.js';
import { recountHolding } from '../output-quota.js';
import type { ChunkPoolStats, Volume } from '../stats.js';
import type { PoolCore } from './core.js';
import { storageFailure, unknownOutput } from './pool-errors.js';

export class UnroutedChunks {
  readonly #pool: PoolCore;
  /** The parked chunks: their configured routes are all done, unconfigured ones still hold them. */
  readonly #parked = new Map<string, Chunk>();
  readonly #rerouted = { records: 0, bytes: 0 };
  readonly #dropped = { records: 0, bytes: 0 };

  constructor(pool: PoolCore) {
    this.#pool = pool;
  }

  /** See `ChunkPool.unrouted`. */
  list(): UnroutedChunk[] {
    const list: UnroutedChunk[] = [];
    for (const chunk of this.#withUnroutedRoutes()) {
      list.push({ ...chunk.info(), routes: [...chunk.unroutedRoutes] });
    }
    return list;
  }

  /** A parked chunk is kept here. */
  keepParked(chunk: Chunk): void {
    this.#parked.set(chunk.id, chunk);
  }

  /** A chunk left the pool. */
  forgetParked(chunk: Chunk): void {
    this.#parked.delete(chunk.id);
  }

  /** A chunk with unconfigured routes was dropped whole: counted for those routes. */
  countDropped(chunk: Chunk): void {
    this.#dropped.records += chunk.recordCount;
    this.#dropped.bytes += chunk.bytes;
  }

  /** See `ChunkPool.reroute`. */
  async reroute(from: string, to: string): Promise<Volume> {
    const pool = this.#pool;
    const target = pool.outputs.get(to);
    if (target === undefined) throw unknownOutput(to, pool.options.outputs);
    if (pool.outputs.has(from)) {
      throw new ChunkPoolError(
        'INVALID_OPTION',
        `reroute: ${JSON.stringify(from)} is a configured output`,
      );
    }
    const moved = { records: 0, bytes: 0 };
    const { storage } = pool.options;
    for (const chunk of this.#withUnroutedRoutes()) {
      if (!chunk.unroutedRoutes.has(from) || pool.closed) continue;
      const merges = chunk.routes.includes(to); // pending or done for `to` already
      await chunk
        .chain(() =>
          merges ? storage.markRouteDone(chunk.id, from) : storage.reroute(chunk.id, from, to),
        )
        .catch((error: unknown) => {
          throw storageFailure(error, `rerouting chunk ${chunk.id} failed`);
        });
      chunk.unroutedRoutes.delete(from);
      moved.records += chunk.recordCount;
      moved.bytes += chunk.bytes;
      if (!merges) chunk.pendingRoutes.add(to);
      this.#afterRouteGone(chunk);
      recountHolding(chunk, pool.quotaOf); // now against `to`'s limits
      if (!merges && !chunk.done) {
        target.queue.add(chunk);
        pool.delivery.serve(target);
      }
    }
    this.#rerouted.records += moved.records;
    this.#rerouted.bytes += moved.bytes;
    return moved;
  }

  /** See `ChunkPool.dropUnrouted`. */
  async dropUnrouted(route: string): Promise<Volume> {
    const pool = this.#pool;
    const dropped = { records: 0, bytes: 0 };
    const { storage } = pool.options;
    for (const chunk of this.#withUnroutedRoutes()) {
      if (!chunk.unroutedRoutes.has(route)) continue;
      await chunk
        .chain(() => storage.markRouteDone(chunk.id, route))
        .catch((error: unknown) => {
          throw storageFailure(error, `dropping chunk ${chunk.id} for ${route} failed`);
        });
      chunk.unroutedRoutes.delete(route);
      dropped.records += chunk.recordCount;
      dropped.bytes += chunk.bytes;
      this.countDropped(chunk);
      pool.emit('dropped', {
        reason: 'unrouted',
        tag: chunk.tag,
        chunk: chunk.info(),
        outputs: [route],
        records: chunk.recordCount,
        bytes: chunk.bytes,
        data: chunk.records,
      });
      this.#afterRouteGone(chunk);
    }
    return dropped;
  }

  stats(): ChunkPoolStats['unrouted'] {
    let chunks = 0;
    let records = 0;
    let bytes = 0;
    for (const chunk of this.#withUnroutedRoutes()) {
      chunks += 1;
      records += chunk.recordCount;
      bytes += chunk.bytes;
    }
    return {
      chunks,
      records,
      bytes,
      rerouted: { ...this.#rerouted },
      dropped: { ...this.#dropped },
    };
  }

  /** Chunks with routes that are no longer configured, parked or still pending elsewhere. */
  #withUnroutedRoutes(): Chunk[] {
    const chunks = [...this.#parked.values()];
    for (const chunk of this.#pool.chunks) if (chunk.unroutedRoutes.size > 0) chunks.push(chunk);
    return chunks;
  }

  /** After an unrouted route went: the chunk is pending again, still parked, or leaves the pool. */
  #afterRouteGone(chunk: Chunk): void {
    const pool = this.#pool;
    if (chunk.pendingRoutes.size > 0) {
      if (this.#parked.delete(chunk.id)) {
        chunk.enqueue(); // parked → queued: pending again
        pool.chunks.add(chunk);
      }
    } else if (chunk.unroutedRoutes.size === 0) {
      pool.departures.removeFromPool(chunk);
    }
  }
}
