/**
 * The shape of `pool.stats()`: gauges of what is up, down and leased, and counters of what has
 * happened, per input share and per output.
 *
 * @module
 */
import type { HoldingBack } from './holding-back.js';
import type { OutputWhenFull } from './options.js';
import type { OutputDropReason } from './output-state.js';
import type { BreakerState } from './retry-schedule.js';

export type { HoldingBack } from './holding-back.js';
export type { OutputDropReason } from './output-state.js';

/** An output's own limits and what its backlog holds against them (what admission compares). */
export interface OutputQuotaStats {
  readonly whenFull: OutputWhenFull;
  readonly bytesUp: number;
  readonly maxBytesUp: number;
  readonly bytesStored: number;
  readonly maxBytesStored: number;
}

/** Bytes and chunks in memory charged to one account, and the account's limit. */
export interface AccountStats {
  readonly bytesUp: number;
  readonly chunksUp: number;
  readonly limitBytes: number;
}

/** Records and bytes. */
export interface Volume {
  readonly records: number;
  readonly bytes: number;
}

/** One output's view of the pool. */
export interface OutputStats {
  /** Memory only this output may use to bring chunks up. */
  readonly reserve: AccountStats;
  /** Chunks (and their records and payload bytes) not yet acked or dropped by this output. */
  readonly pendingChunks: number;
  readonly pendingRecords: number;
  readonly pendingBytes: number;
  /** Memory its pending chunks hold while up (records' cost, as `maxBytesUp` counts it). */
  readonly bytesUp: number;
  /**
   * Its own `whenFull` when it sets one: `'drop-oldest'` makes it best effort. `undefined`: the
   * pool's `whenFull` applies, on the pool's budgets.
   */
  readonly whenFull: OutputWhenFull | undefined;
  /** Its own limits (`outputs[].maxBytesUp`, `maxBytesStored`), if it sets any. */
  readonly quota: OutputQuotaStats | undefined;
  /** Whether, why and since when appends wait because of this output. */
  readonly holdingBack: HoldingBack | undefined;
  /** Leases out now. */
  readonly leases: number;
  /** Pending chunks waiting for a retry delay to pass. */
  readonly retriesWaiting: number;
  /** Counters since open. */
  readonly delivered: Volume;
  readonly retries: number;
  readonly leaseTimeouts: number;
  /**
   * Records this output will not get: dropped by `lease.drop()`, by a `drop-oldest` policy (its
   * own or the pool's), because the chunk was corrupt, or at `close()` with memory storage.
   */
  readonly dropped: Volume;
  /** `dropped`, by reason. */
  readonly droppedByReason: Readonly<Record<OutputDropReason, Volume>>;
  /** Past `retry.maxAttempts`: in the dead-letter store. */
  readonly deadLettered: Volume;
  readonly breaker: BreakerState;
}

/** What `pool.stats()` returns. */
export interface ChunkPoolStats {
  /** All memory in use, and `maxBytesUp`. */
  readonly bytesUp: number;
  readonly maxBytesUp: number;
  /** The inputs' share of memory (open chunks, and sealed chunks up on the inputs' account). */
  readonly input: AccountStats;
  /** Chunks only in storage. */
  readonly down: { readonly bytes: number; readonly chunks: number };
  /** Bytes accepted and not yet done, and `maxBytesStored`. */
  readonly stored: { readonly bytes: number; readonly limitBytes: number };
  /** Appends waiting for room (`whenFull: 'block'`). */
  readonly appendsWaiting: number;
  /** The outputs holding the inputs back now, in the order they started (see `holdingBack`). */
  readonly heldBackBy: readonly string[];
  /** Counters since open. */
  readonly accepted: Volume;
  /**
   * Dropped by `whenFull` for every route the chunk still had (per record or per chunk): by the
   * pool's, and by best-effort outputs' when the pool's budget was full. What one output's own
   * limit made it give up is in its `droppedByReason`.
   */
  readonly droppedWhenFull: Volume;
  /** Recovered from storage at open. */
  readonly recovered: { readonly chunks: number; readonly records: number };
  /** Dead letters replayed into the running pool (`pool.replayDeadLetters()`), since it opened. */
  readonly replayed: { readonly chunks: number; readonly records: number };
  /** Damaged storage moved to quarantine: segment files found damaged at open, chunks that fail to read. */
  readonly quarantined: number;
  /**
   * What damaged storage cost at open: records (where the damaged bytes still tell how many) and
   * bytes that no chunk could keep. A changed byte costs at most the frame it hits.
   */
  readonly lost: Volume;
  /**
   * Stored chunks held for outputs no longer configured (see `pool.unrouted()`): what is held
   * now, and what was rerouted or dropped since open.
   */
  readonly unrouted: {
    readonly chunks: number;
    readonly records: number;
    readonly bytes: number;
    readonly rerouted: Volume;
    readonly dropped: Volume;
  };
  /** Event listeners that threw or rejected (each call counts once; the pool went on). */
  readonly listenerErrors: number;
  /**
   * Storage calls that failed after the pool had moved on: done marks, deletions, dead letters,
   * quarantine copies (each also emitted as `storage-error`). A failed done mark or deletion
   * costs at most a redelivery after a restart; a failed dead letter is tried again.
   */
  readonly storageErrors: number;
  readonly outputs: Readonly<Record<string, OutputStats>>;
}
