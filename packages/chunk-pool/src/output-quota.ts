/**
 * An output's own limits on what its backlog holds (issue #19), and the running count of what it
 * holds: the chunks still pending for it, by their memory cost while up and by their payload.
 *
 * Invariant: for every output with a quota, `bytesUp` and `bytesStored` are the sums over the
 * chunks whose `pendingRoutes` name it of, respectively, `memoryBytes` (for the chunks that are
 * up) and `bytes`. Each chunk remembers what it has counted ({@link QuotaHolding}); the pool calls
 * {@link recountHolding} after every transition that can change a chunk's routes, size or
 * up/down state, and {@link QuotaHolding.addRecord} on the append path (no recount per record).
 *
 * @module
 */
import type { Chunk } from './chunk.js';
import type { OutputPolicy, OutputWhenFull } from './options.js';
import type { OutputQuotaStats } from './stats.js';

/** One output's limits and what its backlog holds now. */
export class OutputQuota {
  readonly output: string;
  readonly whenFull: OutputWhenFull;
  readonly maxBytesUp: number;
  readonly maxBytesStored: number;
  /** Memory cost of the chunks pending for this output that are up. */
  bytesUp = 0;
  /** Payload bytes of the chunks pending for this output. */
  bytesStored = 0;

  constructor(output: string, policy: OutputPolicy) {
    this.output = output;
    this.whenFull = policy.whenFull ?? 'block';
    this.maxBytesUp = policy.maxBytesUp;
    this.maxBytesStored = policy.maxBytesStored;
  }

  /**
   * Whether one more record, costing `cost` in memory and `bytes` of payload, would pass a limit.
   * With persistent storage memory is not a limit here: chunks past `maxBytesUp` go down instead
   * (see {@link overMemoryQuota}).
   */
  full(cost: number, bytes: number, persistent: boolean): boolean {
    return (
      this.bytesStored + bytes > this.maxBytesStored ||
      (!persistent && this.bytesUp + cost > this.maxBytesUp)
    );
  }

  /** What `stats()` shows of it. */
  stats(): OutputQuotaStats {
    const { whenFull, bytesUp, maxBytesUp, bytesStored, maxBytesStored } = this;
    return { whenFull, bytesUp, maxBytesUp, bytesStored, maxBytesStored };
  }
}

/** The quotas of `routes` (the outputs that have one). */
export function quotasOf(
  routes: Iterable<string>,
  quotaOf: (output: string) => OutputQuota | undefined,
): OutputQuota[] {
  const quotas: OutputQuota[] = [];
  for (const route of routes) {
    const quota = quotaOf(route);
    if (quota !== undefined) quotas.push(quota);
  }
  return quotas;
}

/** Whether `a` and `b` hold the same quotas (in any order). */
export function sameQuotas(a: readonly OutputQuota[], b: readonly OutputQuota[]): boolean {
  return a.length === b.length && a.every((quota) => b.includes(quota));
}

/** The critical (`'block'`) quotas among `quotas` that one more record would pass. */
export function blockingQuotas(
  quotas: readonly OutputQuota[],
  cost: number,
  bytes: number,
  persistent: boolean,
): OutputQuota[] {
  return quotas.filter(
    (quota) => quota.whenFull === 'block' && quota.full(cost, bytes, persistent),
  );
}

/** No quota: shared, never written to. */
export const NO_QUOTAS: readonly OutputQuota[] = [];
const NONE = NO_QUOTAS;

/** What one chunk has counted against the quotas of its pending routes. */
export class QuotaHolding {
  outputs: readonly OutputQuota[] = NONE;
  up = 0;
  stored = 0;

  /** A record placed in the (open, so up) chunk. */
  addRecord(cost: number, bytes: number): void {
    this.up += cost;
    this.stored += bytes;
    for (const quota of this.outputs) {
      quota.bytesUp += cost;
      quota.bytesStored += bytes;
    }
  }
}

/**
 * Brings what `chunk` counts against its routes' quotas in line with its state now: its pending
 * routes (none once done), its size, up or down. `quotaOf` gives an output's quota, if it has one.
 */
export function recountHolding(
  chunk: Chunk,
  quotaOf: (output: string) => OutputQuota | undefined,
): void {
  const held = chunk.held;
  for (const quota of held.outputs) {
    quota.bytesUp -= held.up;
    quota.bytesStored -= held.stored;
  }
  const outputs = chunk.done ? [] : quotasOf(chunk.pendingRoutes, quotaOf);
  held.outputs = outputs.length === 0 ? NONE : outputs;
  held.up = chunk.up ? chunk.memoryBytes : 0;
  held.stored = chunk.bytes;
  for (const quota of held.outputs) {
    quota.bytesUp += held.up;
    quota.bytesStored += held.stored;
  }
}
