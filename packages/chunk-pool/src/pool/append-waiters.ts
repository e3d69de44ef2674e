/**
 * Appends that do not fit now: the `whenFull` policy decides (drop the record, drop the oldest
 * chunks, or wait), and waiting appends are let in first in, first out whenever something is
 * freed. Also who holds the waiting appends back (`stats().heldBackBy`, `'holding-back'`).
 *
 * @module
 */
import { WaiterQueue } from '@holdfast/internal';
import type { HoldingBackReason } from '../events.js';
import { HoldingBackTracker } from '../holding-back.js';
import { oldestHolders } from '../output-policy.js';
import { blockingQuotas } from '../output-quota.js';
import { memoryCost } from '../record-cost.js';
import type { PoolCore } from './core.js';
import { abortedError } from './pool-errors.js';

/** How an `append` ended: accepted, or dropped by `whenFull: 'drop-newest'` (counted). */
export type AppendOutcome = 'accepted' | 'dropped';

/** What a waiting append waits to place. */
interface WaitingRecord {
  readonly tag: string;
  readonly record: Buffer;
}

export class AppendWaiters {
  readonly #pool: PoolCore;
  readonly #queue: WaiterQueue<AppendOutcome, WaitingRecord>;
  readonly holdingBack = new HoldingBackTracker();
  /** Set while {@link admit} runs: it is not re-entrant. */
  #admitting = false;

  constructor(pool: PoolCore) {
    this.#pool = pool;
    this.#queue = new WaiterQueue({
      abortError: abortedError,
      onAbort: () => this.noteHoldingBack(),
    });
  }

  /** Appends waiting now. */
  get size(): number {
    return this.#queue.size;
  }

  /** Applies `whenFull` to an append that does not fit now. */
  whenFull(tag: string, record: Buffer, signal: AbortSignal | undefined): Promise<AppendOutcome> {
    const pool = this.#pool;
    const { admission } = pool;
    // Refused by every output of its tag by the admission `append` just made: never waits.
    if (admission.refusedEverywhere && this.size === 0) return admission.dropRefused(tag, record);
    const { whenFull } = pool.options;
    if (whenFull === 'drop-newest') return admission.dropNewest(tag, record);
    if (whenFull === 'drop-oldest' && this.size === 0) {
      if (admission.dropOldestUntilFits(tag, record.length)) {
        return pool.placement.accept(tag, record);
      }
    }
    // Blocked (or nothing can be dropped now): wait. Unless a write under way will let a chunk
    // go down, seal the open chunks so that they can be taken or go down. Sealing them at every
    // blocked append instead shrank chunks to a few records under an outage (issue #18).
    const { persistence } = pool;
    if (!pool.options.storage.persistent || persistence.sealWrites === 0) {
      persistence.sealOpenChunks();
    }
    const waiting = this.#queue.wait(signal, { tag, record });
    if (signal?.aborted !== true) pool.wakeWaiting();
    return waiting;
  }

  /**
   * Lets waiting appends in, in order, while they fit. Not re-entrant: a `drop-oldest` drop
   * inside the loop wakes the waiting again, which must not admit the same waiter a second time.
   */
  admit(): void {
    if (this.#admitting) return;
    this.#admitting = true;
    try {
      this.#admitInOrder();
    } finally {
      this.#admitting = false;
    }
    this.noteHoldingBack();
  }

  #admitInOrder(): void {
    const pool = this.#pool;
    const { admission } = pool;
    for (;;) {
      const waiter = this.#queue.peek();
      if (waiter === undefined || pool.closed) return;
      const storageFull = pool.persistence.storageFull;
      if (storageFull !== undefined) {
        this.#queue.rejectOne(storageFull);
        continue;
      }
      if (!admission.admit(waiter.tag, waiter.record.length)) {
        if (admission.refusedEverywhere) {
          this.#queue.wakeOne(admission.dropRefused(waiter.tag, waiter.record));
          continue;
        }
        if (pool.options.whenFull !== 'drop-oldest') return;
        if (!admission.dropOldestUntilFits(waiter.tag, waiter.record.length)) return;
      }
      this.#queue.wakeOne(pool.placement.accept(waiter.tag, waiter.record));
    }
  }

  /** On close: every waiting append rejects with `error`. */
  rejectAll(error: unknown): void {
    this.#queue.rejectAll(error);
    this.noteHoldingBack();
  }

  /**
   * Keeps {@link holdingBack} up to date: who blocks the first waiting append is looked at each
   * time waiting appends were looked at (something was freed, one started to wait or left), and
   * what changed is emitted. Costs nothing while no append waits.
   */
  noteHoldingBack(): void {
    const head = this.#queue.peek();
    if (head === undefined && this.holdingBack.size === 0) return;
    const holders = head === undefined ? new Map() : this.#holdersOf(head);
    for (const event of this.holdingBack.update(holders, this.#pool.options.clock.now())) {
      this.#pool.emit('holding-back', event);
    }
  }

  /** The outputs that keep `waiter` out: critical ones whose limit is full, else the pool's. */
  #holdersOf(waiter: WaitingRecord): Map<string, HoldingBackReason> {
    const pool = this.#pool;
    const bytes = waiter.record.length;
    const quotas = pool.limited ? pool.admission.quotasFor(waiter.tag) : [];
    const full = blockingQuotas(
      quotas,
      memoryCost(bytes, 1),
      bytes,
      pool.options.storage.persistent,
    );
    if (full.length > 0) return new Map(full.map((quota) => [quota.output, 'output-full']));
    const storageBound = pool.storedBytes + bytes > pool.options.maxBytesStored;
    const holders = oldestHolders(storageBound ? pool.chunks : pool.inputChunks, pool.outputs);
    return new Map(holders.map((output) => [output, 'pool-full']));
  }
}
