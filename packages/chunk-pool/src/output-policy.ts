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
    if (chunk.handedOut && !chunk.loading) return chunk;
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
    if (!chunk.handedOut || chunk.leases > 0 || chunk.loading) continue;
    if (chunk.pendingRoutes.size === 0) continue;
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
 * Among the outputs that do not drop for room, the one whose pending chunks hold the most of the
 * full resource: memory (`chunkMemory` of the chunks given, up on the inputs' account) or storage
 * (payload bytes). That output is the one holding the inputs back.
 */
export function largestHolder(
  chunks: Iterable<Chunk>,
  outputs: ReadonlyMap<string, OutputState>,
  storageBound: boolean,
): string | undefined {
  const held = new Map<string, number>();
  for (const chunk of chunks) {
    const size = storageBound ? chunk.bytes : chunk.memoryBytes;
    for (const route of chunk.pendingRoutes) {
      if (outputs.get(route)?.bestEffort !== false) continue;
      held.set(route, (held.get(route) ?? 0) + size);
    }
  }
  let largest: string | undefined;
  let most = 0;
  for (const [output, bytes] of held) {
    if (bytes > most) {
      most = bytes;
      largest = output;
    }
  }
  return largest;
}

/** Whether `chunk` counts against an output's memory quota that is already past its limit. */
export function overMemoryQuota(chunk: Chunk): boolean {
  return chunk.held.outputs.some((quota) => quota.bytesUp > quota.maxBytesUp);
}
