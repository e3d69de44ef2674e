/**
 * A chunk: records of one tag, sealed at a size or age limit, routed to one or more outputs. The
 * pool's internal view, plus {@link ChunkInfo}, the read-only view outputs and events see.
 *
 * A chunk's life is three explicit states (see chunk-states.ts), changed only by the
 * transition methods below.
 *
 * Over 300 lines: a read-only getter per state and per count, one small method per transition,
 * and the little else a chunk owns (its charge, its `fsync: 'always'` write groups), each
 * documented; split up, a chunk's life would no longer be in one place.
 *
 * @module
 */
import type { Account } from './budget.js';
import { NO_QUOTAS, QuotaHolding, type OutputQuota } from './output-quota.js';
import { memoryCost } from './record-cost.js';
import type { ChunkHeader } from './storage/storage.js';
import {
  checkTransition,
  IllegalChunkTransition,
  type ChunkPhase,
  type ChunkResidency,
  type ChunkStored,
  type TRANSITIONS,
} from './chunk-states.js';

/** What outputs and events see of a chunk. */
export interface ChunkInfo {
  /** Unique across restarts; `[A-Za-z0-9_-]+`. */
  readonly id: string;
  readonly tag: string;
  /**
   * Wall-clock time (ms since the epoch, `Date.now()`) when the chunk got its first record; kept
   * in storage, so recovered chunks are delivered oldest first across restarts.
   */
  readonly createdAt: number;
  readonly recordCount: number;
  /** Payload bytes (the sum of the records' lengths). */
  readonly bytes: number;
}

/** A chunk taken over from storage (recovered at open or replayed from a dead letter). */
export interface StoredChunkInit {
  readonly id: string;
  readonly tag: string;
  readonly createdAt: number;
  readonly routes: readonly string[];
  /** The configured routes it still has to go to. */
  readonly pending: readonly string[];
  /** Its routes that are no longer configured outputs. */
  readonly unrouted: readonly string[];
  readonly recordCount: number;
  readonly bytes: number;
  /** Its records, when it comes up at once (within `recoveryBytesUp`); else it is down. */
  readonly records: readonly Buffer[] | undefined;
}

// Creation order of chunks in this process (see `Chunk.sequence`).
let created = 0;

/** A chunk as the pool tracks it. */
export class Chunk implements ChunkInfo, ChunkHeader {
  /** Grows with each chunk created: a larger one is newer. */
  readonly sequence = created++;
  readonly id: string;
  readonly tag: string;
  readonly createdAt: number;
  readonly routes: readonly string[];
  #phase: ChunkPhase = 'open';
  #residency: ChunkResidency = 'up';
  #stored: ChunkStored = 'none';
  #storageError: Error | undefined;
  /**
   * The records while the chunk is up (invariant: `undefined` exactly when it is not). While the
   * chunk is open the array may be longer than `recordCount` (empty slots, filled by appends);
   * sealing trims it.
   */
  #records: Buffer[] | undefined;
  #recordCount = 0;
  #bytes = 0;
  #leases = 0;
  #charge: Account | undefined;
  /** Configured outputs that have not yet acked or dropped the chunk. */
  readonly pendingRoutes: Set<string>;
  /**
   * Routes of a recovered chunk that are no longer configured outputs: the chunk stays stored
   * for them until `pool.reroute()` or `pool.dropUnrouted()`.
   */
  readonly unroutedRoutes = new Set<string>();
  /** Per output: attempts made so far. */
  readonly attempts = new Map<string, number>();
  /** Per output: clock time before which the chunk is not handed out again (a waiting retry). */
  readonly notBefore = new Map<string, number>();
  /** `fsync: 'always'`: records appended since the last write was started. */
  #unwritten = 0;
  /** `fsync: 'always'`: the write that will carry the `unwritten` records. */
  #pendingWrite: Promise<void> | undefined;
  /** Storage operations on this chunk, in order: each is chained after the previous one. */
  #io: Promise<void> = Promise.resolve();
  #ageTimer: unknown;
  /** What the chunk counts against its routes' own quotas (see output-quota.ts). */
  readonly held = new QuotaHolding();
  /**
   * Outputs the tag routes to that this chunk leaves out: `'drop-newest'` outputs that were full
   * when it opened. Each record placed in it is counted as dropped for them.
   */
  readonly refusedBy: readonly OutputQuota[];

  /**
   * A new, open chunk. `pending`: the routes still to deliver to (default: all of `routes`);
   * `slots`: room for that many records before its array grows; `refusedBy`: see above.
   */
  constructor(
    id: string,
    tag: string,
    createdAt: number,
    routes: readonly string[],
    {
      pending = routes,
      slots = 0,
      refusedBy = NO_QUOTAS,
    }: { pending?: readonly string[]; slots?: number; refusedBy?: readonly OutputQuota[] } = {},
  ) {
    this.id = id;
    this.tag = tag;
    this.createdAt = createdAt;
    this.routes = routes;
    this.pendingRoutes = new Set(pending);
    this.refusedBy = refusedBy;
    this.#records = new Array<Buffer>(slots);
  }

  /** A chunk taken over from storage: sealed, in its routes' queues (or parked), stored. */
  static fromStorage(init: StoredChunkInit): Chunk {
    const chunk = new Chunk(init.id, init.tag, init.createdAt, init.routes, {
      pending: init.pending,
    });
    for (const route of init.unrouted) chunk.unroutedRoutes.add(route);
    chunk.#phase = init.pending.length === 0 ? 'parked' : 'queued';
    chunk.#stored = 'complete';
    chunk.#recordCount = init.recordCount;
    chunk.#bytes = init.bytes;
    chunk.#records = init.records === undefined ? undefined : [...init.records];
    chunk.#residency = init.records === undefined ? 'down' : 'up';
    return chunk;
  }

  get phase(): ChunkPhase {
    return this.#phase;
  }

  get residency(): ChunkResidency {
    return this.#residency;
  }

  get stored(): ChunkStored {
    return this.#stored;
  }

  /** Takes no more records. */
  get sealed(): boolean {
    return this.#phase !== 'open';
  }

  /** In its routes' queues (or leased, or waiting for a retry): may be dropped for room. */
  get queued(): boolean {
    return this.#phase === 'queued';
  }

  /** Every route is done (or the chunk was dropped): it has left the pool. */
  get done(): boolean {
    return this.#phase === 'done';
  }

  get up(): boolean {
    return this.#residency === 'up';
  }

  get loading(): boolean {
    return this.#residency === 'loading';
  }

  /** A complete copy is in storage, so the chunk may go down. */
  get persisted(): boolean {
    return this.#stored === 'complete';
  }

  /** Why the chunk could not be written to storage (it is then delivered from memory). */
  get storageError(): Error | undefined {
    return this.#storageError;
  }

  /** The records while up; `undefined` while loading or down. */
  get records(): Buffer[] | undefined {
    return this.#records;
  }

  get recordCount(): number {
    return this.#recordCount;
  }

  /** Payload bytes. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Leases currently out on this chunk (at most one per output). */
  get leases(): number {
    return this.#leases;
  }

  /** What the records cost the memory budget while up: payload plus per-record overhead. */
  get memoryBytes(): number {
    return memoryCost(this.bytes, this.recordCount);
  }

  /** The account paying for the chunk's records while it is up. */
  get charge(): Account | undefined {
    return this.#charge;
  }

  /** Timer that seals the chunk when it reaches `chunkAge`. */
  get ageTimer(): unknown {
    return this.#ageTimer;
  }

  /** The last step of the chunk's storage chain (it never rejects). */
  get io(): Promise<void> {
    return this.#io;
  }

  // --- phase ------------------------------------------------------------------------------------

  /** open → sealing: takes no more records; the spare slots go. */
  seal(): void {
    this.#move('phase', 'sealing');
    (this.#records as Buffer[]).length = this.#recordCount;
  }

  /** sealing → queued (or parked → queued, rerouted): its routes may lease it. */
  enqueue(): void {
    this.#move('phase', 'queued');
  }

  /** queued → parked: its configured routes are done; outputs no longer configured keep it. */
  park(): void {
    this.#move('phase', 'parked');
  }

  /** → done: it has left the pool; its records (if up) go with it. */
  finish(): void {
    this.#move('phase', 'done');
    if (this.#residency === 'up') this.takeDown();
  }

  // --- residency --------------------------------------------------------------------------------

  /**
   * up → down: its records leave memory. Invariant: only once storage holds a complete copy, or
   * as the chunk leaves the pool; else records would be lost.
   */
  takeDown(): void {
    if (this.#residency === 'up' && this.#stored !== 'complete' && this.#phase !== 'done') {
      throw new IllegalChunkTransition(this.id, 'residency', 'up', `down (stored ${this.#stored})`);
    }
    this.#move('residency', 'down', 'up');
    this.#records = undefined;
  }

  /** down → loading: a read from storage starts. */
  startLoading(): void {
    this.#move('residency', 'loading');
  }

  /** loading → up: the read brought `records` back. */
  loaded(records: Buffer[]): void {
    this.#move('residency', 'up');
    this.#records = records;
  }

  /** loading → down: the read failed. */
  loadFailed(): void {
    this.#move('residency', 'down', 'loading');
  }

  // --- stored -----------------------------------------------------------------------------------

  /** none → complete: every record is in storage. */
  markStored(): void {
    this.#move('stored', 'complete');
  }

  /** none (or failed) → failed: a write of this chunk failed with `error`. */
  markStoreFailed(error: Error): void {
    this.#move('stored', 'failed');
    this.#storageError = error;
  }

  // --- records and leases -----------------------------------------------------------------------

  /** Adds a record to an open chunk (in a spare slot when there is one). */
  addRecord(record: Buffer): void {
    // Only an open chunk takes records: anything else is the pool's bug, like a bad transition.
    if (this.#phase !== 'open') {
      throw new IllegalChunkTransition(this.id, 'phase', this.#phase, 'open');
    }
    (this.#records as Buffer[])[this.#recordCount] = record;
    this.#bytes += record.length;
    this.#recordCount += 1;
  }

  /** Takes `count` records from `start` out again (their durable write failed); returns them. */
  removeRecords(start: number, count: number): Buffer[] {
    const removed = (this.#records as Buffer[]).splice(start, count);
    for (const record of removed) this.#bytes -= record.length;
    this.#recordCount -= removed.length;
    return removed;
  }

  /** From now on `account` pays for the records (the caller charged it). */
  chargeTo(account: Account): void {
    this.#charge = account;
  }

  /**
   * Gives back to its account what the records of an up chunk cost; the chunk is then on no
   * account. False (and nothing done) when it was on none, or is not up.
   */
  releaseCharge(): boolean {
    const charge = this.#charge;
    if (charge === undefined || !this.up) return false;
    charge.release(this.memoryBytes);
    charge.removeChunk();
    this.#charge = undefined;
    return true;
  }

  /** The timer that seals the chunk at `chunkAge`, set when it opens. */
  setAgeTimer(timer: unknown): void {
    this.#ageTimer = timer;
  }

  /**
   * `fsync: 'always'`: the record just added goes to storage with every record added since the
   * last write started, as one group written after the chunk's earlier writes:
   * `write(chunk, batch, start)` is called once per group, and every append of the group waits
   * for the same promise.
   */
  writeGroup(
    write: (chunk: Chunk, batch: Buffer[], start: number) => Promise<void>,
  ): Promise<void> {
    this.#unwritten += 1;
    this.#pendingWrite ??= this.chain(() => {
      const end = this.#recordCount;
      const start = end - this.#unwritten;
      const batch = (this.#records as Buffer[]).slice(start, end);
      this.#unwritten = 0;
      this.#pendingWrite = undefined;
      return write(this, batch, start);
    });
    return this.#pendingWrite;
  }

  leased(): void {
    this.#leases += 1;
  }

  leaseEnded(): void {
    this.#leases -= 1;
  }

  /** Chains a storage operation after the previous ones on this chunk. */
  chain(operation: () => Promise<void>): Promise<void> {
    const next = this.#io.then(operation);
    // The chain itself must survive a failed step; callers handle the failure on `next`.
    this.#io = next.catch(() => undefined);
    return next;
  }

  /** The read-only view handed to outputs and events. */
  info(): ChunkInfo {
    return {
      id: this.id,
      tag: this.tag,
      createdAt: this.createdAt,
      recordCount: this.recordCount,
      bytes: this.bytes,
    };
  }

  /**
   * Moves `state` to `to` if the table allows it (and, for a method that makes only one of the
   * table's moves to `to`, if the state is `onlyFrom`); else throws, changing nothing.
   */
  #move<S extends keyof typeof TRANSITIONS>(state: S, to: string, onlyFrom?: string): void {
    const from =
      state === 'phase' ? this.#phase : state === 'residency' ? this.#residency : this.#stored;
    if (onlyFrom !== undefined && from !== onlyFrom) {
      throw new IllegalChunkTransition(
        this.id,
        state,
        from,
        `${to} (this way only from ${onlyFrom})`,
      );
    }
    checkTransition(this.id, state, from, to);
    if (state === 'phase') this.#phase = to as ChunkPhase;
    else if (state === 'residency') this.#residency = to as ChunkResidency;
    else this.#stored = to as ChunkStored;
  }
}
