/**
 * What the pool keeps per output: the chunks waiting for it, its leases and waiting takers, its
 * retry policy and breaker, and its counters.
 *
 * @module
 */
import { WaiterQueue } from '@holdfast/internal';
import type { Chunk } from './chunk.js';
import type { ChunkLease } from './lease.js';
import type { DropReason } from './events.js';
import type { OutputPolicy, ResolvedRetry } from './options.js';
import { OutputQuota } from './output-quota.js';
import { abortedError } from './pool/pool-errors.js';
import { Breaker } from './retry-schedule.js';

/** A counter of records and bytes. */
export class VolumeCounter {
  records = 0;
  bytes = 0;

  add(records: number, bytes: number): void {
    this.records += records;
    this.bytes += bytes;
  }
}

/** The reasons an output loses records, each counted in its `stats().outputs[name].droppedByReason`. */
export type OutputDropReason = Exclude<DropReason, 'unrouted'>;

/** One output's state. */
export class OutputState {
  readonly name: string;
  readonly retry: ResolvedRetry;
  readonly breaker: Breaker;
  /** Its own `whenFull` (`undefined`: the pool's, on the pool's budgets) and limits. */
  readonly policy: OutputPolicy;
  /** Its limits and what its backlog holds; only for an output with a limit of its own. */
  readonly quota: OutputQuota | undefined;
  /** Best effort: drops its own oldest chunks for room, never holds an append back. */
  readonly bestEffort: boolean;
  /**
   * Chunks sealed for this output and not leased by it, in the order they should be tried: seal
   * order, with a retried chunk moved to the end.
   */
  readonly queue = new Set<Chunk>();
  /** Leases out now, with their timeout timers. */
  readonly leases = new Map<ChunkLease, { readonly chunk: Chunk; readonly timer: unknown }>();
  /** `take()` calls waiting for a chunk. */
  readonly takers = new WaiterQueue<ChunkLease>({ abortError: abortedError });
  /** Reads from storage under way for this output's takers. */
  loading = 0;
  /** Timer that wakes takers when a retry delay or the breaker's cooldown ends. */
  wakeTimer: unknown;
  wakeAt = Number.POSITIVE_INFINITY;
  readonly delivered = new VolumeCounter();
  readonly dropped = new VolumeCounter();
  readonly droppedByReason: Record<OutputDropReason, VolumeCounter> = {
    'drop-oldest': new VolumeCounter(),
    'drop-newest': new VolumeCounter(),
    'output-dropped': new VolumeCounter(),
    corrupt: new VolumeCounter(),
    'pool-closed': new VolumeCounter(),
  };
  readonly deadLettered = new VolumeCounter();
  retries = 0;
  leaseTimeouts = 0;

  constructor(name: string, retry: ResolvedRetry, breakerThreshold: number, policy: OutputPolicy) {
    this.name = name;
    this.retry = retry;
    this.breaker = new Breaker(breakerThreshold, retry);
    this.policy = policy;
    const limited = policy.maxBytesUp !== Infinity || policy.maxBytesStored !== Infinity;
    this.quota = limited ? new OutputQuota(name, policy) : undefined;
    this.bestEffort = policy.whenFull === 'drop-oldest' || policy.whenFull === 'drop-newest';
  }

  /** A snapshot of `droppedByReason`. */
  droppedByReasonStats(): Record<OutputDropReason, { records: number; bytes: number }> {
    const shown = {} as Record<OutputDropReason, { records: number; bytes: number }>;
    for (const [reason, counter] of Object.entries(this.droppedByReason)) {
      shown[reason as OutputDropReason] = { ...counter };
    }
    return shown;
  }

  /** Counts records this output will not get, in total and by reason. */
  countDropped(reason: DropReason, records: number, bytes: number): void {
    this.dropped.add(records, bytes);
    if (reason in this.droppedByReason) {
      this.droppedByReason[reason as OutputDropReason].add(records, bytes);
    }
  }
}
