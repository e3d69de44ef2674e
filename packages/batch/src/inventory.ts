/**
 * `createInventory`: the last good state of a listing, merged from partial batch results.
 *
 * @module
 */
import { systemClock, type Clock } from './clock.js';
import type { Outcome } from './outcome.js';

/** One known item: the last value fetched for it, and when. */
export interface InventoryEntry<T, R> {
  readonly item: T;
  readonly value: R;
  /** Clock time of the last successful fetch. */
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
export interface InventoryOptions<T, K> {
  /** The identity of an item across rounds (a container id, a pod UID, a path). */
  readonly key: (item: T) => K;
  /**
   * How long a value survives rounds in which its fetch fails, in ms, counted from its last
   * successful fetch. A failed fetch is not a deleted item — until this expires.
   */
  readonly ttlMs: number;
  /** @default systemClock */
  readonly clock?: Clock;
}

/** The last good state of a listing; see {@link createInventory}. */
export interface Inventory<T, K, R> {
  /** Merges one round's outcomes (a `BatchResult` or any `{ outcomes }`) and says what changed. */
  apply(result: { readonly outcomes: readonly Outcome<T, R>[] }): InventoryDiff<K>;
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
 * value (marked `stale`) until `ttlMs` after its last success, then is removed; an item absent
 * from the round's listing, or skipped by the classifier, is removed at once.
 *
 * @example
 * ```ts
 * const containers = createInventory<Container, ContainerDetails, string>({ key: (c) => c.Id, ttlMs: 60_000 });
 * const diff = containers.apply(await fetchAll(listing, inspect, { timeout: 2_000 }));
 * for (const id of diff.added) startTailing(containers.get(id)!.value);
 * for (const id of diff.removed) stopTailing(id);
 * ```
 *
 * @since 0.1.0
 */
export function createInventory<T, R, K = unknown>(
  options: InventoryOptions<T, K>,
): Inventory<T, K, R> {
  if (typeof options !== 'object' || options === null || typeof options.key !== 'function') {
    throw new TypeError(
      `Expected \`key\` to be a function, got \`${String((options as { key?: unknown } | null)?.key)}\``,
    );
  }
  if (typeof options.ttlMs !== 'number' || !(options.ttlMs >= 0)) {
    throw new TypeError(
      `Expected \`ttlMs\` to be a number of milliseconds >= 0, got \`${String(options.ttlMs)}\` (${typeof options.ttlMs})`,
    );
  }
  const clock = options.clock ?? systemClock;
  const known = new Map<K, InventoryEntry<T, R>>();

  return {
    apply(result) {
      const now = clock.now();
      const diff = {
        added: [] as K[],
        updated: [] as K[],
        keptStale: [] as K[],
        removed: [] as K[],
        missing: [] as K[],
      };
      const listed = new Set<K>();
      for (const outcome of result.outcomes) {
        const key = options.key(outcome.item);
        listed.add(key);
        const before = known.get(key);
        if (outcome.status === 'fulfilled') {
          known.set(key, {
            item: outcome.item,
            value: outcome.value,
            updatedAt: now,
            stale: false,
          });
          (before === undefined ? diff.added : diff.updated).push(key);
        } else if (outcome.status === 'skipped') {
          if (before !== undefined) {
            known.delete(key);
            diff.removed.push(key);
          }
        } else if (before === undefined) {
          diff.missing.push(key);
        } else if (now - before.updatedAt <= options.ttlMs) {
          known.set(key, { ...before, item: outcome.item, stale: true });
          diff.keptStale.push(key);
        } else {
          known.delete(key);
          diff.removed.push(key);
        }
      }
      for (const key of [...known.keys()]) {
        if (!listed.has(key)) {
          known.delete(key);
          diff.removed.push(key);
        }
      }
      return diff;
    },
    get: (key) => known.get(key),
    entries: () => known.entries(),
    get size() {
      return known.size;
    },
  };
}
