import fc from 'fast-check';
import { fetchAll } from '../fetch-all.js';
import type { FetchOne } from '../internal/engine.js';
import type { FetchOptions, Importance } from '../options.js';
import type { BatchResult } from '../outcome.js';
import { faultScheduleArbitrary, simulatedBackend, type SimulatedBackend } from './faults.js';
import { VirtualClock } from './virtual-clock.js';

/** The options a property run generates; merged over the user's fixed options. */
export interface GeneratedOptions {
  readonly concurrency: number;
  readonly timeout: number;
  readonly deadline: number;
  readonly retry: number;
  /** Virtual time at which the caller aborts, if it does. */
  readonly abortAtMs: number | undefined;
  readonly optional: readonly boolean[];
}

/** What {@link checkBatchInvariants} needs. */
export interface InvariantCheck<R> {
  /** Builds the `fetchOne` under test around the simulated dependency it must call. */
  readonly fetchOne: (backend: SimulatedBackend) => FetchOne<number, R>;
  /** Fixed options of yours (classify, breaker, hedge, …); clock, signal and the generated ones are set by the check. */
  readonly options?: Omit<
    FetchOptions<number, R>,
    'clock' | 'signal' | 'concurrency' | 'timeout' | 'deadline' | 'retry'
  >;
  /** @default 100 */
  readonly numRuns?: number;
  /** Replays a failure: the seed fast-check printed. */
  readonly seed?: number;
  /** The batch runner under test. @default fetchAll */
  readonly runner?: (
    items: readonly number[],
    fetchOne: FetchOne<number, R>,
    options: FetchOptions<number, R>,
  ) => Promise<BatchResult<number, R>>;
}

/**
 * Property-tests a `fetchOne` and options against random fault schedules (latency, hangs that
 * honour or ignore their signal, transient and fatal failures, aborts) on virtual time, and
 * checks the batch invariants after every run:
 *
 * - the promise resolves (item failures never reject) with exactly one outcome per item, in
 *   input order, and `onOutcome` saw each item exactly once;
 * - never more than `concurrency` calls run at once with a live signal;
 * - it settles by the deadline (or the caller's abort) — never later;
 * - optional items never make the verdict fatal;
 * - no timer is left pending afterwards (pass `ctx.signal` to your real work!) and no unhandled
 *   rejection is raised.
 *
 * Throws fast-check's report (with the seed to replay) when a run breaks one.
 *
 * **When to use:** in your agent's CI, around the discovery code you wrote with `fetchAll`.
 *
 * @example
 * ```ts
 * test('discovery keeps the batch invariants', async () => {
 *   await checkBatchInvariants({
 *     fetchOne: (backend) => (i, { signal }) => backend.call(i, signal).then(parseInspect),
 *     options: { classify: myClassify },
 *   });
 * });
 * ```
 */
export async function checkBatchInvariants<R>(check: InvariantCheck<R>): Promise<void> {
  const scenario = faultScheduleArbitrary({ maxItems: 30 }).chain((schedule) =>
    fc.record({
      schedule: fc.constant(schedule),
      concurrency: fc.integer({ min: 1, max: 8 }),
      timeout: fc.integer({ min: 1, max: 300 }),
      deadline: fc.integer({ min: 1, max: 2_000 }),
      retry: fc.integer({ min: 0, max: 3 }),
      abortAtMs: fc.option(fc.integer({ min: 0, max: 2_000 }), { nil: undefined }),
      optional: fc.array(fc.boolean(), { minLength: schedule.length, maxLength: schedule.length }),
    }),
  );
  const runner = check.runner ?? fetchAll;

  await fc.assert(
    fc.asyncProperty(scenario, async (s) => {
      const clock = new VirtualClock();
      const backend = simulatedBackend(s.schedule, clock);
      const items = s.schedule.map((_, i) => i);
      const seenOutcomes = items.map(() => 0);
      const controller = new AbortController();
      const abortTimer =
        s.abortAtMs === undefined
          ? undefined
          : clock.setTimeout(() => controller.abort(new Error('caller stops')), s.abortAtMs);
      const unhandled: unknown[] = [];
      const onUnhandled = (reason: unknown) => unhandled.push(reason);
      process.on('unhandledRejection', onUnhandled);
      let result: BatchResult<number, R>;
      try {
        const userHook = check.options?.onOutcome;
        result = await clock.runUntilSettled(
          runner(items, check.fetchOne(backend), {
            ...check.options,
            concurrency: s.concurrency,
            timeout: s.timeout,
            deadline: s.deadline,
            retry: { retries: s.retry, minDelay: 10, maxDelay: 100 },
            importance: (i): Importance => (s.optional[i] === true ? 'optional' : 'required'),
            signal: controller.signal,
            clock,
            onOutcome: (outcome) => {
              seenOutcomes[outcome.index]! += 1;
              userHook?.(outcome);
            },
          }),
          { maxMs: s.deadline + 1 },
        );
        // Let late callbacks of abandoned work run before judging unhandled rejections.
        await new Promise((resolve) => setImmediate(resolve));
      } finally {
        process.off('unhandledRejection', onUnhandled);
      }
      const settledAt = clock.now();
      clock.clearTimeout(abortTimer);
      if (result.outcomes.length !== items.length)
        throw new Error(`expected ${items.length} outcomes, got ${result.outcomes.length}`);
      result.outcomes.forEach((outcome, i) => {
        if (outcome === undefined || outcome.index !== i || outcome.item !== i)
          throw new Error(`outcome ${i} is missing or out of order`);
      });
      const notOnce = seenOutcomes.findIndex((n) => n !== 1);
      if (notOnce !== -1)
        throw new Error(`item ${notOnce} was settled ${seenOutcomes[notOnce]} times`);
      if (backend.maxLiveCalls > s.concurrency)
        throw new Error(
          `${backend.maxLiveCalls} calls ran at once; concurrency is ${s.concurrency}`,
        );
      const bound = Math.min(s.deadline, s.abortAtMs ?? Infinity);
      if (settledAt > bound)
        throw new Error(`settled at ${settledAt} ms, after the bound of ${bound} ms`);
      if (
        result.fatal !== undefined &&
        s.optional.every(Boolean) &&
        check.options?.breaker === undefined
      ) {
        throw new Error(`only optional items, yet the verdict is fatal: ${result.fatal.message}`);
      }
      if (clock.pendingTimers() > 0)
        throw new Error(`${clock.pendingTimers()} timers left pending after the batch settled`);
      if (unhandled.length > 0) throw new Error(`unhandled rejection: ${String(unhandled[0])}`);
    }),
    {
      numRuns: check.numRuns ?? 100,
      includeErrorInReport: true,
      ...(check.seed === undefined ? {} : { seed: check.seed }),
    },
  );
}
