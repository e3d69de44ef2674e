/**
 * One storage with some of its methods replaced: how the kit and the fault injectors wrap a
 * storage without losing a method (an optional one such as `deadLetters` included).
 *
 * @module
 */
import type { ChunkStorage } from '../storage/storage.js';

type StorageMethod = {
  [K in keyof ChunkStorage]-?: NonNullable<ChunkStorage[K]> extends (...args: never[]) => unknown
    ? K
    : never;
}[keyof ChunkStorage];

// Every method of ChunkStorage, optional ones included: `satisfies` makes a method added to the
// interface and missing here a type error, so a wrapper can never drop it silently.
const STORAGE_METHODS = {
  open: true,
  append: true,
  seal: true,
  sync: true,
  read: true,
  markRouteDone: true,
  reroute: true,
  delete: true,
  deadLetter: true,
  deadLetters: true,
  reviveDeadLetter: true,
  dropDeadLetter: true,
  quarantine: true,
  close: true,
} as const satisfies Record<StorageMethod, true>;

/**
 * `storage` with `overrides` in place of its own methods; every other method (an optional one
 * only if `storage` has it) calls `storage`'s, bound to it.
 *
 * **When to use:** to inject faults into a real storage in a test, without losing a method.
 *
 * @example
 * ```ts
 * const real = fileStorage({ dir: '/tmp/pool' });
 * const failingReads = overrideStorage(real, {
 *   read: () => Promise.reject(Object.assign(new Error('EIO'), { code: 'EIO' })),
 * });
 * ```
 */
export function overrideStorage(
  storage: ChunkStorage,
  overrides: Partial<ChunkStorage> = {},
): ChunkStorage {
  const copy: Record<string, unknown> = {
    persistent: storage.persistent,
    syncEachAppend: storage.syncEachAppend,
  };
  for (const name of Object.keys(STORAGE_METHODS) as StorageMethod[]) {
    const method = storage[name] as ((...args: unknown[]) => unknown) | undefined;
    if (typeof method === 'function')
      copy[name] = (...args: unknown[]) => method.apply(storage, args);
  }
  return { ...copy, ...overrides } as unknown as ChunkStorage;
}
