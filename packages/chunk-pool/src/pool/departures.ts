/**
 * How records leave: one route of a chunk is done (delivered, dropped, dead-lettered), a chunk
 * is dropped for some routes by a policy, and a chunk no route needs leaves the pool, or is
 * parked for outputs no longer configured. The verbs, one each:
 *
 * - {@link Departures.settleRoute}: one route is done with a chunk;
 * - {@link Departures.dropChunk}: a policy drops a chunk for some routes (counted, emitted);
 * - {@link Departures.dropForOutput}: one output alone gives a chunk up (counted, emitted);
 * - {@link Departures.removeFromPool}: phase → done; out of memory, budgets and storage;
 * - {@link Departures.park}: queued → parked, kept stored for unconfigured routes only.
 *
 * @module
 */
import type { Chunk } from '../chunk.js';
import type { RouteOutcome } from '../delivery-acks.js';
import type { DropReason } from '../events.js';
import { recountHolding } from '../output-quota.js';
import type { OutputState } from '../output-state.js';
import type { PoolCore } from './core.js';

export class Departures {
  readonly #pool: PoolCore;

  constructor(pool: PoolCore) {
    this.#pool = pool;
  }

  /**
   * `state` is done with `chunk`; the chunk leaves the pool once every route is done. Resolves
   * once storage recorded it; a failure to record it is reported (event and
   * `stats().storageErrors`), never rejected: the route is done in memory either way, and what it
   * may cost is a redelivery after a restart.
   */
  /**
   * `state` alone gives `chunk` up (`lease.drop(reason)`, or its own `'drop-oldest'`): counted,
   * emitted as `dropped`, and its route settled (see {@link settleRoute}: never rejects).
   */
  dropForOutput(
    state: OutputState,
    chunk: Chunk,
    reason: 'drop-oldest' | 'output-dropped',
    detail?: string,
  ): Promise<void> {
    state.countDropped(reason, chunk.recordCount, chunk.bytes);
    this.#pool.emit('dropped', {
      reason,
      tag: chunk.tag,
      chunk: chunk.info(),
      outputs: [state.name],
      records: chunk.recordCount,
      bytes: chunk.bytes,
      data: chunk.records,
      ...(detail === undefined ? {} : { detail }),
    });
    return this.settleRoute(state, chunk, 'dropped');
  }

  settleRoute(state: OutputState, chunk: Chunk, outcome: RouteOutcome): Promise<void> {
    const pool = this.#pool;
    pool.acks.routeSettled(chunk, state.name, outcome);
    chunk.pendingRoutes.delete(state.name);
    state.queue.delete(chunk);
    recountHolding(chunk, pool.quotaOf);
    if (chunk.pendingRoutes.size === 0 && chunk.unroutedRoutes.size === 0) {
      this.removeFromPool(chunk);
      return chunk.io; // The deletion's step; it never rejects.
    }
    const { storage } = pool.options;
    const marked = storage.persistent
      ? chunk
          .chain(() => storage.markRouteDone(chunk.id, state.name))
          .then(undefined, (error: unknown) =>
            pool.backgroundStorageError(chunk, error, `the done mark for ${state.name}`),
          )
      : Promise.resolve();
    if (chunk.pendingRoutes.size === 0) {
      this.park(chunk);
    } else if (
      chunk.leases === 0 &&
      chunk.up &&
      chunk.persisted &&
      chunk.charge !== pool.budget.input
    ) {
      // Memory brought up for this output goes back as soon as no lease holds it.
      pool.memory.moveDown(chunk);
    }
    pool.wakeWaiting();
    return marked;
  }

  /** Drops a chunk for `routes` (a `whenFull`, corruption or close drop), counted and emitted. */
  dropChunk(
    chunk: Chunk,
    reason: DropReason,
    routes: readonly string[],
    { keepStored = false } = {},
  ): void {
    const pool = this.#pool;
    for (const route of routes) {
      const state = pool.outputs.get(route);
      state?.countDropped(reason, chunk.recordCount, chunk.bytes);
      state?.queue.delete(chunk);
      chunk.pendingRoutes.delete(route);
      pool.acks.routeSettled(chunk, route, 'dropped');
    }
    recountHolding(chunk, pool.quotaOf);
    if (reason === 'drop-oldest') pool.droppedWhenFull.add(chunk.recordCount, chunk.bytes);
    if (chunk.unroutedRoutes.size > 0) {
      // Dropped whole (memory or storage pressure, damage): its unconfigured routes too.
      pool.unrouted.countDropped(chunk);
      chunk.unroutedRoutes.clear();
    }
    pool.emit('dropped', {
      reason,
      tag: chunk.tag,
      chunk: chunk.info(),
      outputs: routes,
      records: chunk.recordCount,
      bytes: chunk.bytes,
      data: chunk.records,
    });
    this.removeFromPool(chunk, { keepStored });
  }

  /**
   * Phase → done: a chunk no route needs any more leaves memory, the budgets and (unless
   * `keepStored`) storage. The deletion is the last step of `chunk.io`; a failed one is reported,
   * never rejected (see settleRoute). A chunk leaves once: a second call does nothing.
   */
  removeFromPool(chunk: Chunk, { keepStored = false } = {}): void {
    const pool = this.#pool;
    if (chunk.done) return;
    pool.memory.releaseCharge(chunk); // while it is still up: what it held is given back
    chunk.finish();
    pool.memory.notSpillable(chunk);
    pool.options.clock.clearTimeout(chunk.ageTimer);
    if (pool.openChunks.get(chunk.tag) === chunk) pool.openChunks.delete(chunk.tag);
    for (const state of pool.outputs.values()) state.queue.delete(chunk);
    recountHolding(chunk, pool.quotaOf);
    pool.storedBytes -= chunk.bytes;
    pool.chunks.delete(chunk);
    pool.acks.settled(chunk);
    pool.unrouted.forgetParked(chunk);
    const { storage } = pool.options;
    if (storage.persistent && !keepStored) {
      chunk
        .chain(() => storage.delete(chunk.id))
        .then(
          () => pool.persistence.clearStorageFull(),
          (error: unknown) => pool.backgroundStorageError(chunk, error, 'the deletion'),
        );
    }
    pool.wakeWaiting();
    pool.wakeDrainedIfEmpty();
  }

  /**
   * queued → parked: every configured route is done but some unconfigured ones remain. Out of
   * every queue and of the pending chunks (so never dropped for room), kept stored, down once no
   * lease holds it.
   */
  park(chunk: Chunk): void {
    const pool = this.#pool;
    chunk.park();
    for (const state of pool.outputs.values()) state.queue.delete(chunk);
    if (chunk.leases === 0 && chunk.up) pool.memory.moveDown(chunk);
    pool.chunks.delete(chunk);
    pool.acks.settled(chunk);
    pool.inputChunks.delete(chunk);
    pool.unrouted.keepParked(chunk);
    pool.wakeDrainedIfEmpty();
  }
}
