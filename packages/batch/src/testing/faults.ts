import fc from 'fast-check';
import { makeThrown, thrownShapeArbitrary, type ThrownShape } from './thrown-values.js';
import type { VirtualClock } from './virtual-clock.js';

/**
 * What the simulated dependency does on one call.
 * - `ok`: answers after `latencyMs`.
 * - `transient`: fails after `latencyMs` with an `ECONNRESET` error (retryable).
 * - `fatal`: fails after `latencyMs` with a plain error (not retryable).
 * - `hang`: never answers, but stops when its signal aborts (well-behaved work).
 * - `hang-ignoring-signal`: never answers and ignores its signal (the worst straggler).
 * - `abort`: fails at once with an `AbortError`, as if something else aborted it.
 * - `throw`: fails after `latencyMs` with an exotic thrown value (see {@link ThrownShape}).
 * - `cached`: answers in a microtask after spending `cpuMs` of CPU (virtual time that passes
 *   without any timer running: the batch's own timers cannot fire meanwhile).
 * - `sync-throw`: spends `cpuMs` of CPU, then throws synchronously an exotic value.
 * - `ignore-signal`: reads its signal, ignores it, and answers after `latencyMs` whatever
 *   happens (it holds an abandoned slot after a timeout).
 */
export type Fault =
  | { readonly kind: 'ok'; readonly latencyMs: number }
  | { readonly kind: 'transient'; readonly latencyMs: number }
  | { readonly kind: 'fatal'; readonly latencyMs: number }
  | { readonly kind: 'hang' }
  | { readonly kind: 'hang-ignoring-signal' }
  | { readonly kind: 'abort' }
  | { readonly kind: 'throw'; readonly latencyMs: number; readonly thrown: ThrownShape }
  | { readonly kind: 'cached'; readonly cpuMs: number }
  | { readonly kind: 'sync-throw'; readonly cpuMs: number; readonly thrown: ThrownShape }
  | { readonly kind: 'ignore-signal'; readonly latencyMs: number };

/**
 * One fault, weighted towards answers so that batches mostly succeed, as real ones do.
 *
 * @example
 * ```ts run
 * import fc from 'fast-check';
 *
 * console.log(fc.sample(faultArbitrary({ maxLatencyMs: 50 }), 3));
 * ```
 */
export function faultArbitrary({ maxLatencyMs = 200, maxCpuMs = 20 } = {}): fc.Arbitrary<Fault> {
  const latencyMs = fc.integer({ min: 0, max: maxLatencyMs });
  const cpuMs = fc.integer({ min: 0, max: maxCpuMs });
  return fc.oneof(
    { weight: 6, arbitrary: latencyMs.map((ms) => ({ kind: 'ok', latencyMs: ms }) as const) },
    {
      weight: 2,
      arbitrary: latencyMs.map((ms) => ({ kind: 'transient', latencyMs: ms }) as const),
    },
    { weight: 1, arbitrary: latencyMs.map((ms) => ({ kind: 'fatal', latencyMs: ms }) as const) },
    { weight: 1, arbitrary: fc.constant({ kind: 'hang' } as const) },
    { weight: 1, arbitrary: fc.constant({ kind: 'hang-ignoring-signal' } as const) },
    { weight: 1, arbitrary: fc.constant({ kind: 'abort' } as const) },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('throw' as const),
        latencyMs,
        thrown: thrownShapeArbitrary(),
      }),
    },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('cached' as const), cpuMs }) },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('sync-throw' as const),
        cpuMs,
        thrown: thrownShapeArbitrary(),
      }),
    },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('ignore-signal' as const), latencyMs }) },
  );
}

/**
 * A fault schedule: for each item, the faults of its successive calls (the last one repeats).
 *
 * @example
 * ```ts
 * fc.assert(fc.asyncProperty(faultScheduleArbitrary({ maxItems: 50 }), async (schedule) => {
 *   // run your fetchOne against simulatedBackend(schedule, clock) and check the outcomes
 * }));
 * ```
 */
export function faultScheduleArbitrary({
  minItems = 0,
  maxItems = 40,
  maxCallsPerItem = 3,
  maxLatencyMs = 200,
  maxCpuMs = 20,
} = {}): fc.Arbitrary<Fault[][]> {
  return fc.array(
    fc.array(faultArbitrary({ maxLatencyMs, maxCpuMs }), {
      minLength: 1,
      maxLength: maxCallsPerItem,
    }),
    {
      minLength: minItems,
      maxLength: maxItems,
    },
  );
}

/** One call of the simulated dependency, as it saw it. */
export interface CallRecord {
  readonly index: number;
  /** Virtual time at which the call started. */
  readonly startedAt: number;
  /** Whether the call was given a signal. */
  readonly signalGiven: boolean;
  /** The reason its signal was aborted with while it ran, if it was. */
  abortReason?: unknown;
}

/** The simulated dependency a `fetchOne` under test calls (see {@link simulatedBackend}). */
export interface SimulatedBackend {
  /**
   * Calls the dependency for item `index`, following the item's schedule. May throw
   * synchronously (`sync-throw`).
   */
  call(index: number, signal?: AbortSignal): Promise<string>;
  /** Calls per item so far. */
  readonly calls: number[];
  /** Every call, in the order they started. */
  readonly log: readonly CallRecord[];
  /** Most calls that were running with a live (not aborted) signal at the same time. */
  readonly maxLiveCalls: number;
  /** Calls aborted while they ran that ignored the abort and kept running past it. */
  readonly ignoredAborts: number;
  /** Latest virtual time up to which a call spent CPU. */
  readonly busyUntil: number;
  /** Timers of `ignore-signal` work still pending: the straggler's own, not the batch's. */
  readonly stragglerTimers: number;
}

/**
 * A dependency that follows a fault schedule on a {@link VirtualClock}. Its latency timers stop
 * when the call's signal aborts, so a `fetchOne` that forwards its signal leaves no timer behind.
 *
 * @example
 * ```ts run
 * const clock = new VirtualClock();
 * const backend = simulatedBackend([[{ kind: 'ok', latencyMs: 5 }]], clock);
 * await clock.runUntilSettled(fetchAll([0], (i, { signal }) => backend.call(i, signal), { clock }));
 * ```
 */
export function simulatedBackend(
  schedule: readonly (readonly Fault[])[],
  clock: VirtualClock,
): SimulatedBackend {
  const calls = schedule.map(() => 0);
  const log: CallRecord[] = [];
  let live = 0;
  let maxLive = 0;
  let ignoredAborts = 0;
  let busyUntil = 0;
  let stragglerTimers = 0;
  const backend: SimulatedBackend = {
    calls,
    log,
    get maxLiveCalls() {
      return maxLive;
    },
    get ignoredAborts() {
      return ignoredAborts;
    },
    get busyUntil() {
      return busyUntil;
    },
    get stragglerTimers() {
      return stragglerTimers;
    },
    call(index, signal) {
      const faults = schedule[index];
      if (faults === undefined || faults.length === 0)
        return Promise.reject(new RangeError(`no schedule for item ${index}`));
      const fault = faults[Math.min(calls[index]!, faults.length - 1)]!;
      calls[index]! += 1;
      const record: CallRecord = {
        index,
        startedAt: clock.now(),
        signalGiven: signal !== undefined,
      };
      log.push(record);
      if (signal !== undefined && !signal.aborted)
        signal.addEventListener('abort', () => (record.abortReason = signal.reason), {
          once: true,
        });
      if (fault.kind === 'cached' || fault.kind === 'sync-throw') {
        clock.spend(fault.cpuMs);
        busyUntil = Math.max(busyUntil, clock.now());
        if (fault.kind === 'sync-throw') throw makeThrown(fault.thrown);
        return Promise.resolve(`value-${index}`);
      }
      if (fault.kind === 'ignore-signal') {
        // Not counted as live: it holds an abandoned slot, not a concurrency slot, once aborted.
        const endsAt = clock.now() + fault.latencyMs;
        let running = true;
        signal?.addEventListener(
          'abort',
          () => {
            if (running && clock.now() < endsAt) ignoredAborts += 1;
          },
          { once: true },
        );
        live += 1;
        maxLive = Math.max(maxLive, live);
        let counted = true;
        signal?.addEventListener(
          'abort',
          () => {
            if (counted) live -= 1;
            counted = false;
          },
          { once: true },
        );
        stragglerTimers += 1;
        return new Promise<string>((resolve) =>
          clock.setTimeout(() => {
            stragglerTimers -= 1;
            running = false;
            if (counted) live -= 1;
            counted = false;
            resolve(`value-${index}`);
          }, fault.latencyMs),
        );
      }
      if (fault.kind === 'abort') {
        return Promise.reject(new DOMException('aborted by the dependency', 'AbortError'));
      }
      live += 1;
      maxLive = Math.max(maxLive, live);
      if (fault.kind === 'hang-ignoring-signal') {
        // It never ends; it stops counting as live once its slot is given up (signal aborted).
        signal?.addEventListener(
          'abort',
          () => {
            live -= 1;
            ignoredAborts += 1;
          },
          { once: true },
        );
        return new Promise(() => {});
      }
      return new Promise<string>((resolve, reject) => {
        let timer: unknown = undefined;
        const done = () => {
          live -= 1;
          signal?.removeEventListener('abort', onAbort);
        };
        const onAbort = () => {
          clock.clearTimeout(timer);
          done();
          reject(signal?.reason);
        };
        if (signal?.aborted === true) return onAbort();
        signal?.addEventListener('abort', onAbort, { once: true });
        if (fault.kind === 'hang') return;
        timer = clock.setTimeout(() => {
          done();
          if (fault.kind === 'ok') resolve(`value-${index}`);
          else if (fault.kind === 'throw') reject(makeThrown(fault.thrown));
          else if (fault.kind === 'transient')
            reject(
              Object.assign(new Error(`item ${index}: connection reset`), { code: 'ECONNRESET' }),
            );
          else reject(new Error(`item ${index}: not found`));
        }, fault.latencyMs);
      });
    },
  };
  return backend;
}
