import fc from 'fast-check';
import type { VirtualClock } from './virtual-clock.js';

/**
 * What the simulated dependency does on one call.
 * - `ok`: answers after `latencyMs`.
 * - `transient`: fails after `latencyMs` with an `ECONNRESET` error (retryable).
 * - `fatal`: fails after `latencyMs` with a plain error (not retryable).
 * - `hang`: never answers, but stops when its signal aborts (well-behaved work).
 * - `hang-ignoring-signal`: never answers and ignores its signal (the worst straggler).
 * - `abort`: fails at once with an `AbortError`, as if something else aborted it.
 */
export type Fault =
  | { readonly kind: 'ok'; readonly latencyMs: number }
  | { readonly kind: 'transient'; readonly latencyMs: number }
  | { readonly kind: 'fatal'; readonly latencyMs: number }
  | { readonly kind: 'hang' }
  | { readonly kind: 'hang-ignoring-signal' }
  | { readonly kind: 'abort' };

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
export function faultArbitrary({ maxLatencyMs = 200 } = {}): fc.Arbitrary<Fault> {
  const latencyMs = fc.integer({ min: 0, max: maxLatencyMs });
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
} = {}): fc.Arbitrary<Fault[][]> {
  return fc.array(
    fc.array(faultArbitrary({ maxLatencyMs }), { minLength: 1, maxLength: maxCallsPerItem }),
    {
      minLength: minItems,
      maxLength: maxItems,
    },
  );
}

/** The simulated dependency a `fetchOne` under test calls (see {@link simulatedBackend}). */
export interface SimulatedBackend {
  /** Calls the dependency for item `index`, following the item's schedule. */
  call(index: number, signal?: AbortSignal): Promise<string>;
  /** Calls per item so far. */
  readonly calls: number[];
  /** Most calls that were running with a live (not aborted) signal at the same time. */
  readonly maxLiveCalls: number;
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
  let live = 0;
  let maxLive = 0;
  const backend: SimulatedBackend = {
    calls,
    get maxLiveCalls() {
      return maxLive;
    },
    call(index, signal) {
      const faults = schedule[index];
      if (faults === undefined || faults.length === 0)
        return Promise.reject(new RangeError(`no schedule for item ${index}`));
      const fault = faults[Math.min(calls[index]!, faults.length - 1)]!;
      calls[index]! += 1;
      if (fault.kind === 'abort') {
        return Promise.reject(new DOMException('aborted by the dependency', 'AbortError'));
      }
      live += 1;
      maxLive = Math.max(maxLive, live);
      if (fault.kind === 'hang-ignoring-signal') {
        // It never ends; it stops counting as live once its slot is given up (signal aborted).
        signal?.addEventListener('abort', () => (live -= 1), { once: true });
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
