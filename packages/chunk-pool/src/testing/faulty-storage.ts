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
    wrap: (storage) => ({
      persistent: storage.persistent,
      syncEachAppend: storage.syncEachAppend,
      open: (options) => storage.open(options),
      append: faulted(
        'append',
        async (header, records) => {
          await storage.append(header, records);
          stored.set(header.id, [...(stored.get(header.id) ?? []), ...records]);
        },
        (header, records) => lost.push({ routes: header.routes, records: records.length }),
      ),
      seal: (id) => storage.seal(id),
      sync: faulted('sync', () => storage.sync()),
      read: faulted('read', (id: string) => storage.read(id)),
      markRouteDone: faulted(
        'markRouteDone',
        (id: string, output: string) => storage.markRouteDone(id, output),
        (id, output) => redelivered.push({ output, records: stored.get(id) ?? [] }),
      ),
      reroute: (id, from, to) => storage.reroute(id, from, to),
      delete: async (id) => {
        await storage.delete(id);
        stored.delete(id);
      },
      deadLetter: faulted('deadLetter', (header, output, reason, records) =>
        storage.deadLetter(header, output, reason, records),
      ),
      quarantine: (id, reason) => storage.quarantine(id, reason),
      close: () => storage.close(),
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
