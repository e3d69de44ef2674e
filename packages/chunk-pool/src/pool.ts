/**
 * The chunk pool: inputs append records into chunks, outputs lease sealed chunks, and a memory
 * budget split into accounts (see `budget.ts`) keeps inputs from taking what outputs need to make
 * progress.
 *
 * Over 300 lines: still the one class that issue #18 splits by concern (admission, persistence,
 * delivery, recovery, unrouted chunks, stats); until then each concern has its own section below.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { wallClock } from '@holdfast/internal';
import { EventEmitter } from 'node:events';
import type { Writable } from 'node:stream';
import { MemoryBudget, type Account } from './budget.js';
import { Chunk } from './chunk.js';
import { ChunkPoolError, isChunkPoolError } from './errors.js';
import type {
  ChunkPoolEvents,
  DropReason,
  HoldingBackReason,
  RecoveryReport,
  UnroutedChunk,
} from './events.js';
import { HoldingBackTracker } from './holding-back.js';
import { ChunkLease, type Settlement } from './lease.js';
import { resolveOptions, type ChunkPoolOptions, type ResolvedOptions } from './options.js';
import {
  bestEffortVictim,
  oldestDroppableFor,
  oldestHolders,
  overMemoryQuota,
} from './output-policy.js';
import {
  blockingQuotas,
  NO_QUOTAS,
  quotasOf,
  recountHolding,
  sameQuotas,
  type OutputQuota,
} from './output-quota.js';
import { OutputState, VolumeCounter, type Taker } from './output-state.js';
import { describeThrown } from './describe-value.js';
import { DeliveryAcks, type RouteOutcome } from './delivery-acks.js';
import { callGuarded, emitGuarded } from './guarded-emit.js';
import { encodeRecord, type PoolRecord } from './record.js';
import { memoryCost, RECORD_OVERHEAD_BYTES } from './record-cost.js';
import { backoffDelay } from './retry-schedule.js';
import { splitRecords } from './recovery-split.js';
import { SpillQueue } from './spill-queue.js';
import type { ChunkPoolStats, OutputStats, Volume } from './stats.js';
import type { ChunkStorage, RecoveredChunk } from './storage/storage.js';
import {
  checkSelection,
  type DeadLetter,
  type DeadLetterSelection,
  type DeadLetterTotals,
  type ReplayOptions,
} from './dead-letters.js';
import { poolWritable } from './writable.js';

/** How an `append` ended: accepted, or dropped by `whenFull: 'drop-newest'` (counted). */
export type AppendOutcome = 'accepted' | 'dropped';

/** Options of one `append`, `take` or `consume` call. */
export interface CallOptions {
  /** Gives up waiting (for room, or for a chunk); the call rejects with an `ABORTED` error. */
  readonly signal?: AbortSignal;
}

interface AppendWaiter {
  readonly tag: string;
  readonly record: Buffer;
  readonly resolve: (outcome: Promise<AppendOutcome>) => void;
  readonly reject: (error: ChunkPoolError) => void;
  readonly detach: () => void;
}

const ACCEPTED: Promise<AppendOutcome> = Promise.resolve('accepted');
const DROPPED: Promise<AppendOutcome> = Promise.resolve('dropped');
// A larger `new Array(n)` may get slow (dictionary) elements in V8.
const MAX_RECORD_SLOTS = 16_384;

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
  readonly #options: ResolvedOptions;
  /** `fsync: 'always'`: each append is written (and durable) before it counts as accepted. */
  readonly #writesEachAppend: boolean;
  readonly #budget: MemoryBudget;
  readonly #outputs = new Map<string, OutputState>();
  /** Every chunk not yet done, in creation order. */
  readonly #chunks = new Set<Chunk>();
  readonly #openChunks = new Map<string, Chunk>();
  /**
   * Invariant: exactly the chunks {@link #spillable} says may go down to relieve the inputs'
   * share; every transition that changes one of its conditions calls {@link #checkSpillable}.
   */
  readonly #spillQueue = new SpillQueue();
  /**
   * The chunks charged to the inputs' share, in creation order (a chunk is charged to it only
   * when opened or recovered, and leaves when its charge is released): what `drop-oldest` under
   * memory pressure chooses from, without a walk past the backlog that is down.
   */
  readonly #inputChunks = new Set<Chunk>();
  /**
   * Seal-time writes to storage still running. While one is, a blocked append does not seal the
   * open chunks: that write, once done, lets a chunk go down, which makes room (see #whenFull).
   */
  #sealWrites = 0;
  readonly #appendWaiters: AppendWaiter[] = [];
  readonly #drainWaiters: (() => void)[] = [];
  readonly #runId = randomBytes(3).toString('hex');
  #sequence = 0;
  #storedBytes = 0;
  /** Set when storage reported a full disk; cleared by a deletion or after `chunkAge`. */
  #storageFull: ChunkPoolError | undefined;
  #storageFullTimer: unknown;
  #closing: Promise<void> | undefined;
  #admittingWaiters = false;
  readonly #accepted = new VolumeCounter();
  /** Delivery acknowledgements: per-tag settled watermarks (see delivery-acks.ts). */
  readonly #acks = new DeliveryAcks(
    () => this.#accepted.records,
    (event) => this.#emit('settled', event),
  );
  readonly #droppedWhenFull = new VolumeCounter();
  readonly #recovered = { chunks: 0, records: 0 };
  /** Dead letters replayed into this running pool (see replayDeadLetters). */
  readonly #replayed = { chunks: 0, records: 0 };
  /** What damaged storage cost, as storage counted it at open. */
  readonly #lost = { records: 0, bytes: 0 };
  /** Chunks whose configured routes are all done but that unconfigured routes still hold. */
  readonly #unrouted = new Map<string, Chunk>();
  readonly #rerouted = { records: 0, bytes: 0 };
  readonly #unroutedDropped = { records: 0, bytes: 0 };
  /**
   * Slots to allocate for a new chunk's records: as many as the last sealed chunk held (capped).
   * Filling a pre-sized array instead of growing one by `push` saves about a quarter of the cost
   * of an append on the hot path.
   */
  #recordSlots = 16;
  #quarantined = 0;
  /** Listeners that threw or rejected (see {@link #emit}). */
  #listenerErrors = 0;
  /** Storage calls that failed after the pool had moved on (done marks, deletions, quarantine). */
  #storageErrors = 0;
  /** Some output has a limit of its own (see output-quota.ts): admission checks it. */
  readonly #limited: boolean;
  /** Some output is best effort: the pool's budget, when full, is relieved by its drops first. */
  readonly #bestEffort: boolean;
  readonly #quotaOf = (output: string): OutputQuota | undefined => this.#outputs.get(output)?.quota;
  readonly #holdingBack = new HoldingBackTracker();
  /**
   * Set by each admission (see {@link #admitToOutputs}) for the record it admits next: the
   * `'drop-newest'` outputs that are full, which the record's chunk leaves out; and whether those
   * are all the record's outputs (then it is dropped, not admitted).
   */
  #refusing: readonly OutputQuota[] = NO_QUOTAS;
  #refusedEverywhere = false;

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
      await pool.#recover();
    } catch (error) {
      // The storage is not left open (nor its folder locked) by a pool nobody got.
      await pool.#options.storage.close().catch(() => undefined); // `error` says what happened.
      throw error;
    }
    return pool;
  }

  private constructor(options: ResolvedOptions) {
    super();
    this.#options = options;
    this.#writesEachAppend = options.storage.persistent && options.storage.syncEachAppend;
    this.#budget = new MemoryBudget(options.inputShare, options.outputs, options.reservePerOutput);
    for (const [name, retry] of options.retryByOutput) {
      const policy = options.policyByOutput.get(name);
      if (policy === undefined) throw new Error(`no policy for output ${name}`);
      this.#outputs.set(name, new OutputState(name, retry, options.breakerThreshold, policy));
    }
    const states = [...this.#outputs.values()];
    this.#limited = states.some((state) => state.quota !== undefined);
    this.#bestEffort = states.some((state) => state.bestEffort);
  }

  // ---------------------------------------------------------------------------------------------
  // Inputs
  // ---------------------------------------------------------------------------------------------

  /**
   * Appends one record under `tag`. Resolves `'accepted'` once the pool holds it (with
   * `fsync: 'always'`, once it is on disk), or `'dropped'` under `whenFull: 'drop-newest'`. With
   * `whenFull: 'block'` the promise waits while the inputs' share is full: that is the
   * backpressure.
   *
   * @throws {ChunkPoolError} `RECORD_TOO_LARGE`, `INVALID_RECORD`, `STORAGE_FULL`,
   *   `POOL_CLOSED`, `ABORTED`.
   */
  append(tag: string, record: PoolRecord, options: CallOptions = {}): Promise<AppendOutcome> {
    let bytes: Buffer;
    try {
      bytes = this.#acceptable(tag, record);
    } catch (error) {
      return Promise.reject(error as Error);
    }
    if (this.#appendWaiters.length === 0 && this.#admit(tag, bytes.length)) {
      return this.#accept(tag, bytes);
    }
    return this.#whenFull(tag, bytes, options.signal);
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
    const bytes = this.#acceptable(tag, record);
    if (this.#writesEachAppend) return false;
    if (this.#appendWaiters.length > 0 || !this.#admit(tag, bytes.length)) return false;
    // Never `fsync: 'always'` here, so nothing is left to wait for once the record is placed.
    this.#sealIfFull(this.#place(tag, bytes));
    return true;
  }

  /** The record's bytes, or the error that refuses it before any budget is looked at. */
  #acceptable(tag: string, record: PoolRecord): Buffer {
    if (this.#closing !== undefined) throw closedError();
    if (typeof tag !== 'string') {
      throw new ChunkPoolError('INVALID_RECORD', `tag must be a string, got ${typeof tag}`);
    }
    const bytes = encodeRecord(record);
    if (memoryCost(bytes.length, 1) > this.#options.chunkBytes) {
      throw new ChunkPoolError(
        'RECORD_TOO_LARGE',
        `record of ${bytes.length} bytes is larger than chunkBytes (${this.#options.chunkBytes}) ` +
          `less the ${RECORD_OVERHEAD_BYTES} bytes a record costs in memory beyond its payload`,
      );
    }
    if (this.#storageFull !== undefined) throw this.#storageFull;
    return bytes;
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
  async flush(): Promise<void> {
    const sealed = [...this.#openChunks.values()];
    for (const chunk of sealed) this.#seal(chunk);
    const { storage } = this.#options;
    const chunks = [...this.#chunks];
    await Promise.all(chunks.map((chunk) => chunk.io));
    try {
      await storage.sync();
    } catch (error) {
      throw storageFailure(error, 'making the stored chunks durable failed');
    }
    if (!storage.persistent) return;
    const failed = chunks.find((chunk) => !chunk.done && chunk.storageError !== undefined);
    if (failed !== undefined) {
      throw new ChunkPoolError(
        isChunkPoolError(failed.storageError, 'STORAGE_FULL') ? 'STORAGE_FULL' : 'STORAGE_ERROR',
        `chunk ${failed.id} could not be made durable; it stays in memory until delivered`,
        { cause: failed.storageError },
      );
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Outputs
  // ---------------------------------------------------------------------------------------------

  /**
   * A lease on the next chunk for `output`: waits until one is sealed, its retry delay has passed
   * and the output's breaker lets it through.
   *
   * @throws {ChunkPoolError} `UNKNOWN_OUTPUT`, `POOL_CLOSED`, `ABORTED`.
   */
  take(output: string, options: CallOptions = {}): Promise<ChunkLease> {
    const state = this.#outputs.get(output);
    if (state === undefined) return Promise.reject(unknownOutput(output, this.#options.outputs));
    if (this.#closing !== undefined) return Promise.reject(closedError());
    const { signal } = options;
    if (signal?.aborted === true) return Promise.reject(abortedError(signal));
    return new Promise<ChunkLease>((resolve, reject) => {
      const onAbort = (): void => {
        const index = state.takers.indexOf(taker);
        if (index !== -1) state.takers.splice(index, 1);
        reject(abortedError(signal));
      };
      const taker: Taker = {
        resolve,
        reject,
        detach: () => signal?.removeEventListener('abort', onAbort),
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      state.takers.push(taker);
      this.#serve(state);
    });
  }

  /**
   * Leases for `output`, one after another, as an async iterable. Ends (without throwing) when
   * `signal` aborts or the pool closes. Settle each lease before the loop asks for the next one,
   * or run several loops for concurrency.
   */
  async *consume(output: string, options: CallOptions = {}): AsyncGenerator<ChunkLease> {
    for (;;) {
      try {
        yield await this.take(output, options);
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
  drain(options: CallOptions = {}): Promise<void> {
    for (const chunk of [...this.#openChunks.values()]) this.#seal(chunk);
    if (this.#chunks.size === 0) return Promise.resolve();
    const { signal } = options;
    if (signal?.aborted === true) return Promise.reject(abortedError(signal));
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        const index = this.#drainWaiters.indexOf(done);
        if (index !== -1) this.#drainWaiters.splice(index, 1);
        reject(abortedError(signal));
      };
      const done = (): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#drainWaiters.push(done);
    });
  }

  /**
   * The sequence number the next accepted record gets. The pool numbers the records of one run
   * 0, 1, 2, ...: first those recovered at open, then every accepted append, whatever its tag.
   * Read it after appending to name "everything appended so far" for {@link whenSettled}.
   */
  nextSequence(): number {
    return this.#acks.nextSequence();
  }

  /**
   * `tag`'s delivery watermark: every record of `tag` numbered below it (see
   * {@link nextSequence}) is settled on every route: delivered, dropped by a policy,
   * dead-lettered, or kept for an output no longer configured. Only grows.
   */
  settledBelow(tag: string): number {
    return this.#acks.settledBelow(tag);
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
  whenSettled(tag: string, below?: number, options: CallOptions = {}): Promise<number> {
    if (this.#closing !== undefined) return Promise.reject(closedError());
    return this.#acks.whenSettled(tag, below ?? this.#acks.nextSequence(), options.signal);
  }

  // ---------------------------------------------------------------------------------------------
  // State
  // ---------------------------------------------------------------------------------------------

  /** Gauges and counters, per input share and per output. */
  stats(): ChunkPoolStats {
    const now = this.#options.clock.now();
    const pending = new Map<string, PendingTally>();
    for (const name of this.#outputs.keys()) pending.set(name, emptyTally());
    let downBytes = 0;
    let downChunks = 0;
    for (const chunk of this.#chunks) {
      if (!chunk.up) {
        downBytes += chunk.bytes;
        downChunks += 1;
      }
      for (const route of chunk.pendingRoutes) {
        const entry = pending.get(route);
        if (entry === undefined) continue;
        entry.chunks += 1;
        entry.records += chunk.recordCount;
        entry.bytes += chunk.bytes;
        if (chunk.up) entry.bytesUp += chunk.memoryBytes;
        if ((chunk.notBefore.get(route) ?? 0) > now) entry.waiting += 1;
      }
    }
    const outputs: Record<string, OutputStats> = {};
    for (const [name, state] of this.#outputs) {
      const entry = pending.get(name) ?? emptyTally();
      const { quota } = state;
      outputs[name] = {
        reserve: accountStats(this.#budget.reserve(name)),
        pendingChunks: entry.chunks,
        pendingRecords: entry.records,
        pendingBytes: entry.bytes,
        bytesUp: entry.bytesUp,
        whenFull: state.policy.whenFull,
        quota: quota?.stats(),
        holdingBack: this.#holdingBack.get(name, now),
        leases: state.leases.size,
        retriesWaiting: entry.waiting,
        delivered: { ...state.delivered },
        retries: state.retries,
        leaseTimeouts: state.leaseTimeouts,
        dropped: { ...state.dropped },
        droppedByReason: state.droppedByReasonStats(),
        deadLettered: { ...state.deadLettered },
        breaker: state.breaker.state(now),
      };
    }
    return {
      bytesUp: this.#budget.bytesUp,
      maxBytesUp: this.#options.maxBytesUp,
      input: accountStats(this.#budget.input),
      down: { bytes: downBytes, chunks: downChunks },
      stored: { bytes: this.#storedBytes, limitBytes: this.#options.maxBytesStored },
      appendsWaiting: this.#appendWaiters.length,
      heldBackBy: this.#holdingBack.outputs(),
      accepted: { ...this.#accepted },
      droppedWhenFull: { ...this.#droppedWhenFull },
      recovered: { ...this.#recovered },
      replayed: { ...this.#replayed },
      quarantined: this.#quarantined,
      lost: { ...this.#lost },
      unrouted: this.#unroutedStats(),
      listenerErrors: this.#listenerErrors,
      storageErrors: this.#storageErrors,
      outputs,
    };
  }

  /**
   * Stops the pool: waiting appends and takes reject with `POOL_CLOSED`, open chunks are sealed
   * and made durable, storage is closed. Leases still out cannot be settled any more; with file
   * storage their chunks are delivered again after the next open. With memory storage, records
   * not yet done are dropped, counted and emitted (`reason: 'pool-closed'`): `drain()` first.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  /** Same as {@link close}, for `await using pool = await ChunkPool.open(...)`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #close(): Promise<void> {
    for (const waiter of this.#appendWaiters.splice(0)) {
      waiter.detach();
      waiter.reject(closedError());
    }
    this.#noteHoldingBack();
    for (const state of this.#outputs.values()) {
      for (const taker of state.takers.splice(0)) {
        taker.detach();
        taker.reject(closedError());
      }
      for (const [lease, { timer }] of state.leases) {
        this.#options.clock.clearTimeout(timer);
        lease.expire();
      }
      this.#options.clock.clearTimeout(state.wakeTimer);
    }
    this.#options.clock.clearTimeout(this.#storageFullTimer);
    for (const chunk of [...this.#openChunks.values()]) this.#seal(chunk);
    await Promise.all([...this.#chunks].map((chunk) => chunk.io));
    if (!this.#options.storage.persistent) {
      for (const chunk of [...this.#chunks]) {
        this.#dropChunk(chunk, 'pool-closed', [...chunk.pendingRoutes]);
      }
    }
    this.#acks.close(); // Waits for what is still stored reject: it is recovered at the next open.
    try {
      await this.#options.storage.close();
    } catch (error) {
      throw storageFailure(error, 'closing the storage failed');
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Admission: the inputs' side of the budget
  // ---------------------------------------------------------------------------------------------

  /**
   * Charges a record of `bytes` bytes to the inputs' share (its memory cost, see record-cost.ts)
   * and to the storage budget (its payload) if both have room. With file storage, memory
   * pressure first moves stored chunks down. Never waits: an input never holds one resource
   * while waiting for another.
   */
  #admit(tag: string, bytes: number): boolean {
    // Without per-output policies, admission is the pool's budgets alone (the hot path).
    if (!this.#limited && !this.#bestEffort) return this.#admitToPool(bytes);
    if (this.#limited && !this.#admitToOutputs(tag, bytes)) return false;
    return this.#admitToPool(bytes) || (this.#bestEffort && this.#dropForBestEffort(bytes));
  }

  /** The pool's budgets: storage, then the inputs' share (moving stored chunks down first). */
  #admitToPool(bytes: number): boolean {
    if (this.#storedBytes + bytes > this.#options.maxBytesStored) return false;
    const input = this.#budget.input;
    const cost = memoryCost(bytes, 1);
    if (input.tryCharge(cost)) return true;
    if (!this.#options.storage.persistent) return false;
    this.#spill(cost);
    return input.tryCharge(cost);
  }

  /**
   * The limits of the outputs a record of `tag` goes to: false when a critical (`'block'`) one is
   * full; a full best-effort one first gives up its oldest chunks, and never refuses the record.
   */
  #admitToOutputs(tag: string, bytes: number): boolean {
    const quotas = this.#quotasFor(tag);
    const cost = memoryCost(bytes, 1);
    const { persistent } = this.#options.storage;
    this.#refusing = NO_QUOTAS;
    this.#refusedEverywhere = false;
    if (blockingQuotas(quotas, cost, bytes, persistent).length > 0) return false;
    const refusing = quotas.filter(
      (quota) => quota.whenFull === 'drop-newest' && quota.full(cost, bytes, persistent),
    );
    if (refusing.length > 0) {
      this.#refusing = refusing;
      this.#refusedEverywhere = refusing.length >= this.#routeCount(tag);
      if (this.#refusedEverywhere) return false;
    }
    for (const quota of quotas) {
      if (quota.whenFull !== 'drop-oldest') continue;
      const state = this.#outputs.get(quota.output) as OutputState;
      while (quota.full(cost, bytes, persistent)) {
        const victim = oldestDroppableFor(state);
        if (victim === undefined) break; // over its limit by what it has leased: admitted anyway
        this.#dropFor(state, victim);
      }
    }
    return true;
  }

  /**
   * The quotas of the outputs a record of `tag` goes to: those its open chunk counts against, or
   * those of `route(tag)` (a `route()` that fails is reported when the record is placed).
   */
  #quotasFor(tag: string): readonly OutputQuota[] {
    const open = this.#openChunks.get(tag);
    if (open !== undefined) {
      return open.refusedBy.length === 0
        ? open.held.outputs
        : [...open.held.outputs, ...open.refusedBy];
    }
    try {
      return quotasOf(this.#routesFor(tag), this.#quotaOf);
    } catch {
      return [];
    }
  }

  /** How many outputs a record of `tag` goes to (`Infinity` when `route()` fails). */
  #routeCount(tag: string): number {
    const open = this.#openChunks.get(tag);
    if (open !== undefined) return open.routes.length + open.refusedBy.length;
    try {
      return this.#routesFor(tag).length;
    } catch {
      return Number.POSITIVE_INFINITY;
    }
  }

  /** A record every output of its tag refuses (`'drop-newest'`, all full): counted, emitted. */
  #dropRefused(tag: string, record: Buffer): Promise<AppendOutcome> {
    this.#countRefused(this.#refusing, 1, record.length);
    this.#emit('dropped', {
      reason: 'drop-newest',
      tag,
      chunk: undefined,
      outputs: this.#refusing.map((quota) => quota.output),
      records: 1,
      bytes: record.length,
      data: [record],
    });
    return DROPPED;
  }

  #countRefused(quotas: readonly OutputQuota[], records: number, bytes: number): void {
    for (const quota of quotas) {
      this.#outputs.get(quota.output)?.countDropped('drop-newest', records, bytes);
    }
  }

  /** Best-effort outputs give up the oldest chunks only they still need until `bytes` fit. */
  #dropForBestEffort(bytes: number): boolean {
    for (;;) {
      const storageBound = this.#storedBytes + bytes > this.#options.maxBytesStored;
      const victim = bestEffortVictim(
        storageBound ? this.#chunks : this.#inputChunks,
        this.#outputs,
      );
      if (victim === undefined) return false;
      this.#dropChunk(victim, 'drop-oldest', [...victim.pendingRoutes]);
      if (this.#admitToPool(bytes)) return true;
    }
  }

  /** A best-effort output gives up `chunk` for itself alone, counted and emitted. */
  #dropFor(state: OutputState, chunk: Chunk): void {
    state.countDropped('drop-oldest', chunk.recordCount, chunk.bytes);
    this.#emit('dropped', {
      reason: 'drop-oldest',
      tag: chunk.tag,
      chunk: chunk.info(),
      outputs: [state.name],
      records: chunk.recordCount,
      bytes: chunk.bytes,
      data: chunk.records,
    });
    // Never rejects: a failed done mark is reported by #finishRoute itself.
    this.#finishRoute(state, chunk, 'dropped').then(undefined, (error: unknown) =>
      this.#backgroundStorageError(chunk, error, 'a drop'),
    );
  }

  /**
   * Moves stored, unleased chunks on the inputs' account down until `bytes` fit, newest first
   * (the oldest are the next ones outputs take). O(log n) per chunk moved down.
   */
  #spill(bytes: number): void {
    const input = this.#budget.input;
    while (!input.fits(bytes)) {
      const chunk = this.#spillQueue.newest();
      if (chunk === undefined) return;
      this.#putDown(chunk); // which takes it out of the queue
    }
  }

  /** Whether `chunk` may go down to make room for inputs: stored, up on their account, unleased. */
  #spillable(chunk: Chunk): boolean {
    return (
      !chunk.done &&
      chunk.up &&
      chunk.charge === this.#budget.input &&
      chunk.persisted &&
      chunk.leases === 0 &&
      !chunk.loading
    );
  }

  /** Keeps {@link #spillQueue} up to date after a transition of `chunk`. */
  #checkSpillable(chunk: Chunk): void {
    if (this.#spillable(chunk)) this.#spillQueue.add(chunk);
    else this.#spillQueue.delete(chunk);
  }

  /** Places an admitted record; rejects (and returns the charge) when `route()` fails. */
  #accept(tag: string, record: Buffer): Promise<AppendOutcome> {
    let chunk: Chunk;
    try {
      chunk = this.#place(tag, record);
    } catch (error) {
      return Promise.reject(error as Error);
    }
    const written = this.#writesEachAppend ? this.#writeThrough(chunk) : undefined;
    this.#sealIfFull(chunk);
    return written === undefined ? ACCEPTED : written.then(() => 'accepted' as const);
  }

  #sealIfFull(chunk: Chunk): void {
    if (chunk.memoryBytes >= this.#options.chunkBytes) this.#seal(chunk);
  }

  /**
   * Puts an admitted record (its cost already charged) into its tag's open chunk, opening one if
   * needed. Throws a `ChunkPoolError` (and returns the charge) when `route()` fails, before the
   * record counts as accepted.
   */
  #place(tag: string, record: Buffer): Chunk {
    const { chunkBytes } = this.#options;
    let chunk = this.#openChunks.get(tag);
    if (
      chunk !== undefined &&
      (chunk.memoryBytes + memoryCost(record.length, 1) > chunkBytes ||
        (this.#limited && !sameQuotas(chunk.refusedBy, this.#refusing)))
    ) {
      // Full, or it leaves out other outputs than this record must: a new chunk.
      this.#seal(chunk);
      chunk = undefined;
    }
    if (chunk === undefined) {
      try {
        chunk = this.#openChunk(tag);
      } catch (error) {
        this.#budget.input.release(memoryCost(record.length, 1));
        throw error;
      }
    }
    // Slots past `recordCount` are spare capacity (see #recordSlots); sealing trims them.
    chunk.addRecord(record);
    if (this.#limited) {
      chunk.held.addRecord(memoryCost(record.length, 1), record.length);
      if (chunk.refusedBy.length > 0) this.#countRefused(chunk.refusedBy, 1, record.length);
    }
    this.#storedBytes += record.length;
    this.#accepted.add(1, record.length);
    return chunk;
  }

  #openChunk(tag: string): Chunk {
    const all = this.#routesFor(tag);
    // The full 'drop-newest' outputs are left out of the chunk (and of what it stores).
    const refused = this.#refusing.filter((quota) => all.includes(quota.output));
    const routes = all.filter((route) => !refused.some((quota) => quota.output === route));
    const clock = this.#options.clock;
    // Wall-clock time, not the pool's monotonic clock: it is stored, and a later run orders
    // recovered chunks by it (a monotonic reading means nothing in another process).
    const id = this.#newChunkId();
    const chunk = new Chunk(id, tag, wallClock.now(), routes, routes, this.#recordSlots);
    if (refused.length > 0) chunk.refusedBy = refused;
    chunk.charge = this.#budget.input;
    this.#budget.input.addChunk();
    this.#inputChunks.add(chunk);
    this.#acks.opened(chunk);
    // Its records never go to the full 'drop-newest' outputs: dropped there, for the acks.
    for (const quota of refused) this.#acks.routeSettled(chunk, quota.output, 'dropped');
    chunk.ageTimer = clock.setTimeout(() => this.#seal(chunk), this.#options.chunkAge);
    this.#chunks.add(chunk);
    this.#openChunks.set(tag, chunk);
    recountHolding(chunk, this.#quotaOf);
    return chunk;
  }

  /** Unique across restarts: time, this run's id, a sequence number. */
  #newChunkId(): string {
    return `${Date.now().toString(36)}-${this.#runId}-${(this.#sequence++).toString(36)}`;
  }

  /** The outputs of `tag`'s chunks; any failure of the user's `route()` is a `ChunkPoolError`. */
  #routesFor(tag: string): readonly string[] {
    let routes: unknown;
    try {
      routes = this.#options.route(tag);
    } catch (error) {
      throw new ChunkPoolError(
        'INVALID_OPTION',
        `route(${JSON.stringify(tag)}) threw: ${describeThrown(error)}`,
        { cause: error },
      );
    }
    if (!Array.isArray(routes) || routes.length === 0) {
      throw new ChunkPoolError(
        'INVALID_OPTION',
        `route(${JSON.stringify(tag)}) returned no outputs`,
      );
    }
    for (const route of routes as unknown[]) {
      if (typeof route !== 'string' || !this.#outputs.has(route)) {
        throw unknownOutput(route, this.#options.outputs);
      }
    }
    return [...new Set(routes as string[])];
  }

  /**
   * `fsync: 'always'`: writes the records appended since the last write, as one frame, after the
   * chunk's earlier writes. Every append in the group resolves when that write is durable; if it
   * fails, they reject and their records leave the chunk (they were never accepted).
   */
  #writeThrough(chunk: Chunk): Promise<void> {
    chunk.unwritten += 1;
    chunk.pendingWrite ??= chunk.chain(async () => {
      const records = chunk.records as Buffer[];
      const count = chunk.unwritten;
      const end = chunk.recordCount;
      const start = end - count;
      const batch = records.slice(start, end);
      chunk.unwritten = 0;
      chunk.pendingWrite = undefined;
      try {
        await this.#options.storage.append(chunk, batch);
      } catch (error) {
        this.#unaccept(chunk, start, count);
        throw this.#storageError(chunk, error);
      }
    });
    return chunk.pendingWrite;
  }

  /** Takes back records whose durable write failed (their appends reject). */
  #unaccept(chunk: Chunk, start: number, count: number): void {
    const removed = chunk.removeRecords(start, count);
    let bytes = 0;
    for (const record of removed) bytes += record.length;
    chunk.charge?.release(memoryCost(bytes, removed.length));
    recountHolding(chunk, this.#quotaOf);
    this.#countRefused(chunk.refusedBy, -removed.length, -bytes); // they were never accepted
    this.#storedBytes -= bytes;
    this.#accepted.add(-removed.length, -bytes);
    this.#acks.unaccepted(removed.length); // their numbers are not reused
  }

  /** Applies `whenFull` to an append that does not fit now. */
  #whenFull(tag: string, record: Buffer, signal: AbortSignal | undefined): Promise<AppendOutcome> {
    // Refused by every output of its tag by the admission `append` just made: never waits.
    if (this.#refusedEverywhere && this.#appendWaiters.length === 0) {
      return this.#dropRefused(tag, record);
    }
    const { whenFull } = this.#options;
    if (whenFull === 'drop-newest') {
      this.#droppedWhenFull.add(1, record.length);
      this.#emit('dropped', {
        reason: 'drop-newest',
        tag,
        chunk: undefined,
        outputs: this.#safeRoutes(tag),
        records: 1,
        bytes: record.length,
        data: [record],
      });
      return DROPPED;
    }
    if (whenFull === 'drop-oldest' && this.#appendWaiters.length === 0) {
      if (this.#dropOldestUntilFits(tag, record.length)) return this.#accept(tag, record);
    }
    // Blocked (or nothing can be dropped now): wait. Unless a write under way will let a chunk
    // go down, seal the open chunks so that they can be taken or go down. Sealing them at every
    // blocked append instead shrank chunks to a few records under an outage (issue #18).
    if (!this.#options.storage.persistent || this.#sealWrites === 0) this.#sealOpenChunks();
    if (signal?.aborted === true) return Promise.reject(abortedError(signal));
    return new Promise<AppendOutcome>((resolve, reject) => {
      const onAbort = (): void => {
        const index = this.#appendWaiters.indexOf(waiter);
        if (index !== -1) this.#appendWaiters.splice(index, 1);
        this.#noteHoldingBack();
        reject(abortedError(signal));
      };
      const waiter: AppendWaiter = {
        tag,
        record,
        resolve: (outcome) => {
          outcome.then(resolve, reject);
        },
        reject,
        detach: () => signal?.removeEventListener('abort', onAbort),
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#appendWaiters.push(waiter);
      this.#relieve();
    });
  }

  /** `drop-oldest`: drops the oldest sealed, unleased chunks until `bytes` fit. */
  #dropOldestUntilFits(tag: string, bytes: number): boolean {
    for (;;) {
      if (this.#admit(tag, bytes)) return true;
      const victim = this.#oldestDroppable(bytes);
      if (victim === undefined) return false;
      this.#dropChunk(victim, 'drop-oldest', [...victim.pendingRoutes]);
    }
  }

  #oldestDroppable(bytes: number): Chunk | undefined {
    const storageBound = this.#storedBytes + bytes > this.#options.maxBytesStored;
    // Under memory pressure only a chunk on the inputs' account frees what inputs need: looking
    // among those alone skips the backlog that is down, which an outage makes long (#18).
    for (const chunk of storageBound ? this.#chunks : this.#inputChunks) {
      if (!chunk.queued || chunk.leases > 0 || chunk.loading) continue;
      return chunk;
    }
    return undefined;
  }

  /**
   * Lets waiting appends in, in order, while they fit. Not re-entrant: a `drop-oldest` drop
   * inside the loop relieves the pool, which must not admit the same waiter a second time.
   */
  #admitWaiters(): void {
    if (this.#admittingWaiters) return;
    this.#admittingWaiters = true;
    try {
      this.#admitWaitersInOrder();
    } finally {
      this.#admittingWaiters = false;
    }
    this.#noteHoldingBack();
  }

  /**
   * Keeps {@link #holdingBack} up to date: who blocks the first waiting append is looked at each
   * time waiting appends were looked at (something was freed, one started to wait or left), and
   * what changed is emitted. Costs nothing while no append waits.
   */
  #noteHoldingBack(): void {
    const head = this.#appendWaiters[0];
    if (head === undefined && this.#holdingBack.size === 0) return;
    const holders = head === undefined ? new Map() : this.#holdersOf(head);
    for (const event of this.#holdingBack.update(holders, this.#options.clock.now())) {
      this.#emit('holding-back', event);
    }
  }

  /** The outputs that keep `waiter` out: critical ones whose limit is full, else the pool's. */
  #holdersOf(waiter: AppendWaiter): Map<string, HoldingBackReason> {
    const bytes = waiter.record.length;
    const quotas = this.#limited ? this.#quotasFor(waiter.tag) : [];
    const full = blockingQuotas(
      quotas,
      memoryCost(bytes, 1),
      bytes,
      this.#options.storage.persistent,
    );
    if (full.length > 0) return new Map(full.map((quota) => [quota.output, 'output-full']));
    const storageBound = this.#storedBytes + bytes > this.#options.maxBytesStored;
    const holders = oldestHolders(storageBound ? this.#chunks : this.#inputChunks, this.#outputs);
    return new Map(holders.map((output) => [output, 'pool-full']));
  }

  #admitWaitersInOrder(): void {
    while (this.#appendWaiters.length > 0 && this.#closing === undefined) {
      const waiter = this.#appendWaiters[0] as AppendWaiter;
      if (this.#storageFull !== undefined) {
        this.#appendWaiters.shift();
        waiter.detach();
        waiter.reject(this.#storageFull);
        continue;
      }
      if (!this.#admit(waiter.tag, waiter.record.length)) {
        if (this.#refusedEverywhere) {
          this.#appendWaiters.shift();
          waiter.detach();
          waiter.resolve(this.#dropRefused(waiter.tag, waiter.record));
          continue;
        }
        if (this.#options.whenFull !== 'drop-oldest') return;
        if (!this.#dropOldestUntilFits(waiter.tag, waiter.record.length)) return;
      }
      this.#appendWaiters.shift();
      waiter.detach();
      waiter.resolve(this.#accept(waiter.tag, waiter.record));
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Sealing and storage
  // ---------------------------------------------------------------------------------------------

  #sealOpenChunks(): void {
    for (const chunk of [...this.#openChunks.values()]) this.#seal(chunk);
  }

  /**
   * A seal-time write ended: when it was the last one and appends still wait, nothing under way
   * will make room for them, so the open chunks are sealed (the liveness #whenFull relies on).
   */
  #sealWriteEnded(): void {
    this.#sealWrites -= 1;
    if (this.#sealWrites === 0 && this.#appendWaiters.length > 0) this.#sealOpenChunks();
  }

  #seal(chunk: Chunk): void {
    if (chunk.sealed) return;
    chunk.seal();
    this.#recordSlots = Math.min(MAX_RECORD_SLOTS, Math.max(16, chunk.recordCount));
    this.#options.clock.clearTimeout(chunk.ageTimer);
    if (this.#openChunks.get(chunk.tag) === chunk) this.#openChunks.delete(chunk.tag);
    const { storage } = this.#options;
    if (!storage.persistent) {
      this.#handOut(chunk);
      return;
    }
    if (storage.syncEachAppend) {
      // Hand out only once every append is on disk, so no output sees a record whose append failed.
      this.#sealWrites += 1;
      chunk
        .chain(() => storage.seal(chunk.id))
        .then(
          () => {
            this.#persisted(chunk);
            this.#handOut(chunk);
            this.#sealWriteEnded();
          },
          (error: unknown) => {
            this.#storageError(chunk, error);
            this.#handOut(chunk);
            this.#sealWriteEnded();
          },
        );
      return;
    }
    this.#handOut(chunk);
    const records = chunk.records as Buffer[];
    this.#sealWrites += 1;
    chunk
      .chain(async () => {
        if (chunk.done) return;
        await storage.append(chunk, records);
        await storage.seal(chunk.id);
      })
      .then(
        () => {
          this.#persisted(chunk);
          this.#sealWriteEnded();
        },
        // The chunk stays up and is delivered from memory; `flush()` reports that it is not durable.
        (error: unknown) => {
          this.#storageError(chunk, error);
          this.#sealWriteEnded();
        },
      );
  }

  /** A sealed chunk goes to the queues of its routes. */
  #handOut(chunk: Chunk): void {
    if (chunk.done) return;
    if (chunk.recordCount === 0) {
      this.#forget(chunk);
      return;
    }
    chunk.queue();
    this.#emit('sealed', chunk.info());
    if (chunk.refusedBy.length > 0) {
      // Its records were counted as dropped for these outputs as they were placed.
      this.#emit('dropped', {
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
      const state = this.#outputs.get(route) as OutputState;
      state.queue.add(chunk);
      this.#serve(state);
    }
    // Under 'drop-oldest' an append may be waiting for a chunk it is allowed to drop: this one.
    if (this.#options.whenFull === 'drop-oldest') this.#admitWaiters();
  }

  #persisted(chunk: Chunk): void {
    // A chunk one of whose writes failed stays failed (delivered from memory): see chunk.ts.
    if (chunk.done || chunk.stored !== 'none') return;
    chunk.markStored();
    this.#checkSpillable(chunk);
    // An output's memory limit, with persistent storage: its chunks past it go down once written.
    if (this.#limited && overMemoryQuota(chunk) && this.#spillable(chunk)) this.#putDown(chunk);
    // Memory this chunk holds can now be released by moving it down.
    this.#relieve();
  }

  /** Reports a failed write of a chunk; the chunk stays up and is still delivered from memory. */
  #storageError(chunk: Chunk, error: unknown): ChunkPoolError {
    const poolError = storageFailure(error, `storage failed on chunk ${chunk.id}`);
    chunk.markStoreFailed(poolError);
    if (poolError.code === 'STORAGE_FULL') this.#markStorageFull(poolError);
    this.#emit('storage-error', { chunk: chunk.info(), error: poolError });
    return poolError;
  }

  /**
   * Reports a storage call that failed after the pool had already moved on (a done mark, a
   * deletion, a quarantine copy): counted, emitted, never rejected into the caller. What it costs
   * is at most a redelivery after a restart (the chunk's done mark was not written).
   */
  #backgroundStorageError(chunk: Chunk, error: unknown, what: string): void {
    this.#storageErrors += 1;
    const poolError = storageFailure(error, `${what} of chunk ${chunk.id} failed`);
    this.#emit('storage-error', { chunk: chunk.info(), error: poolError });
  }

  /** New appends are refused until storage frees space or `chunkAge` passes. */
  #markStorageFull(error: ChunkPoolError): void {
    this.#storageFull = error;
    const { clock } = this.#options;
    clock.clearTimeout(this.#storageFullTimer);
    this.#storageFullTimer = clock.setTimeout(() => {
      this.#storageFull = undefined;
    }, this.#options.chunkAge);
    this.#admitWaiters();
  }

  /** Releases a stored chunk's memory (it must be up); it is read back when an output needs it. */
  #putDown(chunk: Chunk): void {
    this.#release(chunk);
    chunk.takeDown();
    recountHolding(chunk, this.#quotaOf);
  }

  #release(chunk: Chunk): void {
    if (chunk.charge === undefined || !chunk.up) return;
    chunk.charge.release(chunk.memoryBytes);
    chunk.charge.removeChunk();
    chunk.charge = undefined;
    this.#spillQueue.delete(chunk);
    this.#inputChunks.delete(chunk);
  }

  // ---------------------------------------------------------------------------------------------
  // Serving outputs
  // ---------------------------------------------------------------------------------------------

  /** Hands chunks to `state`'s waiting takers while there are chunks it may have. */
  #serve(state: OutputState): void {
    const { clock } = this.#options;
    while (state.takers.length > 0) {
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
      const taker = state.takers.shift() as Taker;
      taker.detach();
      taker.resolve(this.#lease(state, chunk));
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
      if (chunk.loading || state.loading >= state.takers.length) continue;
      const reserve = this.#budget.reserve(state.name);
      if (reserve.tryCharge(chunk.memoryBytes)) this.#bringUp(chunk, reserve, state);
    }
    if (earliest !== Number.POSITIVE_INFINITY) this.#wakeAt(state, earliest);
    return undefined;
  }

  #bringUp(chunk: Chunk, account: Account, state: OutputState): void {
    chunk.startLoading();
    state.loading += 1;
    account.addChunk();
    const loaded = (): void => {
      state.loading -= 1;
      this.#relieve();
    };
    let read: Buffer[] = [];
    chunk
      .chain(() =>
        this.#options.storage.read(chunk.id).then((records) => {
          read = records;
        }),
      )
      .then(
        () => {
          chunk.loaded(read);
          chunk.charge = account;
          recountHolding(chunk, this.#quotaOf);
          if (chunk.done) this.#putDown(chunk);
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
            this.#backgroundStorageError(chunk, error, 'reading back');
            const wait = backoffDelay(state.retry, 1);
            this.#retryLater(state, chunk, this.#options.clock.now() + wait);
          }
          loaded();
        },
      );
  }

  /** A chunk that failed to read: counted, dropped as corrupt, moved aside in storage. */
  #quarantine(chunk: Chunk, error: unknown): void {
    const reason = describeThrown(error);
    this.#quarantined += 1;
    this.#emit('quarantined', { chunkId: chunk.id, reason });
    this.#dropChunk(chunk, 'corrupt', [...chunk.pendingRoutes], { keepStored: true });
    chunk
      .chain(() => this.#options.storage.quarantine(chunk.id, reason))
      .then(undefined, (failure: unknown) =>
        this.#backgroundStorageError(chunk, failure, 'the quarantine copy'),
      );
  }

  #lease(state: OutputState, chunk: Chunk): ChunkLease {
    state.queue.delete(chunk);
    chunk.leased();
    this.#spillQueue.delete(chunk);
    const attempt = (chunk.attempts.get(state.name) ?? 0) + 1;
    chunk.attempts.set(state.name, attempt);
    const view = { ...chunk.info(), records: chunk.records as Buffer[] };
    const lease: ChunkLease = new ChunkLease(state.name, view, attempt, (settlement) =>
      this.#settle(state, chunk, lease, settlement),
    );
    const timer = this.#options.clock.setTimeout(
      () => this.#expire(state, chunk, lease),
      this.#options.leaseTimeout,
    );
    state.leases.set(lease, { chunk, timer });
    return lease;
  }

  #endLease(state: OutputState, chunk: Chunk, lease: ChunkLease): void {
    const entry = state.leases.get(lease);
    if (entry !== undefined) this.#options.clock.clearTimeout(entry.timer);
    state.leases.delete(lease);
    chunk.leaseEnded();
    this.#checkSpillable(chunk);
  }

  #settle(
    state: OutputState,
    chunk: Chunk,
    lease: ChunkLease,
    settlement: Settlement,
  ): Promise<void> {
    if (this.#closing !== undefined) return Promise.reject(closedError());
    this.#endLease(state, chunk, lease);
    const now = this.#options.clock.now();
    switch (settlement.kind) {
      case 'ack': {
        state.delivered.add(chunk.recordCount, chunk.bytes);
        if (state.breaker.success()) this.#emit('breaker', { output: state.name, state: 'closed' });
        return this.#finishRoute(state, chunk, 'delivered');
      }
      case 'drop': {
        state.countDropped('output-dropped', chunk.recordCount, chunk.bytes);
        this.#emit('dropped', {
          reason: 'output-dropped',
          tag: chunk.tag,
          chunk: chunk.info(),
          outputs: [state.name],
          records: chunk.recordCount,
          bytes: chunk.bytes,
          data: chunk.records,
          detail: settlement.reason,
        });
        return this.#finishRoute(state, chunk, 'dropped');
      }
      case 'retry':
        return this.#failedAttempt(state, chunk, lease.attempt, now, settlement.delay);
    }
  }

  /** A lease not settled in time: a failed attempt, and the chunk is handed out again. */
  #expire(state: OutputState, chunk: Chunk, lease: ChunkLease): void {
    lease.expire();
    this.#endLease(state, chunk, lease);
    state.leaseTimeouts += 1;
    this.#emit('lease-expired', { output: state.name, chunk: chunk.info() });
    // Never rejects: a failed dead-letter write is reported by #deadLetter itself.
    this.#failedAttempt(state, chunk, lease.attempt, this.#options.clock.now(), undefined).then(
      undefined,
      (error: unknown) => this.#backgroundStorageError(chunk, error, 'a failed attempt'),
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
      this.#emit('breaker', { output: state.name, state: 'open' });
    }
    if (attempt >= state.retry.maxAttempts) return this.#deadLetter(state, chunk);
    this.#retryLater(state, chunk, now + (delay ?? backoffDelay(state.retry, attempt)));
    return Promise.resolve();
  }

  /** Back in `state`'s queue, handed out again at `notBefore`. */
  #retryLater(state: OutputState, chunk: Chunk, notBefore: number): void {
    chunk.notBefore.set(state.name, notBefore);
    state.queue.delete(chunk);
    state.queue.add(chunk);
    // A chunk waiting for a retry does not pin memory when storage can hold it.
    if (chunk.leases === 0 && chunk.persisted && chunk.up) this.#putDown(chunk);
    this.#relieve();
  }

  /**
   * Past `maxAttempts`: the chunk goes to `state`'s dead letters. It counts as dead-lettered (and
   * the event fires) only once the dead letter is written; if that write fails, the failure is
   * reported and the chunk stays pending for `state`, tried again after a backoff (and written
   * as a dead letter again when that attempt fails too), so it is never orphaned.
   */
  #deadLetter(state: OutputState, chunk: Chunk): Promise<void> {
    const records = chunk.records ?? [];
    const reason = `failed ${chunk.attempts.get(state.name) ?? 0} attempts`;
    const { storage } = this.#options;
    const stored = storage.persistent
      ? chunk.chain(() => storage.deadLetter(chunk, state.name, reason, records))
      : Promise.resolve();
    return stored.then(
      () => {
        if (chunk.done || !chunk.pendingRoutes.has(state.name)) return undefined;
        state.deadLettered.add(chunk.recordCount, chunk.bytes);
        this.#emit('dead-letter', {
          output: state.name,
          chunk: chunk.info(),
          reason,
          data: records,
        });
        return this.#finishRoute(state, chunk, 'dead-lettered');
      },
      (error: unknown) => {
        this.#backgroundStorageError(chunk, error, 'the dead letter');
        if (chunk.done || !chunk.pendingRoutes.has(state.name)) return;
        const { retry } = state;
        const wait = backoffDelay(retry, retry.maxAttempts);
        this.#retryLater(state, chunk, this.#options.clock.now() + wait);
      },
    );
  }

  /**
   * `state` is done with `chunk`; the chunk is deleted once every route is done. Resolves once
   * storage recorded it; a failure to record it is reported (event and `stats().storageErrors`),
   * never rejected: the route is done in memory either way, and what it may cost is a redelivery
   * after a restart.
   */
  #finishRoute(state: OutputState, chunk: Chunk, outcome: RouteOutcome): Promise<void> {
    this.#acks.routeSettled(chunk, state.name, outcome);
    chunk.pendingRoutes.delete(state.name);
    state.queue.delete(chunk);
    recountHolding(chunk, this.#quotaOf);
    if (chunk.pendingRoutes.size === 0 && chunk.unroutedRoutes.size === 0) {
      this.#forget(chunk);
      return chunk.io; // The deletion's step; it never rejects.
    }
    const { storage } = this.#options;
    const marked = storage.persistent
      ? chunk
          .chain(() => storage.markRouteDone(chunk.id, state.name))
          .then(undefined, (error: unknown) =>
            this.#backgroundStorageError(chunk, error, `the done mark for ${state.name}`),
          )
      : Promise.resolve();
    if (chunk.pendingRoutes.size === 0) {
      this.#park(chunk);
    } else if (
      chunk.leases === 0 &&
      chunk.up &&
      chunk.persisted &&
      chunk.charge !== this.#budget.input
    ) {
      // Memory brought up for this output goes back as soon as no lease holds it.
      this.#putDown(chunk);
    }
    this.#relieve();
    return marked;
  }

  /** Drops a chunk for `routes` (a `whenFull` or corruption drop), counted and emitted. */
  #dropChunk(
    chunk: Chunk,
    reason: DropReason,
    routes: readonly string[],
    { keepStored = false } = {},
  ): void {
    for (const route of routes) {
      const state = this.#outputs.get(route);
      state?.countDropped(reason, chunk.recordCount, chunk.bytes);
      state?.queue.delete(chunk);
      chunk.pendingRoutes.delete(route);
      this.#acks.routeSettled(chunk, route, 'dropped');
    }
    recountHolding(chunk, this.#quotaOf);
    if (reason === 'drop-oldest') this.#droppedWhenFull.add(chunk.recordCount, chunk.bytes);
    if (chunk.unroutedRoutes.size > 0) {
      // Dropped whole (memory or storage pressure, damage): its unconfigured routes too.
      this.#unroutedDropped.records += chunk.recordCount;
      this.#unroutedDropped.bytes += chunk.bytes;
      chunk.unroutedRoutes.clear();
    }
    this.#emit('dropped', {
      reason,
      tag: chunk.tag,
      chunk: chunk.info(),
      outputs: routes,
      records: chunk.recordCount,
      bytes: chunk.bytes,
      data: chunk.records,
    });
    this.#forget(chunk, { keepStored });
  }

  /**
   * Removes a chunk that no route needs any more, from memory, budgets and storage. The deletion
   * is the last step of `chunk.io`; a failed one is reported, never rejected (see #finishRoute).
   */
  #forget(chunk: Chunk, { keepStored = false } = {}): void {
    if (chunk.done) return;
    this.#release(chunk); // while it is still up: what it held is given back
    chunk.finish();
    this.#spillQueue.delete(chunk);
    this.#options.clock.clearTimeout(chunk.ageTimer);
    if (this.#openChunks.get(chunk.tag) === chunk) this.#openChunks.delete(chunk.tag);
    for (const state of this.#outputs.values()) state.queue.delete(chunk);
    recountHolding(chunk, this.#quotaOf);
    this.#storedBytes -= chunk.bytes;
    this.#chunks.delete(chunk);
    this.#acks.settled(chunk);
    this.#unrouted.delete(chunk.id);
    const { storage } = this.#options;
    if (storage.persistent && !keepStored) {
      chunk
        .chain(() => storage.delete(chunk.id))
        .then(
          () => this.#clearStorageFull(),
          (error: unknown) => this.#backgroundStorageError(chunk, error, 'the deletion'),
        );
    }
    this.#relieve();
    if (this.#chunks.size === 0) for (const done of this.#drainWaiters.splice(0)) done();
  }

  #clearStorageFull(): void {
    if (this.#storageFull === undefined) return;
    this.#storageFull = undefined;
    this.#options.clock.clearTimeout(this.#storageFullTimer);
  }

  /** Something was freed or became available: let appends in and serve outputs. */
  #relieve(): void {
    this.#admitWaiters();
    for (const state of this.#outputs.values()) this.#serve(state);
  }

  #wakeAt(state: OutputState, at: number): void {
    if (state.wakeAt <= at && state.wakeAt > this.#options.clock.now()) return;
    const { clock } = this.#options;
    clock.clearTimeout(state.wakeTimer);
    state.wakeAt = at;
    state.wakeTimer = clock.setTimeout(
      () => {
        state.wakeAt = Number.POSITIVE_INFINITY;
        this.#serve(state);
      },
      Math.max(0, at - clock.now()),
    );
  }

  #unroutedStats(): ChunkPoolStats['unrouted'] {
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
      dropped: { ...this.#unroutedDropped },
    };
  }

  /** The pool's only way to emit: a listener that throws is counted, never unwound into the pool. */
  #emit<K extends keyof ChunkPoolEvents>(name: K, ...args: ChunkPoolEvents[K]): void {
    emitGuarded(this, name, args, () => {
      this.#listenerErrors += 1;
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Recovery
  // ---------------------------------------------------------------------------------------------

  /**
   * Takes over the backlog: each recovered chunk goes to the routes it still had; its records
   * stay in memory while they fit in `recoveryBytesUp` (charged to the inputs' share), the rest
   * stay down and come up through the outputs' reserves.
   */
  async #recover(): Promise<void> {
    const { storage, recoveryBytesUp } = this.#options;
    let scan: Awaited<ReturnType<typeof storage.open>>;
    try {
      scan = await storage.open({ recordBytes: recoveryBytesUp });
    } catch (error) {
      throw storageFailure(error, 'opening the storage failed');
    }
    this.#quarantined += scan.quarantined;
    this.#lost.records += scan.lost?.records ?? 0;
    this.#lost.bytes += scan.lost?.bytes ?? 0;
    const recoveryBytes = { used: 0 };
    try {
      for (const found of scan.chunks) {
        for (const piece of await this.#fitToReserve(found)) this.#adopt(piece, recoveryBytes);
      }
    } catch (error) {
      throw storageFailure(error, 'recovering the stored chunks failed');
    }
    const report: RecoveryReport = {
      chunks: this.#recovered.chunks,
      records: this.#recovered.records,
      quarantined: this.#quarantined,
      lost: { ...this.#lost },
      unrouted: this.unrouted(),
    };
    const { onRecovered } = this.#options;
    if (onRecovered !== undefined) {
      callGuarded(
        () => onRecovered(report),
        () => {
          this.#listenerErrors += 1;
        },
      );
    }
  }

  /**
   * The recovered chunk, or, when it is larger than an output's reserve (a smaller `chunkBytes`
   * or `reservePerOutput` than the run that stored it), its records rewritten as new chunks of at
   * most `chunkBytes` (see recovery-split.ts).
   */
  async #fitToReserve(found: RecoveredChunk): Promise<RecoveredChunk[]> {
    const { storage, chunkBytes, reservePerOutput } = this.#options;
    const cost = memoryCost(found.bytes, found.recordCount);
    if (cost <= reservePerOutput || found.recordCount === 0) return [found];
    const routes = found.routes.filter((route) => !found.doneRoutes.includes(route));
    if (routes.length === 0) return [found];
    const records = found.records ?? (await storage.read(found.id));
    const pieces: RecoveredChunk[] = [];
    for (const piece of splitRecords(found.id, records, chunkBytes, reservePerOutput)) {
      const header = { id: this.#newChunkId(), tag: found.tag, createdAt: found.createdAt, routes };
      await storage.append(header, piece);
      await storage.seal(header.id);
      let bytes = 0;
      for (const record of piece) bytes += record.length;
      pieces.push({ ...header, recordCount: piece.length, bytes, doneRoutes: [] });
    }
    await storage.sync(); // The pieces are durable before the chunk they replace is gone.
    await storage.delete(found.id);
    return pieces;
  }

  /**
   * Takes over one recovered chunk: it goes to the configured routes it still had; routes that
   * are no longer configured keep it stored, listed by `unrouted()`, until `reroute()` or
   * `dropUnrouted()`. Its records stay in memory while they fit in `recoveryBytesUp` (charged to
   * the inputs' share); the rest stay down and come up through the outputs' reserves.
   */
  #adopt(
    found: RecoveredChunk,
    recoveryBytes: { used: number },
    how: 'recovered' | 'replayed' = 'recovered',
  ): void {
    const pending = found.routes.filter((route) => !found.doneRoutes.includes(route));
    const routes = pending.filter((route) => this.#outputs.has(route));
    const unrouted = pending.filter((route) => !this.#outputs.has(route));
    if (pending.length === 0 || found.recordCount === 0) {
      const { storage } = this.#options;
      // Nothing left to deliver; a failed deletion only means the next open finds it again.
      storage
        .delete(found.id)
        .then(undefined, (error: unknown) =>
          this.#backgroundStorageError(
            new Chunk(found.id, found.tag, found.createdAt, []),
            error,
            'the deletion',
          ),
        );
      return;
    }
    const cost = memoryCost(found.bytes, found.recordCount);
    const comesUp =
      routes.length > 0 &&
      found.records !== undefined &&
      recoveryBytes.used + cost <= this.#options.recoveryBytesUp;
    const chunk = Chunk.fromStorage({
      ...found,
      pending: routes,
      unrouted,
      records: comesUp ? found.records : undefined,
    });
    this.#storedBytes += chunk.bytes;
    const counted = how === 'recovered' ? this.#recovered : this.#replayed;
    counted.chunks += 1;
    counted.records += chunk.recordCount;
    if (routes.length === 0) {
      this.#unrouted.set(chunk.id, chunk); // parked
      return;
    }
    if (comesUp) {
      recoveryBytes.used += cost;
      chunk.charge = this.#budget.input;
      this.#budget.input.tryCharge(cost);
      this.#budget.input.addChunk();
      this.#inputChunks.add(chunk);
      this.#checkSpillable(chunk);
    }
    this.#chunks.add(chunk);
    if (how === 'recovered') this.#acks.recovered(chunk);
    else this.#acks.replayed(chunk);
    recountHolding(chunk, this.#quotaOf); // a recovered backlog counts against its outputs' limits
    for (const route of routes) (this.#outputs.get(route) as OutputState).queue.add(chunk);
  }

  // ---------------------------------------------------------------------------------------------
  // Dead letters, while the pool runs
  // ---------------------------------------------------------------------------------------------

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
  async deadLetters(selection: DeadLetterSelection = {}): Promise<DeadLetter[]> {
    const store = this.#deadLetterStore('deadLetters');
    checkSelection(selection, ['output', 'ids'], 'deadLetters');
    return store.deadLetters(selection);
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
  async replayDeadLetters(
    options: ReplayOptions = {},
  ): Promise<DeadLetterTotals & { damaged: DeadLetter[] }> {
    const store = this.#deadLetterStore('replayDeadLetters');
    checkSelection(options, ['output', 'ids', 'into'], 'replayDeadLetters');
    const { into, ...selection } = options;
    if (into !== undefined && !this.#outputs.has(into)) {
      throw unknownOutput(into, this.#options.outputs);
    }
    const letters = await store.deadLetters(selection);
    const totals = { chunks: 0, records: 0, bytes: 0 };
    const damaged: DeadLetter[] = [];
    // Replayed records are numbered after every record accepted so far: no chunk may still be
    // taking records then (its later records would share the replayed ones' numbers).
    this.#sealOpenChunks();
    for (const letter of letters) {
      if (this.#closing !== undefined) throw closedError();
      if (letter.damage !== undefined) {
        damaged.push(letter);
        continue;
      }
      const found = await store
        .reviveDeadLetter(letter.output, letter.id, into)
        .catch((error: unknown) => {
          throw storageFailure(error, `replaying dead letter ${letter.id} failed`);
        });
      for (const piece of await this.#fitToReserve(found)) {
        this.#adopt(piece, { used: 0 }, 'replayed');
      }
      totals.chunks += 1;
      totals.records += letter.recordCount;
      totals.bytes += letter.bytes;
    }
    for (const state of this.#outputs.values()) this.#serve(state);
    return { ...totals, damaged };
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
  async dropDeadLetters(selection: DeadLetterSelection = {}): Promise<DeadLetterTotals> {
    const store = this.#deadLetterStore('dropDeadLetters');
    checkSelection(selection, ['output', 'ids'], 'dropDeadLetters');
    const totals = { chunks: 0, records: 0, bytes: 0 };
    for (const letter of await store.deadLetters(selection)) {
      const dropped = await store
        .dropDeadLetter(letter.output, letter.id)
        .catch((error: unknown) => {
          throw storageFailure(error, `dropping dead letter ${letter.id} failed`);
        });
      totals.chunks += 1;
      totals.records += dropped.recordCount;
      totals.bytes += dropped.bytes;
    }
    return totals;
  }

  /** The storage's dead-letter calls, when it has them and the pool is open. */
  #deadLetterStore(
    call: string,
  ): Required<Pick<ChunkStorage, 'deadLetters' | 'reviveDeadLetter' | 'dropDeadLetter'>> {
    if (this.#closing !== undefined) throw closedError();
    const { storage } = this.#options;
    const { deadLetters, reviveDeadLetter, dropDeadLetter } = storage;
    if (
      deadLetters === undefined ||
      reviveDeadLetter === undefined ||
      dropDeadLetter === undefined
    ) {
      throw new ChunkPoolError(
        'INVALID_OPTION',
        `${call}: this pool's storage keeps no dead letters (memory storage drops them, counted in stats().outputs.<name>.deadLettered); use fileStorage to keep them`,
      );
    }
    return {
      deadLetters: (selection) => deadLetters.call(storage, selection),
      reviveDeadLetter: (output, id, into) => reviveDeadLetter.call(storage, output, id, into),
      dropDeadLetter: (output, id) => dropDeadLetter.call(storage, output, id),
    };
  }

  // ---------------------------------------------------------------------------------------------
  // Unrouted chunks: stored for outputs no longer configured
  // ---------------------------------------------------------------------------------------------

  /**
   * Chunks still stored for outputs that are no longer configured (an output renamed or removed
   * since they were stored): nothing accepted disappears because the configuration changed. They
   * stay on disk (counted in `stats().unrouted` and within `maxBytesStored`) until you
   * {@link reroute} or {@link dropUnrouted} them. Also given to the `onRecovered` option at open.
   */
  unrouted(): UnroutedChunk[] {
    const list: UnroutedChunk[] = [];
    for (const chunk of this.#withUnroutedRoutes()) {
      list.push({ ...chunk.info(), routes: [...chunk.unroutedRoutes] });
    }
    return list;
  }

  /**
   * Sends every chunk stored for the unconfigured output `from` to the configured output `to`
   * instead (once, if `to` is already one of its routes), recorded in storage so a restart keeps
   * it. Resolves with what was rerouted.
   *
   * @throws {ChunkPoolError} `UNKNOWN_OUTPUT` when `to` is not configured; `INVALID_OPTION` when
   *   `from` is; a storage error if recording a reroute fails (the chunks before it are rerouted).
   */
  async reroute(from: string, to: string): Promise<Volume> {
    const target = this.#outputs.get(to);
    if (target === undefined) throw unknownOutput(to, this.#options.outputs);
    if (this.#outputs.has(from)) {
      throw new ChunkPoolError(
        'INVALID_OPTION',
        `reroute: ${JSON.stringify(from)} is a configured output`,
      );
    }
    const moved = { records: 0, bytes: 0 };
    const { storage } = this.#options;
    for (const chunk of this.#withUnroutedRoutes()) {
      if (!chunk.unroutedRoutes.has(from) || this.#closing !== undefined) continue;
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
      this.#settleUnrouted(chunk);
      recountHolding(chunk, this.#quotaOf); // now against `to`'s limits
      if (!merges && !chunk.done) {
        target.queue.add(chunk);
        this.#serve(target);
      }
    }
    this.#rerouted.records += moved.records;
    this.#rerouted.bytes += moved.bytes;
    return moved;
  }

  /**
   * Gives up on every chunk stored for the unconfigured output `route`: counted in
   * `stats().unrouted.dropped` and emitted as `dropped` (`reason: 'unrouted'`); a chunk is
   * deleted once no route needs it. Resolves with what was dropped.
   */
  async dropUnrouted(route: string): Promise<Volume> {
    const dropped = { records: 0, bytes: 0 };
    const { storage } = this.#options;
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
      this.#unroutedDropped.records += chunk.recordCount;
      this.#unroutedDropped.bytes += chunk.bytes;
      this.#emit('dropped', {
        reason: 'unrouted',
        tag: chunk.tag,
        chunk: chunk.info(),
        outputs: [route],
        records: chunk.recordCount,
        bytes: chunk.bytes,
        data: chunk.records,
      });
      this.#settleUnrouted(chunk);
    }
    return dropped;
  }

  /** Chunks with routes that are no longer configured, parked or still pending elsewhere. */
  #withUnroutedRoutes(): Chunk[] {
    const chunks = [...this.#unrouted.values()];
    for (const chunk of this.#chunks) if (chunk.unroutedRoutes.size > 0) chunks.push(chunk);
    return chunks;
  }

  /** After an unrouted route went: the chunk is pending again, parked, or no longer needed. */
  #settleUnrouted(chunk: Chunk): void {
    if (chunk.pendingRoutes.size > 0) {
      if (this.#unrouted.delete(chunk.id)) {
        chunk.queue(); // parked → queued: pending again
        this.#chunks.add(chunk);
      }
    } else if (chunk.unroutedRoutes.size === 0) {
      this.#forget(chunk);
    }
  }

  /** Every configured route is done but some unconfigured ones remain: kept stored, down. */
  #park(chunk: Chunk): void {
    chunk.park();
    for (const state of this.#outputs.values()) state.queue.delete(chunk);
    if (chunk.leases === 0 && chunk.up) this.#putDown(chunk);
    this.#chunks.delete(chunk);
    this.#acks.settled(chunk);
    this.#inputChunks.delete(chunk); // no longer pending, so never dropped for room
    this.#unrouted.set(chunk.id, chunk);
    if (this.#chunks.size === 0) for (const done of this.#drainWaiters.splice(0)) done();
  }

  #safeRoutes(tag: string): readonly string[] {
    try {
      return this.#routesFor(tag);
    } catch {
      return [];
    }
  }
}

/** What `stats()` adds up per output over the pending chunks. */
interface PendingTally {
  chunks: number;
  records: number;
  bytes: number;
  bytesUp: number;
  waiting: number;
}

function emptyTally(): PendingTally {
  return { chunks: 0, records: 0, bytes: 0, bytesUp: 0, waiting: 0 };
}

function accountStats(account: Account): { bytesUp: number; chunksUp: number; limitBytes: number } {
  return { bytesUp: account.bytes, chunksUp: account.chunks, limitBytes: account.limit };
}

/** A storage failure as a `ChunkPoolError` (kept as it is when it already is one). */
function storageFailure(error: unknown, message: string): ChunkPoolError {
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

function closedError(): ChunkPoolError {
  return new ChunkPoolError('POOL_CLOSED', 'the chunk pool is closed');
}

function abortedError(signal: AbortSignal | undefined): ChunkPoolError {
  return new ChunkPoolError('ABORTED', 'the operation was aborted', { cause: signal?.reason });
}

function unknownOutput(output: unknown, outputs: readonly string[]): ChunkPoolError {
  const shown = typeof output === 'string' ? JSON.stringify(output) : describeThrown(output);
  return new ChunkPoolError(
    'UNKNOWN_OUTPUT',
    `unknown output ${shown}; the pool's outputs are ${outputs.join(', ')}`,
  );
}
