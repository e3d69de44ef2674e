/**
 * `createInventory`: the last good state of a listing, merged from partial batch results.
 *
 * @module
 */
import { systemClock, type Clock } from './clock.js';
import { fetchAll } from './fetch-all.js';
import { describeThrown } from './internal/describe.js';
import type { FetchOne } from './internal/engine.js';
import { callback, duration, fail, knownKeys } from './internal/validate.js';
import type { FetchOptions } from './options.js';
import type { BatchResult, Outcome } from './outcome.js';

/** One known item: the last value fetched for it, and when. */
export interface InventoryEntry<T, R> {
  readonly item: T;
  readonly value: R;
  /** Clock time (`clock.now()`, monotonic ms by default) of the last successful fetch. */
  readonly updatedAt: number;
  /** The last round failed for this item; `value` is from an earlier round. */
  readonly stale: boolean;
}

/** What one `apply()` changed, by key. */
export interface InventoryDiff<K> {
  /** Fetched for the first time. */
  readonly added: readonly K[];
  /** Fetched again; the value was replaced. */
  readonly updated: readonly K[];
  /** Failed this round, but known and younger than the TTL: the last value is kept. */
  readonly keptStale: readonly K[];
  /** Gone from the listing, skipped, or failed for longer than the TTL. */
  readonly removed: readonly K[];
  /** Failed this round and never fetched before: nothing to keep. */
  readonly missing: readonly K[];
}

/** Options of {@link createInventory}. */
export interface InventoryOptions<T, K, R = unknown> {
  /** The identity of an item across rounds (a container id, a pod UID, a path). */
  readonly key: (item: T) => K;
  /**
   * How long a value survives rounds in which its fetch fails, in ms, counted from its last
   * successful fetch, up to `Infinity`. A failed fetch is not a deleted item — until this expires.
   */
  readonly ttl: number;
  /**
   * The `fetchOne` of each round (an inspect, a stat): {@link Inventory.refresh} runs `fetchAll`
   * with it, and the inventory's value type is inferred from it, so that one call types the
   * whole inventory. Unset: rounds are fed to {@link Inventory.apply}, and `R` is `unknown`
   * unless given.
   */
  readonly fetchOne?: FetchOne<T, R>;
  /** @default systemClock */
  readonly clock?: Clock;
}

/** The last good state of a listing; see {@link createInventory}. */
export interface Inventory<T, K, R> {
  /** Merges one round's outcomes (a `BatchResult` or any `{ outcomes }`) and says what changed. */
  apply(result: { readonly outcomes: readonly Outcome<T, R>[] }): InventoryDiff<K>;
  /**
   * One round with the inventory's own `fetchOne`: `fetchAll(items, fetchOne, options)`, then
   * {@link Inventory.apply} unless the batch is fatal (a daemon that is down does not empty the
   * inventory). Rejects with a `TypeError` when the inventory was created without `fetchOne`.
   */
  refresh(
    items: Iterable<T> | AsyncIterable<T>,
    options?: FetchOptions<T, R>,
  ): Promise<{ readonly result: BatchResult<T, R>; readonly diff: InventoryDiff<K> | undefined }>;
  get(key: K): InventoryEntry<T, R> | undefined;
  entries(): IterableIterator<[K, InventoryEntry<T, R>]>;
  readonly size: number;
}

/**
 * Keeps an agent's list of things (containers, pods, endpoints) the way it should be kept:
 * each round's partial result is merged into the last good state.
 *
 * **When to use:** after every discovery round with {@link fetchAll}. Treating a failed inspect
 * as a deleted container makes an agent stop tailing a running container's logs because the
 * daemon was slow for a second; treating it as fatal switched iLogtail's discovery off.
 *
 * **Details:** a fulfilled item is added or updated; an item whose fetch failed keeps its last
 * value (marked `stale`) until `ttl` after its last success, then is removed; an item absent
 * from the round's listing, or skipped by the classifier, is removed at once. `apply` is atomic:
 * if `key()` throws for any outcome, it throws and the inventory is unchanged. A key listed more
 * than once in a round counts once, by its best outcome (fulfilled, else skipped, else failed;
 * among equals, the last), so it is in exactly one list of the diff.
 *
 * @example
 * ```ts
 * const containers = createInventory({ key: (c: Container) => c.Id, ttl: 60_000, fetchOne: inspect });
 * const { diff } = await containers.refresh(listing, { timeout: 2_000 });
 * // `diff` is undefined after a fatal round: the last good state is kept.
 * for (const id of diff?.added ?? []) startTailing(containers.get(id)!.value); // typed by inspect
 * for (const id of diff?.removed ?? []) stopTailing(id);
 * ```
 *
 * @since 0.1.0
 */
export function createInventory<T, K, R = unknown>(
  options: InventoryOptions<T, K, R>,
): Inventory<T, K, R> {
  if (typeof options !== 'object' || options === null) fail('options', 'an object', options);
  knownKeys('options', options, ['key', 'ttl', 'fetchOne', 'clock']);
  const fetchOne = callback<FetchOne<T, R>>('fetchOne', options.fetchOne);
  const key = callback<(item: T) => K>('key', options.key);
  if (key === undefined) fail('key', 'a function', options.key);
  if (options.ttl === undefined)
    fail('ttl', 'a number of milliseconds >= 0 or Infinity', undefined);
  const ttl = duration('ttl', options.ttl, 0);
  const clock = options.clock ?? systemClock;
  // `??` above: never null here.
  if (typeof clock !== 'object' || typeof clock.now !== 'function')
    fail('clock', 'an object with now()', options.clock);
  let known = new Map<K, InventoryEntry<T, R>>();

  const inventory: Inventory<T, K, R> = {
    async refresh(items, fetchOptions) {
      if (fetchOne === undefined)
        fail('fetchOne', 'a function given to createInventory, for refresh()', fetchOne);
      const result = await fetchAll(items, fetchOne, fetchOptions);
      return { result, diff: result.fatal === undefined ? inventory.apply(result) : undefined };
    },
    apply(result) {
      const now = clock.now();
      // First every outcome is keyed, with nothing changed yet: a `key()` that throws leaves the
      // inventory as it was. A key listed more than once counts once, by its best outcome.
      const round = new Map<K, Outcome<T, R>>();
      result.outcomes.forEach((outcome, i) => {
        let k: K;
        try {
          k = key(outcome.item);
        } catch (error) {
          throw new Error(
            `key() threw for outcome ${i}: ${describeThrown(error)}; the inventory is unchanged`,
            { cause: error },
          );
        }
        const before = round.get(k);
        if (before === undefined || RANK[outcome.status] >= RANK[before.status])
          round.set(k, outcome);
      });

      const diff = {
        added: [] as K[],
        updated: [] as K[],
        keptStale: [] as K[],
        removed: [] as K[],
        missing: [] as K[],
      };
      const next = new Map<K, InventoryEntry<T, R>>();
      for (const [k, outcome] of round) {
        const before = known.get(k);
        if (outcome.status === 'fulfilled') {
          next.set(k, { item: outcome.item, value: outcome.value, updatedAt: now, stale: false });
          (before === undefined ? diff.added : diff.updated).push(k);
        } else if (outcome.status === 'skipped') {
          if (before !== undefined) diff.removed.push(k);
        } else if (before === undefined) {
          diff.missing.push(k);
        } else if (now - before.updatedAt <= ttl) {
          next.set(k, { ...before, item: outcome.item, stale: true });
          diff.keptStale.push(k);
        } else {
          diff.removed.push(k);
        }
      }
      for (const k of known.keys()) if (!round.has(k)) diff.removed.push(k);
      known = next;
      return diff;
    },
    get: (k) => known.get(k),
    entries: () => known.entries(),
    get size() {
      return known.size;
    },
  };
  return inventory;
}

/** Which of two outcomes of one key in one round wins: a success, else a skip, else the failure. */
const RANK = { rejected: 0, skipped: 1, fulfilled: 2 } as const;
