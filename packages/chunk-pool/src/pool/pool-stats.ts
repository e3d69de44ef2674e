/**
 * `stats()`: the pool's gauges and counters, per input share and per output, added up from its
 * parts when asked (nothing on the hot path keeps them).
 *
 * @module
 */
import type { Account } from '../budget.js';
import type { ChunkPoolStats, OutputStats } from '../stats.js';
import type { PoolCore } from './core.js';

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

export function poolStats(pool: PoolCore): ChunkPoolStats {
  const now = pool.options.clock.now();
  const pending = new Map<string, PendingTally>();
  for (const name of pool.outputs.keys()) pending.set(name, emptyTally());
  let downBytes = 0;
  let downChunks = 0;
  for (const chunk of pool.chunks) {
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
  const { holdingBack } = pool.appendWaiters;
  const outputs: Record<string, OutputStats> = {};
  for (const [name, state] of pool.outputs) {
    const entry = pending.get(name) ?? emptyTally();
    const { quota } = state;
    outputs[name] = {
      reserve: accountStats(pool.budget.reserve(name)),
      pendingChunks: entry.chunks,
      pendingRecords: entry.records,
      pendingBytes: entry.bytes,
      bytesUp: entry.bytesUp,
      whenFull: state.policy.whenFull,
      quota: quota?.stats(),
      holdingBack: holdingBack.get(name, now),
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
  const { recovery } = pool;
  return {
    bytesUp: pool.budget.bytesUp,
    maxBytesUp: pool.options.maxBytesUp,
    input: accountStats(pool.budget.input),
    down: { bytes: downBytes, chunks: downChunks },
    stored: { bytes: pool.storedBytes, limitBytes: pool.options.maxBytesStored },
    appendsWaiting: pool.appendWaiters.size,
    heldBackBy: holdingBack.outputs(),
    accepted: { ...pool.accepted },
    droppedWhenFull: { ...pool.droppedWhenFull },
    recovered: { ...recovery.recovered },
    replayed: { ...recovery.replayed },
    quarantined: pool.quarantined,
    lost: { ...recovery.lost },
    unrouted: pool.unrouted.stats(),
    listenerErrors: pool.listenerErrors,
    storageErrors: pool.storageErrors,
    outputs,
  };
}
