/**
 * Leases: a chunk handed to an output until it acks, drops or retries it, or the lease times
 * out; failed attempts wait a backoff, and past `maxAttempts` the chunk becomes a dead letter.
 *
 * @module
 */
import type { Chunk } from '../chunk.js';
import { ChunkLease, type Settlement } from '../lease.js';
import type { OutputState } from '../output-state.js';
import { backoffDelay } from '../retry-schedule.js';
import type { PoolCore } from './core.js';
import { closedError } from './pool-errors.js';

export class Leases {
  readonly #pool: PoolCore;

  constructor(pool: PoolCore) {
    this.#pool = pool;
  }

  /** A lease on `chunk` (up, queued for `state`) for `state`, timed by `leaseTimeout`. */
  lease(state: OutputState, chunk: Chunk): ChunkLease {
    const pool = this.#pool;
    state.queue.delete(chunk);
    chunk.leased();
    pool.memory.notSpillable(chunk);
    const attempt = (chunk.attempts.get(state.name) ?? 0) + 1;
    chunk.attempts.set(state.name, attempt);
    const view = { ...chunk.info(), records: chunk.records as Buffer[] };
    const lease: ChunkLease = new ChunkLease(state.name, view, attempt, (settlement) =>
      this.#settle(state, chunk, lease, settlement),
    );
    const timer = pool.options.clock.setTimeout(
      () => this.#expire(state, chunk, lease),
      pool.options.leaseTimeout,
    );
    state.leases.set(lease, { chunk, timer });
    return lease;
  }

  /** On close: no lease can be settled any more. */
  expireAll(state: OutputState): void {
    for (const [lease, { timer }] of state.leases) {
      this.#pool.options.clock.clearTimeout(timer);
      lease.expire();
    }
  }

  #endLease(state: OutputState, chunk: Chunk, lease: ChunkLease): void {
    const entry = state.leases.get(lease);
    if (entry !== undefined) this.#pool.options.clock.clearTimeout(entry.timer);
    state.leases.delete(lease);
    chunk.leaseEnded();
    this.#pool.memory.checkSpillable(chunk);
  }

  #settle(
    state: OutputState,
    chunk: Chunk,
    lease: ChunkLease,
    settlement: Settlement,
  ): Promise<void> {
    const pool = this.#pool;
    if (pool.closed) return Promise.reject(closedError());
    this.#endLease(state, chunk, lease);
    const now = pool.options.clock.now();
    switch (settlement.kind) {
      case 'ack': {
        state.delivered.add(chunk.recordCount, chunk.bytes);
        if (state.breaker.success()) pool.emit('breaker', { output: state.name, state: 'closed' });
        return pool.departures.settleRoute(state, chunk, 'delivered');
      }
      case 'drop': {
        return pool.departures.dropForOutput(state, chunk, 'output-dropped', settlement.reason);
      }
      case 'retry':
        return this.#failedAttempt(state, chunk, lease.attempt, now, settlement.delay);
    }
  }

  /** A lease not settled in time: a failed attempt, and the chunk is handed out again. */
  #expire(state: OutputState, chunk: Chunk, lease: ChunkLease): void {
    const pool = this.#pool;
    lease.expire();
    this.#endLease(state, chunk, lease);
    state.leaseTimeouts += 1;
    pool.emit('lease-expired', { output: state.name, chunk: chunk.info() });
    // Never rejects: a failed dead-letter write is reported by #deadLetter itself.
    this.#failedAttempt(state, chunk, lease.attempt, pool.options.clock.now(), undefined).then(
      undefined,
      (error: unknown) => pool.backgroundStorageError(chunk, error, 'a failed attempt'),
    );
  }

  /** Resolves once a dead letter (past `maxAttempts`) is written or its failure reported. */
  #failedAttempt(
    state: OutputState,
    chunk: Chunk,
    attempt: number,
    now: number,
    delay: number | undefined,
  ): Promise<void> {
    state.retries += 1;
    if (state.breaker.failure(now)) {
      this.#pool.emit('breaker', { output: state.name, state: 'open' });
    }
    if (attempt >= state.retry.maxAttempts) return this.#deadLetter(state, chunk);
    this.retryLater(state, chunk, now + (delay ?? backoffDelay(state.retry, attempt)));
    return Promise.resolve();
  }

  /** Back in `state`'s queue, handed out again at `notBefore`. */
  retryLater(state: OutputState, chunk: Chunk, notBefore: number): void {
    const pool = this.#pool;
    chunk.notBefore.set(state.name, notBefore);
    state.queue.delete(chunk);
    state.queue.add(chunk);
    // A chunk waiting for a retry does not pin memory when storage can hold it.
    if (chunk.leases === 0 && chunk.persisted && chunk.up) pool.memory.moveDown(chunk);
    pool.wakeWaiting();
  }

  /**
   * Past `maxAttempts`: the chunk goes to `state`'s dead letters. It counts as dead-lettered (and
   * the event fires) only once the dead letter is written; if that write fails, the failure is
   * reported and the chunk stays pending for `state`, tried again after a backoff (and written
   * as a dead letter again when that attempt fails too), so it is never orphaned.
   */
  #deadLetter(state: OutputState, chunk: Chunk): Promise<void> {
    const pool = this.#pool;
    const records = chunk.records ?? [];
    const reason = `failed ${chunk.attempts.get(state.name) ?? 0} attempts`;
    const { storage } = pool.options;
    const stored = storage.persistent
      ? chunk.chain(() => storage.deadLetter(chunk, state.name, reason, records))
      : Promise.resolve();
    return stored.then(
      () => {
        if (chunk.done || !chunk.pendingRoutes.has(state.name)) return undefined;
        state.deadLettered.add(chunk.recordCount, chunk.bytes);
        pool.emit('dead-letter', {
          output: state.name,
          chunk: chunk.info(),
          reason,
          data: records,
        });
        return pool.departures.settleRoute(state, chunk, 'dead-lettered');
      },
      (error: unknown) => {
        pool.backgroundStorageError(chunk, error, 'the dead letter');
        if (chunk.done || !chunk.pendingRoutes.has(state.name)) return;
        const { retry } = state;
        const wait = backoffDelay(retry, retry.maxAttempts);
        this.retryLater(state, chunk, pool.options.clock.now() + wait);
      },
    );
  }
}
