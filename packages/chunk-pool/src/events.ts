/**
 * The pool's typed events. Listeners run synchronously inside the pool's bookkeeping: keep them
 * short, and do not call back into the pool from them.
 *
 * @module
 */
import type { ChunkInfo } from './chunk.js';
import type { ChunkPoolError } from './errors.js';
import type { BreakerState } from './retry-schedule.js';
import type { SettledEvent } from './delivery-acks.js';

/** Why records left the pool without being delivered. */
export type DropReason =
  'drop-newest' | 'drop-oldest' | 'output-dropped' | 'corrupt' | 'pool-closed' | 'unrouted';

/** Records dropped by a policy; always counted in `stats()` too. */
export interface DroppedEvent {
  readonly reason: DropReason;
  readonly tag: string;
  /** The chunk, or `undefined` for a single record refused by `'drop-newest'`. */
  readonly chunk: ChunkInfo | undefined;
  /** The outputs that will not get these records. */
  readonly outputs: readonly string[];
  readonly records: number;
  readonly bytes: number;
  /** The records themselves when they were in memory (to log or divert them). */
  readonly data: readonly Buffer[] | undefined;
  /** The reason an output gave to `lease.drop(reason)`. */
  readonly detail?: string;
}

/** A chunk that went past its output's `retry.maxAttempts`. */
export interface DeadLetterEvent {
  readonly output: string;
  readonly chunk: ChunkInfo;
  readonly reason: string;
  /** The records (also written to `rejected/<output>/` with file storage). */
  readonly data: readonly Buffer[];
}

/**
 * Why an output holds the inputs back: its own backlog is full (`maxBytesUp` or `maxBytesStored`
 * with `whenFull: 'block'`), or the pool's budget is full and it has not yet taken the oldest
 * chunk in it (of the outputs that do not drop for room).
 */
export type HoldingBackReason = 'output-full' | 'pool-full';

/** An output started or stopped holding the inputs back (appends wait because of it). */
export interface HoldingBackEvent {
  readonly output: string;
  readonly state: 'started' | 'ended';
  readonly reason: HoldingBackReason;
  /** Wall-clock time (ms since the epoch) when it started. */
  readonly startedAt: number;
  /** How long it has held the inputs back (0 when it starts), on the pool's clock. */
  readonly durationMs: number;
}

/** Event names and their arguments, for `pool.on(name, listener)`. */
export interface ChunkPoolEvents {
  /** A chunk was sealed and handed to its routes. */
  sealed: [chunk: ChunkInfo];
  dropped: [event: DroppedEvent];
  'dead-letter': [event: DeadLetterEvent];
  /** A damaged chunk file was moved to quarantine. */
  quarantined: [event: { readonly chunkId: string; readonly reason: string }];
  /** An output's breaker changed state. */
  breaker: [event: { readonly output: string; readonly state: BreakerState }];
  /** A lease was not settled within `leaseTimeout`; its chunk is handed out again. */
  'lease-expired': [event: { readonly output: string; readonly chunk: ChunkInfo }];
  /**
   * A chunk's records reached their final state on every route (see `pool.whenSettled()`): the
   * delivery acknowledgement an input checkpoints on.
   */
  settled: [event: SettledEvent];
  /** An output started or stopped holding the inputs back; see `stats().heldBackBy`. */
  'holding-back': [event: HoldingBackEvent];
  /** Storage failed; the chunk stays in memory and is still delivered. */
  'storage-error': [event: { readonly chunk: ChunkInfo; readonly error: ChunkPoolError }];
}

/** A stored chunk held for outputs that are no longer configured (see `pool.unrouted()`). */
export interface UnroutedChunk extends ChunkInfo {
  /** The unconfigured outputs it is still stored for. */
  readonly routes: readonly string[];
}

/**
 * What `ChunkPool.open` found in storage, given to the `onRecovered` option before `open`
 * resolves (an event would fire before anyone could listen).
 */
export interface RecoveryReport {
  /** Chunks and records taken over (including unrouted ones). */
  readonly chunks: number;
  readonly records: number;
  /** Damaged segment files moved to quarantine. */
  readonly quarantined: number;
  /** What the damage cost. */
  readonly lost: { readonly records: number; readonly bytes: number };
  /** Chunks kept for outputs no longer configured: `reroute()` or `dropUnrouted()` them. */
  readonly unrouted: readonly UnroutedChunk[];
}
