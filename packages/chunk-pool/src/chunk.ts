/**
 * A chunk: records of one tag, sealed at a size or age limit, routed to one or more outputs. The
 * pool's internal view, plus {@link ChunkInfo}, the read-only view outputs and events see.
 *
 * @module
 */
import type { Account } from './budget.js';
import { NO_QUOTAS, QuotaHolding, type OutputQuota } from './output-quota.js';
import { memoryCost } from './record-cost.js';
import type { ChunkHeader } from './storage/storage.js';

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
  /**
   * The records while the chunk is up; `undefined` while it is down (only in storage). While the
   * chunk is open the array may be longer than `recordCount` (empty slots, filled by appends);
   * sealing trims it.
   */
  records: Buffer[] | undefined = [];
  recordCount = 0;
  bytes = 0;
  sealed = false;
  /** A complete copy is in storage, so the chunk may go down. */
  persisted = false;
  /** The account paying for the chunk's bytes while it is up. */
  charge: Account | undefined;
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
  /** Leases currently out on this chunk (at most one per output). */
  leases = 0;
  /** Every route is done (or the chunk was dropped): it has left the pool. */
  done = false;
  /**
   * In its routes' queues: sealed and, with `fsync: 'always'`, every append on disk. Only such a
   * chunk may be dropped by `whenFull: 'drop-oldest'` — before, its appends have not resolved, so
   * its records are not accepted yet and cannot be counted as dropped.
   */
  handedOut = false;
  /** `fsync: 'always'`: records appended since the last write was started. */
  unwritten = 0;
  /** `fsync: 'always'`: the write that will carry the `unwritten` records. */
  pendingWrite: Promise<void> | undefined;
  /** Why the chunk could not be written to storage (it is then delivered from memory). */
  storageError: Error | undefined;
  /** A read from storage is under way. */
  loading = false;
  /** Storage operations on this chunk, in order: each is chained after the previous one. */
  io: Promise<void> = Promise.resolve();
  /** Timer that seals the chunk when it reaches `chunkAge`. */
  ageTimer: unknown;
  /** What the chunk counts against its routes' own quotas (see output-quota.ts). */
  readonly held = new QuotaHolding();
  /**
   * Outputs the tag routes to that this chunk leaves out: `'drop-newest'` outputs that were full
   * when it opened. Each record placed in it is counted as dropped for them.
   */
  refusedBy: readonly OutputQuota[] = NO_QUOTAS;

  /** `pending`: the routes still to deliver to (default: all of `routes`). */
  constructor(
    id: string,
    tag: string,
    createdAt: number,
    routes: readonly string[],
    pending: readonly string[] = routes,
  ) {
    this.id = id;
    this.tag = tag;
    this.createdAt = createdAt;
    this.routes = routes;
    this.pendingRoutes = new Set(pending);
  }

  /** What the records cost the memory budget while up: payload plus per-record overhead. */
  get memoryBytes(): number {
    return memoryCost(this.bytes, this.recordCount);
  }

  get up(): boolean {
    return this.records !== undefined;
  }

  /** Chains a storage operation after the previous ones on this chunk. */
  chain(operation: () => Promise<void>): Promise<void> {
    const next = this.io.then(operation);
    // The chain itself must survive a failed step; callers handle the failure on `next`.
    this.io = next.catch(() => undefined);
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
}
