/**
 * Delivery: handing queued chunks to the outputs' waiting takers, through their breakers and
 * retry delays, and bringing chunks that are down back up inside the output's own reserve (the
 * reservation rule). What happens to a lease once handed out is {@link Leases}'s.
 *
 * @module
 */
import type { Account } from '../budget.js';
import type { Chunk } from '../chunk.js';
import { describeThrown } from '../describe-value.js';
import { isChunkPoolError } from '../errors.js';
import type { ChunkLease } from '../lease.js';
import { recountHolding } from '../output-quota.js';
import type { OutputState } from '../output-state.js';
import { backoffDelay } from '../retry-schedule.js';
import type { PoolCore } from './core.js';

export class Delivery {
  readonly #pool: PoolCore;

  constructor(pool: PoolCore) {
    this.#pool = pool;
  }

  /** A lease on the next chunk for `state` (see `ChunkPool.take`). */
  take(state: OutputState, signal: AbortSignal | undefined): Promise<ChunkLease> {
    const taken = state.takers.wait(signal);
    if (signal?.aborted !== true) this.serve(state);
    return taken;
  }

  /** Hands chunks to `state`'s waiting takers while there are chunks it may have. */
  serve(state: OutputState): void {
    const { clock } = this.#pool.options;
    while (state.takers.size > 0) {
      const now = clock.now();
      const breaker = state.breaker.state(now);
      if (breaker === 'open') {
        this.#wakeAt(state, state.breaker.openUntil);
        return;
      }
      // Half-open: one probe at a time.
      if (breaker === 'half-open' && state.leases.size > 0) return;
      const chunk = this.#nextChunkFor(state, now);
      if (chunk === undefined) return;
      state.takers.wakeOne(this.#pool.leases.lease(state, chunk));
    }
  }

  /**
   * The first chunk in `state`'s queue that is up and not waiting for a retry. Down chunks on the
   * way are brought up inside the output's own reserve (one per waiting taker), never inside the
   * inputs' share: that is the reservation rule.
   */
  #nextChunkFor(state: OutputState, now: number): Chunk | undefined {
    let earliest = Number.POSITIVE_INFINITY;
    for (const chunk of state.queue) {
      const notBefore = chunk.notBefore.get(state.name) ?? 0;
      if (notBefore > now) {
        earliest = Math.min(earliest, notBefore);
        continue;
      }
      if (chunk.up) return chunk;
      if (chunk.loading || state.loading >= state.takers.size) continue;
      const reserve = this.#pool.budget.reserve(state.name);
      if (reserve.tryCharge(chunk.memoryBytes)) this.#bringUp(chunk, reserve, state);
    }
    if (earliest !== Number.POSITIVE_INFINITY) this.#wakeAt(state, earliest);
    return undefined;
  }

  /** down → loading → up (or back down): reads a chunk back, charged to `account`. */
  #bringUp(chunk: Chunk, account: Account, state: OutputState): void {
    const pool = this.#pool;
    chunk.startLoading();
    state.loading += 1;
    account.addChunk();
    const loaded = (): void => {
      state.loading -= 1;
      pool.wakeWaiting();
    };
    let read: Buffer[] = [];
    chunk
      .chain(() =>
        pool.options.storage.read(chunk.id).then((records) => {
          read = records;
        }),
      )
      .then(
        () => {
          chunk.loaded(read);
          chunk.chargeTo(account);
          recountHolding(chunk, pool.quotaOf);
          // Left the pool while it was read: the memory goes back at once.
          if (chunk.done) pool.memory.moveDown(chunk);
          loaded();
        },
        (error: unknown) => {
          chunk.loadFailed();
          account.release(chunk.memoryBytes);
          account.removeChunk();
          if (chunk.done) {
            // Nothing left to deliver.
          } else if (isChunkPoolError(error, 'CORRUPT_CHUNK')) {
            this.#quarantine(chunk, error);
          } else {
            // A read that failed for another reason (EIO, EMFILE) says nothing about the data:
            // reported, and tried again after a backoff rather than dropped.
            pool.backgroundStorageError(chunk, error, 'reading back');
            const wait = backoffDelay(state.retry, 1);
            pool.leases.retryLater(state, chunk, pool.options.clock.now() + wait);
          }
          loaded();
        },
      );
  }

  /** A chunk that failed to read: counted, dropped as corrupt, moved aside in storage. */
  #quarantine(chunk: Chunk, error: unknown): void {
    const pool = this.#pool;
    const reason = describeThrown(error);
    pool.quarantined += 1;
    pool.emit('quarantined', { chunkId: chunk.id, reason });
    pool.departures.dropChunk(chunk, 'corrupt', [...chunk.pendingRoutes], { keepStored: true });
    chunk
      .chain(() => pool.options.storage.quarantine(chunk.id, reason))
      .then(undefined, (failure: unknown) =>
        pool.backgroundStorageError(chunk, failure, 'the quarantine copy'),
      );
  }

  /** Serves `state` again at clock time `at` (a retry delay or the breaker's cooldown ends). */
  #wakeAt(state: OutputState, at: number): void {
    const { clock } = this.#pool.options;
    if (state.wakeAt <= at && state.wakeAt > clock.now()) return;
    clock.clearTimeout(state.wakeTimer);
    state.wakeAt = at;
    state.wakeTimer = clock.setTimeout(
      () => {
        state.wakeAt = Number.POSITIVE_INFINITY;
        this.serve(state);
      },
      Math.max(0, at - clock.now()),
    );
  }
}
