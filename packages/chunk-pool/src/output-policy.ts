/**
 * The decisions of per-output policies (issue #19), apart from the pool that acts on them: which
 * chunk a best-effort output gives up, which chunk the pool gives up first when its own budget is
 * full, and which output holds the inputs back. Each looks only at what it is given.
 *
 * @module
 */
import type { Chunk } from './chunk.js';
import type { OutputState } from './output-state.js';

/**
 * The oldest chunk `state` may give up for room: the first in its queue (seal order; its own
 * leases are not in it) that is handed out and not being read back. A chunk another output has
 * leased may be given up: only this output's route goes.
 */
export function oldestDroppableFor(state: OutputState): Chunk | undefined {
  for (const chunk of state.queue) {
    if (chunk.queued && !chunk.loading) return chunk;
  }
  return undefined;
}

/**
 * The oldest chunk among `chunks` (in creation order) that only best-effort outputs still need,
 * none of them holding a lease on it: what the pool gives up first when its own budget is full.
 */
export function bestEffortVictim(
  chunks: Iterable<Chunk>,
  outputs: ReadonlyMap<string, OutputState>,
): Chunk | undefined {
  for (const chunk of chunks) {
    if (!chunk.queued || chunk.leases > 0 || chunk.loading) continue;
    // Still stored for an output no longer configured: kept for it (see `pool.unrouted()`).
    if (chunk.pendingRoutes.size === 0 || chunk.unroutedRoutes.size > 0) continue;
    let onlyBestEffort = true;
    for (const route of chunk.pendingRoutes) {
      if (outputs.get(route)?.bestEffort !== true) {
        onlyBestEffort = false;
        break;
      }
    }
    if (onlyBestEffort) return chunk;
  }
  return undefined;
}

/**
 * The outputs that hold the oldest of `chunks` (in creation order) among those that do not drop
 * for room: when the pool's budget is full, the chunk the inputs wait on first. Chunks only
 * best-effort outputs still need (the ones being filled or leased: the others have been given up)
 * are passed over, so the walk is as short as the leases and open chunks are few.
 */
export function oldestHolders(
  chunks: Iterable<Chunk>,
  outputs: ReadonlyMap<string, OutputState>,
): string[] {
  for (const chunk of chunks) {
    const holders = [...chunk.pendingRoutes].filter(
      (route) => outputs.get(route)?.bestEffort === false,
    );
    if (holders.length > 0) return holders;
  }
  return [];
}

/** Whether `chunk` counts against an output's memory quota that is already past its limit. */
export function overMemoryQuota(chunk: Chunk): boolean {
  return chunk.held.outputs.some((quota) => quota.bytesUp > quota.maxBytesUp);
}
