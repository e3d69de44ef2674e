import type { ChunkStorage } from '../src/index.js';
import type { VirtualClock } from '../src/testing.js';

/** What {@link storedInMemory} saw: one entry per `append` call, its record count. */
export interface StorageLog {
  readonly appends: number[];
}

/**
 * A persistent storage that keeps chunks in a Map: the pool treats it like file storage (chunks
 * go down under memory pressure and come back through the reserves), but its writes take
 * `writeMs` each of the test's virtual clock, one after another (as on one disk), and every other
 * call settles on the next microtask, so a test's outcome never depends on a disk. It logs what
 * was appended.
 */
export function storedInMemory(
  clock: VirtualClock,
  writeMs: number,
): { storage: ChunkStorage; log: StorageLog } {
  const chunks = new Map<string, Buffer[]>();
  const log: StorageLog = { appends: [] };
  let disk = Promise.resolve();
  const storage: ChunkStorage = {
    persistent: true,
    syncEachAppend: false,
    open: () => Promise.resolve({ chunks: [], quarantined: 0 }),
    append: (header, records) => {
      log.appends.push(records.length);
      chunks.set(header.id, [...(chunks.get(header.id) ?? []), ...records]);
      disk = disk.then(() => clock.sleep(writeMs));
      return disk;
    },
    seal: () => Promise.resolve(),
    sync: () => Promise.resolve(),
    read: (id) => Promise.resolve([...(chunks.get(id) ?? [])]),
    markRouteDone: () => Promise.resolve(),
    reroute: () => Promise.resolve(),
    delete: (id) => {
      chunks.delete(id);
      return Promise.resolve();
    },
    deadLetter: () => Promise.resolve(),
    quarantine: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
  return { storage, log };
}
