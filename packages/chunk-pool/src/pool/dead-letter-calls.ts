/**
 * Dead letters while the pool runs: listed, replayed into the pool (taken over as a recovered
 * chunk is), or deleted, through the storage's optional dead-letter calls.
 *
 * @module
 */
import { ChunkPoolError } from '../errors.js';
import {
  checkSelection,
  type DeadLetter,
  type DeadLetterSelection,
  type DeadLetterTotals,
  type ReplayOptions,
} from '../dead-letters.js';
import type { ChunkStorage } from '../storage/storage.js';
import type { PoolCore } from './core.js';
import { closedError, storageFailure, unknownOutput } from './pool-errors.js';

type DeadLetterStore = Required<
  Pick<ChunkStorage, 'deadLetters' | 'reviveDeadLetter' | 'dropDeadLetter'>
>;

export class DeadLetterCalls {
  readonly #pool: PoolCore;
  /**
   * The replay or drop under way: each waits for the one before it. Two at once would list the
   * same dead letters, and the second would find them gone (UNKNOWN_DEAD_LETTER) or half-moved.
   */
  #turn: Promise<unknown> = Promise.resolve();

  constructor(pool: PoolCore) {
    this.#pool = pool;
  }

  /** See `ChunkPool.deadLetters`. */
  async list(selection: DeadLetterSelection): Promise<DeadLetter[]> {
    const store = this.#store('deadLetters');
    checkSelection(selection, ['output', 'ids'], 'deadLetters');
    return store.deadLetters(selection);
  }

  /** See `ChunkPool.replayDeadLetters`. */
  async replay(options: ReplayOptions): Promise<DeadLetterTotals & { damaged: DeadLetter[] }> {
    const store = this.#store('replayDeadLetters');
    checkSelection(options, ['output', 'ids', 'into'], 'replayDeadLetters');
    return this.#inTurn(() => this.#replay(store, options));
  }

  async #replay(
    store: DeadLetterStore,
    options: ReplayOptions,
  ): Promise<DeadLetterTotals & { damaged: DeadLetter[] }> {
    const pool = this.#pool;
    const { into, ...selection } = options;
    if (into !== undefined && !pool.outputs.has(into)) {
      throw unknownOutput(into, pool.options.outputs);
    }
    const letters = await store.deadLetters(selection);
    const totals = { chunks: 0, records: 0, bytes: 0 };
    const damaged: DeadLetter[] = [];
    // Replayed records are numbered after every record accepted so far: no chunk may still be
    // taking records then (its later records would share the replayed ones' numbers).
    pool.persistence.sealOpenChunks();
    for (const letter of letters) {
      if (pool.closed) throw closedError();
      if (letter.damage !== undefined) {
        damaged.push(letter);
        continue;
      }
      const found = await store
        .reviveDeadLetter(letter.output, letter.id, into)
        .catch((error: unknown) => {
          throw storageFailure(error, `replaying dead letter ${letter.id} failed`);
        });
      for (const piece of await pool.recovery.fitToReserve(found)) {
        pool.recovery.adopt(piece, { used: 0 }, 'replayed');
      }
      totals.chunks += 1;
      totals.records += letter.recordCount;
      totals.bytes += letter.bytes;
    }
    for (const state of pool.outputs.values()) pool.delivery.serve(state);
    return { ...totals, damaged };
  }

  /** See `ChunkPool.dropDeadLetters`. */
  async drop(selection: DeadLetterSelection): Promise<DeadLetterTotals> {
    const store = this.#store('dropDeadLetters');
    checkSelection(selection, ['output', 'ids'], 'dropDeadLetters');
    return this.#inTurn(() => this.#drop(store, selection));
  }

  async #drop(store: DeadLetterStore, selection: DeadLetterSelection): Promise<DeadLetterTotals> {
    const totals = { chunks: 0, records: 0, bytes: 0 };
    for (const letter of await store.deadLetters(selection)) {
      const dropped = await store
        .dropDeadLetter(letter.output, letter.id)
        .catch((error: unknown) => {
          throw storageFailure(error, `dropping dead letter ${letter.id} failed`);
        });
      totals.chunks += 1;
      totals.records += dropped.recordCount;
      totals.bytes += dropped.bytes;
    }
    return totals;
  }

  /** Runs `work` once every replay and drop started before it has settled. */
  #inTurn<T>(work: () => Promise<T>): Promise<T> {
    const result = this.#turn.then(work);
    // The queue goes on after a failed turn; the failure is the caller's, on `result`.
    this.#turn = result.catch(() => undefined);
    return result;
  }

  /** The storage's dead-letter calls, when it has them and the pool is open. */
  #store(call: string): DeadLetterStore {
    if (this.#pool.closed) throw closedError();
    const { storage } = this.#pool.options;
    const { deadLetters, reviveDeadLetter, dropDeadLetter } = storage;
    if (
      deadLetters === undefined ||
      reviveDeadLetter === undefined ||
      dropDeadLetter === undefined
    ) {
      throw new ChunkPoolError(
        'INVALID_OPTION',
        `${call}: this pool's storage keeps no dead letters (memory storage drops them, counted in stats().outputs.<name>.deadLettered); use fileStorage to keep them`,
      );
    }
    return {
      deadLetters: (selection) => deadLetters.call(storage, selection),
      reviveDeadLetter: (output, id, into) => reviveDeadLetter.call(storage, output, id, into),
      dropDeadLetter: (output, id) => dropDeadLetter.call(storage, output, id),
    };
  }
}
