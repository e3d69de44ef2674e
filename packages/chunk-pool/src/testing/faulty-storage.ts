import type { ChunkStorage } from '../storage/storage.js';

/**
 * Wraps a storage so that some of its `read`, `deadLetter` and `sync` calls fail with `ENOSPC`
 * or `EIO`, per `plan` (one entry per such call, in order; once it runs out, nothing fails).
 * These are the failures that cost no accepted record: the pool must report each, try again,
 * and keep every invariant. (A failed append or done mark can cost a record or a redelivery at
 * the next restart, which the model's exact accounting does not allow for.)
 */
export function faultyStorage(storage: ChunkStorage, plan: readonly boolean[]): ChunkStorage {
  let calls = 0;
  const failNow = (): NodeJS.ErrnoException | undefined => {
    const index = calls++;
    if (plan[index] !== true) return undefined;
    const code = index % 2 === 0 ? 'ENOSPC' : 'EIO';
    return Object.assign(new Error(`${code}: injected by faultyStorage`), { code });
  };
  const faulty =
    <A extends unknown[], R>(call: (...args: A) => Promise<R>) =>
    (...args: A): Promise<R> => {
      const error = failNow();
      return error === undefined ? call(...args) : Promise.reject(error);
    };
  return {
    persistent: storage.persistent,
    syncEachAppend: storage.syncEachAppend,
    open: (options) => storage.open(options),
    append: (header, records) => storage.append(header, records),
    seal: (id) => storage.seal(id),
    sync: faulty(() => storage.sync()),
    read: faulty((id: string) => storage.read(id)),
    markRouteDone: (id, output) => storage.markRouteDone(id, output),
    reroute: (id, from, to) => storage.reroute(id, from, to),
    delete: (id) => storage.delete(id),
    deadLetter: faulty((header, output, reason, records) =>
      storage.deadLetter(header, output, reason, records),
    ),
    quarantine: (id, reason) => storage.quarantine(id, reason),
    close: () => storage.close(),
  };
}
