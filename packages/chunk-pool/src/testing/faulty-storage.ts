import type { ChunkStorage } from '../storage/storage.js';
import { overrideStorage } from './storage-overrides.js';

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
  const wrap = (storage: ChunkStorage): ChunkStorage =>
    overrideStorage(storage, {
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

/** The storage calls a {@link StorageFault} can hit. */
export type FaultedCall = 'append' | 'markRouteDone' | 'deadLetter' | 'read' | 'sync';

/**
 * One planned storage failure: the `nth` call (counted from 0) to `call` fails with `ENOSPC` or
 * `EIO`, or `hang`s: it starts only after `hangMs` of the test's virtual clock (bounded, so every
 * wait ends, and deterministic, since only the test moves that clock).
 */
export interface StorageFault {
  readonly call: FaultedCall;
  readonly nth: number;
  readonly kind: 'ENOSPC' | 'EIO' | 'hang';
  readonly hangMs: number;
}

/** What a failed call may cost at the next restart, as the storage saw it. */
export interface FaultExcuses {
  /** Records of a failed `append`, per route: they may be missing after a restart. */
  readonly lost: readonly { readonly routes: readonly string[]; readonly records: number }[];
  /** Records whose done mark for `output` failed: a restart may deliver them there again. */
  readonly redelivered: readonly { readonly output: string; readonly records: readonly Buffer[] }[];
}

/** A storage failing calls per a plan of {@link StorageFault}s, and what those failures did. */
export interface PlannedFaults {
  readonly storage: ChunkStorage;
  /** How often each fault fired, by `"<call> <kind>"` (e.g. `"append ENOSPC"`). */
  readonly fired: Map<string, number>;
  /** The virtual time at which the earliest hung call starts, if one is hung. */
  nextHangEnd(): number | undefined;
  /** What the failures since the last call may cost at a restart (and forgets them). */
  takeExcuses(): FaultExcuses;
}

/**
 * Wraps `storage` so that the calls `plan` names fail or hang. Unlike {@link faultyStorage}, these
 * include failures that cost something at a restart (a failed append loses its records, a failed
 * done mark redelivers them); {@link PlannedFaults.takeExcuses} says exactly what, so a model can
 * allow for that and nothing more. The counters of calls live in the wrapper: one wrapper per
 * model run, reused across the run's restarts (`wrap` again over the reopened storage).
 */
export function plannedFaults(
  plan: readonly StorageFault[],
  clock: { now(): number; sleep(ms: number): Promise<void> },
): { wrap(storage: ChunkStorage): ChunkStorage; faults: Omit<PlannedFaults, 'storage'> } {
  const calls = new Map<FaultedCall, number>();
  const fired = new Map<string, number>();
  const hangs = new Set<number>();
  /** The records each chunk has in storage (from its appends that succeeded). */
  const stored = new Map<string, Buffer[]>();
  let lost: { routes: readonly string[]; records: number }[] = [];
  let redelivered: { output: string; records: readonly Buffer[] }[] = [];
  const faultOf = (call: FaultedCall): StorageFault | undefined => {
    const index = calls.get(call) ?? 0;
    calls.set(call, index + 1);
    const fault = plan.find((planned) => planned.call === call && planned.nth === index);
    if (fault !== undefined) {
      const name = `${call} ${fault.kind}`;
      fired.set(name, (fired.get(name) ?? 0) + 1);
    }
    return fault;
  };
  const faulted =
    <A extends unknown[], R>(
      call: FaultedCall,
      run: (...args: A) => Promise<R>,
      onFailure: (...args: A) => void = () => undefined,
    ) =>
    async (...args: A): Promise<R> => {
      const fault = faultOf(call);
      if (fault?.kind === 'hang') {
        const end = clock.now() + fault.hangMs;
        hangs.add(end);
        try {
          await clock.sleep(fault.hangMs);
        } finally {
          hangs.delete(end);
        }
      } else if (fault !== undefined) {
        onFailure(...args);
        const error = `${fault.kind}: injected by plannedFaults (${call} #${fault.nth})`;
        throw Object.assign(new Error(error), { code: fault.kind });
      }
      return run(...args);
    };
  return {
    wrap: (storage) =>
      overrideStorage(storage, {
        append: faulted(
          'append',
          async (header, records) => {
            await storage.append(header, records);
            stored.set(header.id, [...(stored.get(header.id) ?? []), ...records]);
          },
          (header, records) => lost.push({ routes: header.routes, records: records.length }),
        ),
        sync: faulted('sync', () => storage.sync()),
        read: faulted('read', (id: string) => storage.read(id)),
        markRouteDone: faulted(
          'markRouteDone',
          (id: string, output: string) => storage.markRouteDone(id, output),
          (id, output) => redelivered.push({ output, records: stored.get(id) ?? [] }),
        ),
        delete: async (id) => {
          await storage.delete(id);
          stored.delete(id);
        },
        deadLetter: faulted('deadLetter', (header, output, reason, records) =>
          storage.deadLetter(header, output, reason, records),
        ),
      }),
    faults: {
      fired,
      nextHangEnd: () => (hangs.size === 0 ? undefined : Math.min(...hangs)),
      takeExcuses: () => {
        const excuses = { lost, redelivered };
        lost = [];
        redelivered = [];
        return excuses;
      },
    },
  };
}
