/**
 * The chunk pool: inputs append records into chunks, outputs lease sealed chunks, and a memory
 * budget split into accounts (see `budget.ts`) keeps inputs from taking what outputs need to make
 * progress.
 *
 * This file is the public class alone: each call checks its arguments and delegates to the
 * pool's parts in `pool/` (see `pool/core.ts` for the map). Over 300 lines for its API
 * documentation (every public method's, with examples), not for code.
 *
 * @module
 */
import { EventEmitter } from 'node:events';
import { callOptions, signalOption } from '@holdfast/internal';
import type { Writable } from 'node:stream';
import { isChunkPoolError } from './errors.js';
import type { ChunkPoolEvents, UnroutedChunk } from './events.js';
import type { ChunkLease } from './lease.js';
import { resolveOptions, type ChunkPoolOptions, type ResolvedOptions } from './options.js';
import type { PoolRecord } from './record.js';
import type { ChunkPoolStats, Volume } from './stats.js';
import type {
  DeadLetter,
  DeadLetterSelection,
  DeadLetterTotals,
  ReplayOptions,
} from './dead-letters.js';
import { poolWritable } from './writable.js';
import type { AppendOutcome } from './pool/append-waiters.js';
import { PoolCore } from './pool/core.js';
import { closedError, storageFailure, unknownOutput } from './pool/pool-errors.js';
import { poolStats } from './pool/pool-stats.js';

export type { AppendOutcome } from './pool/append-waiters.js';

/** Options of one `append`, `take` or `consume` call. */
export interface CallOptions {
  /** Gives up waiting (for room, or for a chunk); the call rejects with an `ABORTED` error. */
  readonly signal?: AbortSignal;
}

/**
 * A quota-reserving chunk pool between an agent's inputs and its outputs.
 *
 * It cannot deadlock the way Fluent Bit did: inputs may hold at most
 * `maxBytesUp − outputs × reservePerOutput` bytes in memory, each output brings stored chunks
 * back up only inside its own reserve, and a chunk waiting for a retry leaves memory (file
 * storage). So whenever an output can deliver, it can obtain a chunk.
 *
 * **When to use:** between the inputs that read logs or metrics and the outputs that ship them,
 * so that a slow or dead output neither grows memory without bound nor stops the others.
 *
 * @example
 * ```ts
 * const pool = await ChunkPool.open({ outputs: ['otlp', 'archive'], maxBytesUp: 64 << 20 });
 * await pool.append('app', line); // waits when the inputs' share is full
 * for await (const lease of pool.consume('otlp')) {
 *   (await send(lease.chunk.records)) ? await lease.ack() : await lease.retry();
 * }
 * ```
 */
export class ChunkPool extends EventEmitter<ChunkPoolEvents> implements AsyncDisposable {
  readonly #pool: PoolCore;
  #closing: Promise<void> | undefined;

  /**
   * Opens a pool: checks the options, opens the storage and takes over the backlog a previous run
   * left there (up to `recoveryBytesUp` in memory, the rest down).
   *
   * @throws {TypeError} naming a bad option (the promise rejects); {@link ChunkPoolError}
   * `INVALID_OPTION` for a stored record no reserve can hold.
   */
  static async open(options: ChunkPoolOptions): Promise<ChunkPool> {
    const pool = new ChunkPool(resolveOptions(options));
    try {
      await pool.#pool.recovery.recover();
    } catch (error) {
      // The storage is not left open (nor its folder locked) by a pool nobody got.
      await pool.#pool.options.storage.close().catch(() => undefined); // `error` says what happened.
      throw error;
    }
    return pool;
  }

  private constructor(options: ResolvedOptions) {
    super();
    this.#pool = new PoolCore(options, this);
  }

  /**
   * Appends one record under `tag`. Resolves `'accepted'` once the pool holds it (with
   * `fsync: 'always'`, once it is on disk), or `'dropped'` under `whenFull: 'drop-newest'`. With
   * `whenFull: 'block'` the promise waits while the inputs' share is full: that is the
   * backpressure.
   *
   * @throws {ChunkPoolError} `RECORD_TOO_LARGE`, `INVALID_RECORD`, `STORAGE_FULL`,
   *   `POOL_CLOSED`, `ABORTED`.
   */
  append(tag: string, record: PoolRecord, options?: CallOptions): Promise<AppendOutcome> {
    const pool = this.#pool;
    let bytes: Buffer;
    let signal: AbortSignal | undefined;
    try {
      // No options (the hot path): nothing to check.
      if (options !== undefined) signal = callSignal(options, 'append(tag, record, options)');
      bytes = pool.placement.acceptable(tag, record);
    } catch (error) {
      return Promise.reject(error as Error);
    }
    if (pool.appendWaiters.size === 0 && pool.admission.admit(tag, bytes.length)) {
      return pool.placement.accept(tag, bytes);
    }
    return pool.appendWaiters.whenFull(tag, bytes, signal);
  }

  /**
   * Appends one record if it fits right now, without waiting: `true` when accepted, `false` when
   * the caller has to wait (then `await pool.append(...)` the same record), like
   * `stream.write()`. Saves a promise per record on hot input paths. Always `false` with
   * `fsync: 'always'`, whose appends are accepted only once on disk.
   *
   * @throws {ChunkPoolError} `RECORD_TOO_LARGE`, `INVALID_RECORD`, `STORAGE_FULL`, `POOL_CLOSED`.
   */
  tryAppend(tag: string, record: PoolRecord): boolean {
    const { placement, appendWaiters, admission, writesEachAppend } = this.#pool;
    const bytes = placement.acceptable(tag, record);
    if (writesEachAppend) return false;
    if (appendWaiters.size > 0 || !admission.admit(tag, bytes.length)) return false;
    // Never `fsync: 'always'` here, so nothing is left to wait for once the record is placed.
    placement.sealIfFull(placement.place(tag, bytes));
    return true;
  }

  /**
   * A `Writable` (object mode) that appends each written string or buffer under `tag`; its
   * `write()` callback waits for the pool's backpressure, so `pipeline()` slows the source down.
   */
  writable(tag: string): Writable {
    return poolWritable(this, tag);
  }

  /**
   * Seals every open chunk and makes accepted data durable per the storage's fsync policy
   * (a no-op for memory storage beyond sealing). Resolves when that is done.
   */
  flush(): Promise<void> {
    return this.#pool.persistence.flush();
  }

  /**
   * A lease on the next chunk for `output`: waits until one is sealed, its retry delay has passed
   * and the output's breaker lets it through.
   *
   * @throws {ChunkPoolError} `UNKNOWN_OUTPUT`, `POOL_CLOSED`, `ABORTED`.
   */
  take(output: string, options?: CallOptions): Promise<ChunkLease> {
    const pool = this.#pool;
    let signal: AbortSignal | undefined;
    try {
      signal = callSignal(options, 'take(output, options)');
    } catch (error) {
      return Promise.reject(error as Error);
    }
    const state = pool.outputs.get(output);
    if (state === undefined) return Promise.reject(unknownOutput(output, pool.options.outputs));
    if (pool.closed) return Promise.reject(closedError());
    return pool.delivery.take(state, signal);
  }

  /**
   * Leases for `output`, one after another, as an async iterable. Ends (without throwing) when
   * `signal` aborts or the pool closes. Settle each lease before the loop asks for the next one,
   * or run several loops for concurrency.
   */
  async *consume(output: string, options?: CallOptions): AsyncGenerator<ChunkLease> {
    // Checked at the first `next()`, which rejects (a generator's body starts there).
    const signal = callSignal(options, 'consume(output, options)');
    for (;;) {
      try {
        yield await this.take(output, signal === undefined ? undefined : { signal });
      } catch (error) {
        if (isChunkPoolError(error, 'ABORTED') || isChunkPoolError(error, 'POOL_CLOSED')) return;
        throw error;
      }
    }
  }

  /**
   * Resolves when every accepted record is done (delivered, dropped or dead-lettered) on every
   * route; seals open chunks first. Use before `close()` for a graceful shutdown.
   */
  drain(options?: CallOptions): Promise<void> {
    const pool = this.#pool;
    let signal: AbortSignal | undefined;
    try {
      signal = callSignal(options, 'drain(options)');
    } catch (error) {
      return Promise.reject(error as Error);
    }
    pool.persistence.sealOpenChunks();
    if (pool.chunks.size === 0) return Promise.resolve();
    return pool.drainWaiters.wait(signal);
  }

  /**
   * The sequence number the next accepted record gets. The pool numbers the records of one run
   * 0, 1, 2, ...: first those recovered at open, then every accepted append, whatever its tag.
   * Read it after appending to name "everything appended so far" for {@link whenSettled}.
   */
  nextSequence(): number {
    return this.#pool.acks.nextSequence();
  }

  /**
   * `tag`'s delivery watermark: every record of `tag` numbered below it (see
   * {@link nextSequence}) is settled on every route: delivered, dropped by a policy,
   * dead-lettered, or kept for an output no longer configured. Only grows.
   */
  settledBelow(tag: string): number {
    return this.#pool.acks.settledBelow(tag);
  }

  /**
   * Resolves with `tag`'s watermark once every record of `tag` numbered below `below` (default:
   * every record accepted so far) is settled on every route, so an input may checkpoint what it
   * read before `below`: at-least-once delivery, with or without disk. The `settled` event says
   * how each chunk ended on each route. Rejects with `POOL_CLOSED` when the pool closes first
   * (with file storage the records are recovered at the next open), or `ABORTED`.
   *
   * @throws {TypeError} when `tag` is not a string or `below` not a whole number from 0 to
   *   `nextSequence()` (the promise rejects).
   */
  whenSettled(tag: string, below?: number, options?: CallOptions): Promise<number> {
    const { acks, closed } = this.#pool;
    let signal: AbortSignal | undefined;
    try {
      signal = callSignal(options, 'whenSettled(tag, below, options)');
    } catch (error) {
      return Promise.reject(error as Error);
    }
    if (closed) return Promise.reject(closedError());
    return acks.whenSettled(tag, below ?? acks.nextSequence(), signal);
  }

  /** Gauges and counters, per input share and per output. */
  stats(): ChunkPoolStats {
    return poolStats(this.#pool);
  }

  /**
   * Stops the pool: waiting appends and takes reject with `POOL_CLOSED`, open chunks are sealed
   * and made durable, storage is closed. Leases still out cannot be settled any more; with file
   * storage their chunks are delivered again after the next open. With memory storage, records
   * not yet done are dropped, counted and emitted (`reason: 'pool-closed'`): `drain()` first.
   */
  close(): Promise<void> {
    if (this.#closing === undefined) {
      this.#pool.closed = true; // before anything else: nothing more gets in from here on
      this.#closing = this.#close();
    }
    return this.#closing;
  }

  /** Same as {@link close}, for `await using pool = await ChunkPool.open(...)`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #close(): Promise<void> {
    const pool = this.#pool;
    const { clock, storage } = pool.options;
    pool.appendWaiters.rejectAll(closedError());
    for (const state of pool.outputs.values()) {
      state.takers.rejectAll(closedError());
      pool.leases.expireAll(state);
      clock.clearTimeout(state.wakeTimer);
    }
    pool.persistence.stopTimers();
    pool.persistence.sealOpenChunks();
    await Promise.all([...pool.chunks].map((chunk) => chunk.io));
    if (!storage.persistent) {
      for (const chunk of [...pool.chunks]) {
        pool.departures.dropChunk(chunk, 'pool-closed', [...chunk.pendingRoutes]);
      }
    }
    pool.acks.close(); // Waits for what is still stored reject: it is recovered at the next open.
    try {
      await storage.close();
    } catch (error) {
      throw storageFailure(error, 'closing the storage failed');
    }
  }

  /**
   * The dead letters of this pool's storage, oldest first: what {@link listDeadLetters} lists
   * for a folder no pool holds, while this pool holds it.
   *
   * @throws {ChunkPoolError} `INVALID_OPTION` for a storage that keeps no dead letters (memory
   *   storage drops them, counted); `POOL_CLOSED`.
   *
   * @example
   * ```ts
   * for (const letter of await pool.deadLetters({ output: 'archive' })) {
   *   console.log(letter.id, letter.recordCount, letter.reason);
   * }
   * ```
   */
  deadLetters(selection: DeadLetterSelection = {}): Promise<DeadLetter[]> {
    return this.#pool.deadLetterCalls.list(selection);
  }

  /**
   * Replays dead letters into this running pool, after the outage that made them: each becomes a
   * stored chunk again, for `into` or its own route, in one atomic rename (a crash leaves it a
   * dead letter or a stored chunk, never both: nothing is delivered twice), and is taken over as
   * a chunk recovered at open is — the same reserve split and accounting — then delivered like
   * any other. Its records get delivery-ack numbers from `nextSequence()` (open chunks are
   * sealed first). Damaged dead letters are skipped and returned.
   *
   * @throws {ChunkPoolError} `UNKNOWN_OUTPUT` when `into` is not configured;
   *   `UNKNOWN_DEAD_LETTER` for an id that is not there; `INVALID_OPTION` for a storage that
   *   keeps no dead letters; `POOL_CLOSED`; a storage error (the dead letters before it are
   *   replayed).
   *
   * @example
   * ```ts
   * // The archive backend is back: its dead letters go out again, without a restart.
   * const { records, damaged } = await pool.replayDeadLetters({ output: 'archive' });
   * ```
   */
  replayDeadLetters(
    options: ReplayOptions = {},
  ): Promise<DeadLetterTotals & { damaged: DeadLetter[] }> {
    return this.#pool.deadLetterCalls.replay(options);
  }

  /**
   * Deletes the selected dead letters of this pool's storage (damaged ones included).
   *
   * @throws {ChunkPoolError} as {@link deadLetters}; `UNKNOWN_DEAD_LETTER` for an id that is not
   *   there.
   *
   * @example
   * ```ts
   * await pool.dropDeadLetters({ output: 'debug' });
   * ```
   */
  dropDeadLetters(selection: DeadLetterSelection = {}): Promise<DeadLetterTotals> {
    return this.#pool.deadLetterCalls.drop(selection);
  }

  /**
   * Chunks still stored for outputs that are no longer configured (an output renamed or removed
   * since they were stored): nothing accepted disappears because the configuration changed. They
   * stay on disk (counted in `stats().unrouted` and within `maxBytesStored`) until you
   * {@link reroute} or {@link dropUnrouted} them. Also given to the `onRecovered` option at open.
   */
  unrouted(): UnroutedChunk[] {
    return this.#pool.unrouted.list();
  }

  /**
   * Sends every chunk stored for the unconfigured output `from` to the configured output `to`
   * instead (once, if `to` is already one of its routes), recorded in storage so a restart keeps
   * it. Resolves with what was rerouted.
   *
   * @throws {ChunkPoolError} `UNKNOWN_OUTPUT` when `to` is not configured; `INVALID_OPTION` when
   *   `from` is; a storage error if recording a reroute fails (the chunks before it are rerouted).
   */
  reroute(from: string, to: string): Promise<Volume> {
    return this.#pool.unrouted.reroute(from, to);
  }

  /**
   * Gives up on every chunk stored for the unconfigured output `route`: counted in
   * `stats().unrouted.dropped` and emitted as `dropped` (`reason: 'unrouted'`); a chunk is
   * deleted once no route needs it. Resolves with what was dropped.
   */
  dropUnrouted(route: string): Promise<Volume> {
    return this.#pool.unrouted.dropUnrouted(route);
  }
}

/** The keys of {@link CallOptions}. */
const CALL_KEYS = ['signal'] as const satisfies readonly (keyof CallOptions)[];

/**
 * The `signal` of one call's options, checked as every option is (docs/conventions.md): a
 * misspelt key or a signal that is not an `AbortSignal` is a `TypeError` naming it, never
 * ignored (an append that cannot be aborted would wait forever).
 */
function callSignal(options: unknown, call: string): AbortSignal | undefined {
  const checked = callOptions(options, CALL_KEYS, call);
  return signalOption(checked.signal, `${call}.signal`);
}
