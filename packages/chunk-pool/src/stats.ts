/**
 * The shape of `pool.stats()`: gauges of what is up, down and leased, and counters of what has
 * happened, per input share and per output.
 *
 * @module
 */
import type { BreakerState } from './retry-schedule.js';

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
  /** Chunks (and their records) not yet acked or dropped by this output. */
  readonly pendingChunks: number;
  readonly pendingRecords: number;
  /** Leases out now. */
  readonly leases: number;
  /** Pending chunks waiting for a retry delay to pass. */
  readonly retriesWaiting: number;
  /** Counters since open. */
  readonly delivered: Volume;
  readonly retries: number;
  readonly leaseTimeouts: number;
  /** Dropped by `lease.drop()` or because the chunk was corrupt. */
  readonly dropped: Volume;
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
  /** Counters since open. */
  readonly accepted: Volume;
  /** Dropped by `whenFull` (per record or per chunk, for every route the chunk still had). */
  readonly droppedWhenFull: Volume;
  /** Recovered from storage at open. */
  readonly recovered: { readonly chunks: number; readonly records: number };
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
