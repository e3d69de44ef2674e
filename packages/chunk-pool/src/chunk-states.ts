/**
 * The states of a chunk and their legal moves.
 *
 * A chunk's life is three states, each changed only by the transition methods of `Chunk`
 * (chunk.ts), which throw an {@link IllegalChunkTransition} (a bug in the pool) for a move
 * {@link TRANSITIONS} does not list. docs/chunk-pool.md draws the same table ("A chunk's
 * life"); test/chunk-states.test.ts keeps the two equal.
 *
 * - **phase**, where it is in the pool: `open` (taking records) → `sealing` (no more records;
 *   with `fsync: 'always'` until its last write is on disk) → `queued` (in its routes' queues,
 *   leased or waiting for a retry) → `done` (left the pool). A chunk whose configured routes are
 *   all done but that outputs no longer configured still need is `parked` (kept stored, out of
 *   every queue) until `reroute()` makes it `queued` again or `dropUnrouted()` makes it `done`.
 * - **residency**, where its records are: `up` (in memory), `loading` (being read back from
 *   storage), `down` (only in storage).
 * - **stored**, what storage holds of it: `none` yet (or memory storage), a `complete` copy (so
 *   it may go down), or `failed` (a write failed: it stays up and is delivered from memory).
 *
 * @module
 */

export type ChunkPhase = 'open' | 'sealing' | 'queued' | 'parked' | 'done';
export type ChunkResidency = 'up' | 'loading' | 'down';
export type ChunkStored = 'none' | 'complete' | 'failed';

/**
 * Every legal move of each of a chunk's three states: `from: [to, ...]`. Anything else is a bug
 * in the pool.
 */
export const TRANSITIONS = {
  phase: {
    open: ['sealing'],
    // An empty chunk (its only records' writes failed) leaves without being handed out.
    sealing: ['queued', 'done'],
    queued: ['parked', 'done'],
    parked: ['queued', 'done'],
    done: [],
  },
  residency: {
    up: ['down'],
    down: ['loading'],
    // A failed read leaves it down.
    loading: ['up', 'down'],
  },
  stored: {
    none: ['complete', 'failed'],
    complete: [],
    // Failed stays failed: a later write may fail too, and a torn write is never trusted.
    failed: ['failed'],
  },
} as const satisfies {
  phase: Record<ChunkPhase, readonly ChunkPhase[]>;
  residency: Record<ChunkResidency, readonly ChunkResidency[]>;
  stored: Record<ChunkStored, readonly ChunkStored[]>;
};

/**
 * The states a chunk starts in: a new chunk `open`, `up`, `none`; one taken over from storage
 * (recovered at open, or a replayed dead letter) `queued` or `parked`, `down` or `up` (within
 * `recoveryBytesUp`), `complete`.
 */
export const INITIAL = {
  phase: ['open', 'queued', 'parked'],
  residency: ['up', 'down'],
  stored: ['none', 'complete'],
} as const satisfies {
  phase: readonly ChunkPhase[];
  residency: readonly ChunkResidency[];
  stored: readonly ChunkStored[];
};

/** A chunk asked to make a move its state table does not allow: a bug in the pool, not the user's. */
export class IllegalChunkTransition extends Error {
  override name = 'IllegalChunkTransition';
  constructor(
    readonly chunkId: string,
    readonly state: keyof typeof TRANSITIONS,
    readonly from: string,
    readonly to: string,
  ) {
    super(`internal error: chunk ${chunkId} cannot go from ${state} ${from} to ${to}`);
  }
}

/** Throws {@link IllegalChunkTransition} unless {@link TRANSITIONS} lets `state` go `from` → `to`. */
export function checkTransition(
  chunkId: string,
  state: keyof typeof TRANSITIONS,
  from: string,
  to: string,
): void {
  const allowed = (TRANSITIONS[state] as Record<string, readonly string[]>)[from] ?? [];
  if (!allowed.includes(to)) throw new IllegalChunkTransition(chunkId, state, from, to);
}
