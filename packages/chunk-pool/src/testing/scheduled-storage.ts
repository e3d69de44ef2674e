import type fc from 'fast-check';
import type { ChunkStorage } from '../storage/storage.js';
import { overrideStorage } from './storage-overrides.js';

/**
 * Puts a storage's calls under fast-check's scheduler: each call starts only when the scheduler
 * releases it, so storage operations of different chunks complete in random orders.
 */
export function scheduledStorage(scheduler: fc.Scheduler): {
  wrap(storage: ChunkStorage): ChunkStorage;
  /** Resolves once no released call is still running (real I/O is not under the scheduler). */
  idle(): Promise<void>;
} {
  let running = 0;
  const gate =
    <A extends unknown[], R>(name: string, call: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      await scheduler.schedule(Promise.resolve(), `storage.${name}`);
      running += 1;
      try {
        return await call(...args);
      } finally {
        running -= 1;
      }
    };
  return {
    // open and close (and the dead-letter methods) are not gated: they run alone.
    wrap: (storage) =>
      overrideStorage(storage, {
        append: gate('append', (header, records) => storage.append(header, records)),
        seal: gate('seal', (id) => storage.seal(id)),
        sync: gate('sync', () => storage.sync()),
        read: gate('read', (id) => storage.read(id)),
        markRouteDone: gate('markRouteDone', (id, output) => storage.markRouteDone(id, output)),
        reroute: gate('reroute', (id, from, to) => storage.reroute(id, from, to)),
        delete: gate('delete', (id) => storage.delete(id)),
        deadLetter: gate('deadLetter', (header, output, reason, records) =>
          storage.deadLetter(header, output, reason, records),
        ),
        quarantine: gate('quarantine', (id, reason) => storage.quarantine(id, reason)),
      }),
    idle: async () => {
      while (running > 0) await new Promise((resolve) => setTimeout(resolve, 1));
    },
  };
}
