/**
 * Which chunks hold memory, and moving stored ones down (their records left only in storage) to
 * make room for the inputs. Every chunk up is charged to exactly one account of the budget.
 *
 * @module
 */
import type { Chunk } from '../chunk.js';
import { recountHolding } from '../output-quota.js';
import { SpillQueue } from '../spill-queue.js';
import type { PoolCore } from './core.js';

export class Memory {
  readonly #pool: PoolCore;
  /**
   * Invariant: exactly the chunks {@link spillable} says may go down to relieve the inputs'
   * share; every transition that changes one of its conditions calls {@link checkSpillable}.
   */
  readonly #spillQueue = new SpillQueue();

  constructor(pool: PoolCore) {
    this.#pool = pool;
  }

  /**
   * Moves stored, unleased chunks on the inputs' account down until `bytes` fit, newest first
   * (the oldest are the next ones outputs take). O(log n) per chunk moved down.
   */
  spill(bytes: number): void {
    const input = this.#pool.budget.input;
    while (!input.fits(bytes)) {
      const chunk = this.#spillQueue.newest();
      if (chunk === undefined) return;
      this.moveDown(chunk); // which takes it out of the queue
    }
  }

  /** Whether `chunk` may go down to make room for inputs: stored, up on their account, unleased. */
  spillable(chunk: Chunk): boolean {
    return (
      !chunk.done &&
      chunk.up &&
      chunk.charge === this.#pool.budget.input &&
      chunk.persisted &&
      chunk.leases === 0
    );
  }

  /** Keeps the spill queue up to date after a transition of `chunk`. */
  checkSpillable(chunk: Chunk): void {
    if (this.spillable(chunk)) this.#spillQueue.add(chunk);
    else this.#spillQueue.delete(chunk);
  }

  /** `chunk` can no longer go down for the inputs (leased, or leaving the pool). */
  notSpillable(chunk: Chunk): void {
    this.#spillQueue.delete(chunk);
  }

  /**
   * up → down: gives the chunk's memory back and leaves its records only in storage (it must be
   * up and stored, or done); it is read back when an output needs it.
   */
  moveDown(chunk: Chunk): void {
    this.releaseCharge(chunk);
    chunk.takeDown();
    recountHolding(chunk, this.#pool.quotaOf);
  }

  /**
   * Gives back to its account what an up chunk's records cost; the chunk is then on no account
   * (so on no input list), and must go down or leave the pool next.
   */
  releaseCharge(chunk: Chunk): void {
    if (!chunk.releaseCharge()) return;
    this.#spillQueue.delete(chunk);
    this.#pool.inputChunks.delete(chunk);
  }
}
