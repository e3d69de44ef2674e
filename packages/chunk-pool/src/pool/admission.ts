/**
 * Admission: whether a record fits now, on the inputs' side of the budget. Charges the record to
 * the inputs' share and the storage budget when both have room; applies the outputs' own limits;
 * makes room by the drops the `whenFull` policies allow. Never waits: an input never holds one
 * resource while waiting for another (waiting is {@link AppendWaiters}'s).
 *
 * @module
 */
import type { Chunk } from '../chunk.js';
import type { AppendOutcome } from './append-waiters.js';
import { bestEffortVictim, oldestDroppableFor } from '../output-policy.js';
import { blockingQuotas, NO_QUOTAS, quotasOf, type OutputQuota } from '../output-quota.js';
import type { OutputState } from '../output-state.js';
import { memoryCost } from '../record-cost.js';
import type { PoolCore } from './core.js';

const DROPPED: Promise<AppendOutcome> = Promise.resolve('dropped');

export class Admission {
  readonly #pool: PoolCore;
  /**
   * Set by each admission (see {@link #admitToOutputs}) for the record it admits next: the
   * `'drop-newest'` outputs that are full, which the record's chunk leaves out; and whether those
   * are all the record's outputs (then it is dropped, not admitted).
   */
  refusing: readonly OutputQuota[] = NO_QUOTAS;
  refusedEverywhere = false;

  constructor(pool: PoolCore) {
    this.#pool = pool;
  }

  /**
   * Charges a record of `bytes` bytes to the inputs' share (its memory cost, see record-cost.ts)
   * and to the storage budget (its payload) if both have room. With file storage, memory
   * pressure first moves stored chunks down.
   */
  admit(tag: string, bytes: number): boolean {
    const pool = this.#pool;
    // Without per-output policies, admission is the pool's budgets alone (the hot path).
    if (!pool.limited && !pool.bestEffort) return this.#admitToPool(bytes);
    if (pool.limited && !this.#admitToOutputs(tag, bytes)) return false;
    return this.#admitToPool(bytes) || (pool.bestEffort && this.#dropForBestEffort(bytes));
  }

  /** The pool's budgets: storage, then the inputs' share (moving stored chunks down first). */
  #admitToPool(bytes: number): boolean {
    const pool = this.#pool;
    if (pool.storedBytes + bytes > pool.options.maxBytesStored) return false;
    const input = pool.budget.input;
    const cost = memoryCost(bytes, 1);
    if (input.tryCharge(cost)) return true;
    if (!pool.options.storage.persistent) return false;
    pool.memory.spill(cost);
    return input.tryCharge(cost);
  }

  /**
   * The limits of the outputs a record of `tag` goes to: false when a critical (`'block'`) one is
   * full; a full best-effort one first gives up its oldest chunks, and never refuses the record.
   */
  #admitToOutputs(tag: string, bytes: number): boolean {
    const quotas = this.quotasFor(tag);
    const cost = memoryCost(bytes, 1);
    const { persistent } = this.#pool.options.storage;
    this.refusing = NO_QUOTAS;
    this.refusedEverywhere = false;
    if (blockingQuotas(quotas, cost, bytes, persistent).length > 0) return false;
    const refusing = quotas.filter(
      (quota) => quota.whenFull === 'drop-newest' && quota.full(cost, bytes, persistent),
    );
    if (refusing.length > 0) {
      this.refusing = refusing;
      this.refusedEverywhere = refusing.length >= this.#routeCount(tag);
      if (this.refusedEverywhere) return false;
    }
    for (const quota of quotas) {
      if (quota.whenFull !== 'drop-oldest') continue;
      const state = this.#pool.outputs.get(quota.output) as OutputState;
      while (quota.full(cost, bytes, persistent)) {
        const victim = oldestDroppableFor(state);
        if (victim === undefined) break; // over its limit by what it has leased: admitted anyway
        this.#dropFor(state, victim);
      }
    }
    return true;
  }

  /**
   * The quotas of the outputs a record of `tag` goes to: those its open chunk counts against, or
   * those of `route(tag)` (a `route()` that fails is reported when the record is placed).
   */
  quotasFor(tag: string): readonly OutputQuota[] {
    const open = this.#pool.openChunks.get(tag);
    if (open !== undefined) {
      return open.refusedBy.length === 0
        ? open.held.outputs
        : [...open.held.outputs, ...open.refusedBy];
    }
    try {
      return quotasOf(this.#pool.routesFor(tag), this.#pool.quotaOf);
    } catch {
      return [];
    }
  }

  /** How many outputs a record of `tag` goes to (`Infinity` when `route()` fails). */
  #routeCount(tag: string): number {
    const open = this.#pool.openChunks.get(tag);
    if (open !== undefined) return open.routes.length + open.refusedBy.length;
    try {
      return this.#pool.routesFor(tag).length;
    } catch {
      return Number.POSITIVE_INFINITY;
    }
  }

  /** A record every output of its tag refuses (`'drop-newest'`, all full): counted, emitted. */
  dropRefused(tag: string, record: Buffer): Promise<AppendOutcome> {
    this.countRefused(this.refusing, 1, record.length);
    this.#pool.emit('dropped', {
      reason: 'drop-newest',
      tag,
      chunk: undefined,
      outputs: this.refusing.map((quota) => quota.output),
      records: 1,
      bytes: record.length,
      data: [record],
    });
    return DROPPED;
  }

  /** `whenFull: 'drop-newest'` on the pool's budget: the record is dropped, counted, emitted. */
  dropNewest(tag: string, record: Buffer): Promise<AppendOutcome> {
    this.#pool.droppedWhenFull.add(1, record.length);
    this.#pool.emit('dropped', {
      reason: 'drop-newest',
      tag,
      chunk: undefined,
      outputs: this.#pool.routesOrNone(tag),
      records: 1,
      bytes: record.length,
      data: [record],
    });
    return DROPPED;
  }

  countRefused(quotas: readonly OutputQuota[], records: number, bytes: number): void {
    for (const quota of quotas) {
      this.#pool.outputs.get(quota.output)?.countDropped('drop-newest', records, bytes);
    }
  }

  /** Best-effort outputs give up the oldest chunks only they still need until `bytes` fit. */
  #dropForBestEffort(bytes: number): boolean {
    const pool = this.#pool;
    for (;;) {
      const storageBound = pool.storedBytes + bytes > pool.options.maxBytesStored;
      const victim = bestEffortVictim(storageBound ? pool.chunks : pool.inputChunks, pool.outputs);
      if (victim === undefined) return false;
      pool.departures.dropChunk(victim, 'drop-oldest', [...victim.pendingRoutes]);
      if (this.#admitToPool(bytes)) return true;
    }
  }

  /** A best-effort output gives up `chunk` for itself alone, counted and emitted. */
  #dropFor(state: OutputState, chunk: Chunk): void {
    // Never rejects: a failed done mark is reported by settleRoute itself.
    this.#pool.departures
      .dropForOutput(state, chunk, 'drop-oldest')
      .then(undefined, (error: unknown) =>
        this.#pool.backgroundStorageError(chunk, error, 'a drop'),
      );
  }

  /** `drop-oldest`: drops the oldest sealed, unleased chunks until `bytes` fit. */
  dropOldestUntilFits(tag: string, bytes: number): boolean {
    for (;;) {
      if (this.admit(tag, bytes)) return true;
      const victim = this.#oldestDroppable(bytes);
      if (victim === undefined) return false;
      this.#pool.departures.dropChunk(victim, 'drop-oldest', [...victim.pendingRoutes]);
    }
  }

  #oldestDroppable(bytes: number): Chunk | undefined {
    const pool = this.#pool;
    const storageBound = pool.storedBytes + bytes > pool.options.maxBytesStored;
    // Under memory pressure only a chunk on the inputs' account frees what inputs need: looking
    // among those alone skips the backlog that is down, which an outage makes long (#18).
    for (const chunk of storageBound ? pool.chunks : pool.inputChunks) {
      if (!chunk.queued || chunk.leases > 0 || chunk.loading) continue;
      return chunk;
    }
    return undefined;
  }
}
