import type { ChunkStorage } from '../storage/storage.js';

/** What one storage call of a fault plan does: its normal work, or fail, or hang. */
export type Fault = 'none' | 'ENOSPC' | 'EIO' | 'hang';

/**
 * Which calls a faulty storage may fail:
 * - `'recoverable'`: `read`, `deadLetter` and `sync`, whose failures cost no accepted record,
 *   even across a restart (a failed append or done mark can cost a record or a redelivery at
 *   the next restart, which the model's exact accounting does not allow for);
 * - `'any'`: every call but `open` and `close` (for runs without restarts).
 */
export type FaultyCalls = 'recoverable' | 'any';

/** A call held by a `'hang'` fault: it returns only when released. */
interface Hung {
  ticks: number;
  readonly release: () => void;
}

/** Injects one plan of faults into the storages of one run (one per restart), in call order. */
export interface FaultInjector {
  /** `storage` with the faults of the plan (the plan goes on where the last storage left it). */
  wrap(storage: ChunkStorage): ChunkStorage;
  /**
   * Whether `error` is one of the OS errors this storage injected (what a `ChunkPoolError` must
   * carry as its `cause`).
   */
  injected(error: unknown): boolean;
  /**
   * One more round of the model's waiting: a hung call returns once it has waited `hangTicks`
   * rounds (a deterministic count, never a wall-clock time), so a run with hangs is bounded.
   */
  tick(): void;
  /** Releases every hung call (the run is over). */
  releaseAll(): void;
}

/** An error as Node's fs reports it. */
function osError(code: 'ENOSPC' | 'EIO', call: string): NodeJS.ErrnoException {
  const errno = code === 'ENOSPC' ? -28 : -5;
  return Object.assign(new Error(`${code}: injected by faultyStorage into ${call}`), {
    code,
    errno,
    syscall: call,
  });
}

/**
 * Wraps storages so that their calls (those `calls` names) fail with `ENOSPC` or `EIO`, or hang,
 * per `plan` (one entry per such call, in order; once it runs out, nothing fails). A hung call
 * does its work but does not return until it has waited `hangTicks` rounds of {@link
 * FaultInjector.tick}: meanwhile the pool's other calls, leases and timers go on around it. (An
 * append of a storage with `syncEachAppend` fails but never hangs: see `append` below.)
 */
export function faultInjector(
  plan: readonly Fault[],
  calls: FaultyCalls = 'recoverable',
  hangTicks = 20,
): FaultInjector {
  let index = 0;
  const injected = new WeakSet<object>();
  const hung = new Set<Hung>();
  const faulty =
    <A extends unknown[], R>(name: string, call: (...args: A) => Promise<R>, canHang = true) =>
    async (...args: A): Promise<R> => {
      const fault = plan[index++] ?? 'none';
      if (fault === 'ENOSPC' || fault === 'EIO') {
        const error = osError(fault, name);
        injected.add(error);
        throw error;
      }
      if (fault !== 'hang' || !canHang) return call(...args);
      // Held from the call on: it returns once it has waited `hangTicks` rounds and its work
      // is done.
      const released = new Promise<void>((resolve) => {
        hung.add({ ticks: 0, release: resolve });
      });
      const result = await call(...args);
      await released;
      return result;
    };
  const any = <A extends unknown[], R>(
    name: string,
    call: (...args: A) => Promise<R>,
    canHang?: boolean,
  ) => (calls === 'any' ? faulty(name, call, canHang) : call);
  const wrap = (storage: ChunkStorage): ChunkStorage => ({
    persistent: storage.persistent,
    syncEachAppend: storage.syncEachAppend,
    open: (options) => storage.open(options),
    // Not hung when each append is written through: the pool counts the records of an append in
    // flight as pending before it resolves, which the model's exact accounting does not allow.
    append: any(
      'append',
      (header, records) => storage.append(header, records),
      !storage.syncEachAppend,
    ),
    seal: any('seal', (id) => storage.seal(id)),
    sync: faulty('sync', () => storage.sync()),
    read: faulty('read', (id: string) => storage.read(id)),
    markRouteDone: any('markRouteDone', (id, output) => storage.markRouteDone(id, output)),
    reroute: any('reroute', (id, from, to) => storage.reroute(id, from, to)),
    delete: any('delete', (id) => storage.delete(id)),
    deadLetter: faulty('deadLetter', (header, output, reason, records) =>
      storage.deadLetter(header, output, reason, records),
    ),
    quarantine: any('quarantine', (id, reason) => storage.quarantine(id, reason)),
    close: () => storage.close(),
  });
  return {
    wrap,
    injected: (error) => typeof error === 'object' && error !== null && injected.has(error),
    tick: () => {
      for (const entry of hung) {
        entry.ticks += 1;
        if (entry.ticks < hangTicks) continue;
        hung.delete(entry);
        entry.release();
      }
    },
    releaseAll: () => {
      for (const entry of hung) entry.release();
      hung.clear();
    },
  };
}
