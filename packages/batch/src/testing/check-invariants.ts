import fc from 'fast-check';
import { seededRandom } from '@holdfast/internal';
import { fetchAll } from '../fetch-all.js';
import type { FetchOne } from '../internal/engine.js';
import type { FetchOptions, Importance } from '../options.js';
import type { BatchResult } from '../outcome.js';
import { isBatchError } from '../errors.js';
import { describeThrown } from '../internal/describe.js';
import { faultScheduleArbitrary, simulatedBackend, type SimulatedBackend } from './faults.js';
import { instrumentedSource, sourceModeArbitrary } from './item-sources.js';
import { VirtualClock } from './virtual-clock.js';

/** The options a property run generates; merged over the user's fixed options. */
export interface GeneratedOptions {
  readonly concurrency: number;
  readonly timeout: number;
  readonly deadline: number;
  readonly retry: number;
  /** Virtual time at which the caller aborts, if it does. */
  readonly abortAt: number | undefined;
  readonly optional: readonly boolean[];
  /** Seeds the retry jitter (`retry.random`), so that a printed seed replays the same run. */
  readonly jitterSeed: number;
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
    items: Iterable<number> | AsyncIterable<number>,
    fetchOne: FetchOne<number, R>,
    options: FetchOptions<number, R>,
  ) => Promise<BatchResult<number, R>>;
}

/**
 * Property-tests a `fetchOne` and options against random fault schedules on virtual time —
 * latency, hangs that honour or ignore their signal, transient and fatal failures, aborts, exotic
 * thrown values (`Object.create(null)`, throwing getters, Proxies), microtask-fast work that
 * spends CPU time (the batch's timers cannot run meanwhile), work that ignores its signal while a
 * small `maxAbandoned` cap is full — and item sources that are arrays, async iterables, or async
 * iterables that hang or throw part-way. After every run it checks the batch invariants:
 *
 * - the promise resolves (item failures never reject) with exactly one outcome per item read, in
 *   input order, and `onOutcome` saw each item exactly once;
 * - never more than `concurrency` calls run at once with a live signal (twice that with `hedge`:
 *   an attempt has at most one twin);
 * - it settles by the deadline (or the caller's abort), or as soon as the CPU-bound call running
 *   then returns — never later; no call starts at or after the deadline, none after the abort;
 * - a timed-out outcome's error is the reason its call's signal was aborted with, and the
 *   attempt really ran for the timeout;
 * - every call that ignored its abort and kept running is counted in `stats.abandoned`;
 * - a source that throws makes the verdict fatal; otherwise optional items never do;
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
      source: sourceModeArbitrary({ maxItems: schedule.length }),
      maxAbandoned: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
      concurrency: fc.integer({ min: 1, max: 8 }),
      timeout: fc.integer({ min: 1, max: 300 }),
      deadline: fc.integer({ min: 1, max: 2_000 }),
      retry: fc.integer({ min: 0, max: 3 }),
      abortAt: fc.option(fc.integer({ min: 0, max: 2_000 }), { nil: undefined }),
      optional: fc.array(fc.boolean(), { minLength: schedule.length, maxLength: schedule.length }),
      // The retry jitter draws from this, not Math.random: a printed seed replays the same run.
      jitterSeed: fc.integer(),
    }),
  );
  const runner = check.runner ?? fetchAll;

  await fc.assert(
    fc.asyncProperty(scenario, async (s) => {
      const clock = new VirtualClock();
      const backend = simulatedBackend(s.schedule, clock);
      const items = s.schedule.map((_, i) => i);
      const source = instrumentedSource(items, s.source);
      const seenOutcomes = items.map(() => 0);
      const settledAt = items.map(() => NaN);
      const controller = new AbortController();
      let aborted: { at: number; calls: number } | undefined;
      const abortTimer =
        s.abortAt === undefined
          ? undefined
          : clock.setTimeout(() => {
              aborted = { at: clock.now(), calls: backend.log.length };
              controller.abort(new Error('caller stops'));
            }, s.abortAt);
      // When each attempt's first call started (its hedged twin starts later): a timeout counts
      // from there. Reads only `index` and `attempt`, never `signal` (reading it creates one).
      const attemptStartedAt = new Map<string, number>();
      const timed =
        (inner: FetchOne<number, R>): FetchOne<number, R> =>
        (item, context) => {
          const key = `${context.index}:${context.attempt}`;
          if (!attemptStartedAt.has(key)) attemptStartedAt.set(key, clock.now());
          return inner(item, context);
        };
      const unhandled: unknown[] = [];
      const onUnhandled = (reason: unknown) => unhandled.push(reason);
      process.on('unhandledRejection', onUnhandled);
      let result: BatchResult<number, R>;
      try {
        const userHook = check.options?.onOutcome;
        result = await clock.runUntilSettled(
          runner(source.items, timed(check.fetchOne(backend)), {
            ...(s.maxAbandoned === undefined ? {} : { maxAbandoned: s.maxAbandoned }),
            ...check.options,
            concurrency: s.concurrency,
            timeout: s.timeout,
            deadline: s.deadline,
            retry: {
              maxAttempts: s.retry + 1,
              minDelay: 10,
              maxDelay: 100,
              random: seededRandom(s.jitterSeed),
            },
            importance: (i): Importance => (s.optional[i] === true ? 'optional' : 'required'),
            signal: controller.signal,
            clock,
            onOutcome: (outcome) => {
              seenOutcomes[outcome.index]! += 1;
              settledAt[outcome.index] = clock.now();
              userHook?.(outcome);
            },
          }),
          // Past the deadline only by CPU time spent (at most 20 ms a call, 4 calls an item).
          { maxMs: s.deadline + 1 + 80 * s.schedule.length },
        );
        // Let late callbacks of abandoned work run before judging unhandled rejections.
        await new Promise((resolve) => setImmediate(resolve));
      } catch (error) {
        // A runner that rejects breaks "item failures never reject the batch". Its reason may be
        // one of the kit's hostile thrown values, which fast-check could not even print: report it
        // as a plain Error that says what happened.
        throw new Error(`the runner rejected the batch: ${describeThrown(error)}`, {
          cause: error,
        });
      } finally {
        process.off('unhandledRejection', onUnhandled);
      }
      const endedAt = clock.now();
      clock.clearTimeout(abortTimer);
      // An item an async source delivers after the stop is not reported: the stop gives up the
      // read in flight of each worker at once. Otherwise every item read has its outcome.
      const read = source.read();
      const stoppedEarly =
        result.fatal !== undefined || aborted !== undefined || endedAt >= s.deadline;
      const unreported = read - result.outcomes.length;
      if (unreported < 0 || unreported > (stoppedEarly ? s.concurrency : 0))
        throw new Error(`${read} items read, but ${result.outcomes.length} outcomes`);
      result.outcomes.forEach((outcome, i) => {
        if (outcome === undefined || outcome.index !== i || outcome.item !== i)
          throw new Error(`outcome ${i} is missing or out of order`);
      });
      const notOnce = seenOutcomes.slice(0, result.outcomes.length).findIndex((n) => n !== 1);
      if (notOnce !== -1)
        throw new Error(`item ${notOnce} was settled ${seenOutcomes[notOnce]} times`);
      // A hedged attempt runs at most two calls: its own and one twin.
      const hedging = check.options?.hedge !== undefined && check.options.hedge.delay !== Infinity;
      const maxCalls = s.concurrency * (hedging ? 2 : 1);
      if (backend.maxLiveCalls > maxCalls)
        throw new Error(
          `${backend.maxLiveCalls} calls ran at once; concurrency is ${s.concurrency}${hedging ? ' (twice that with hedging)' : ''}`,
        );
      const late = backend.log.find((call) => call.startedAt >= s.deadline);
      if (late !== undefined)
        throw new Error(
          `a call of item ${late.index} started at ${late.startedAt} ms, at or after the deadline of ${s.deadline} ms`,
        );
      if (aborted !== undefined && backend.log.length > aborted.calls)
        throw new Error(
          `${backend.log.length - aborted.calls} calls started after the caller's abort`,
        );
      const bound = Math.min(s.deadline, aborted?.at ?? Infinity);
      if (endedAt > Math.max(bound, backend.busyUntil))
        throw new Error(`settled at ${endedAt} ms, after the bound of ${bound} ms`);
      for (const outcome of result.outcomes) {
        if (outcome.status !== 'rejected' || outcome.error.code !== 'TIMEOUT') continue;
        const withSignal = backend.log.filter((c) => c.index === outcome.index && c.signalGiven);
        if (withSignal.length === 0) continue;
        const aborting = withSignal.filter((c) => c.abortReason === outcome.error);
        if (aborting.length === 0)
          throw new Error(
            `item ${outcome.index} timed out, but no call's signal was aborted with its error`,
          );
        const startedAt = attemptStartedAt.get(`${outcome.index}:${outcome.error.attempts}`)!;
        const ran = settledAt[outcome.index]! - startedAt;
        if (ran < s.timeout - 1e-6)
          // float sums of jittered delays
          throw new Error(
            `item ${outcome.index} reported as timed out after only ${ran} ms (timeout ${s.timeout} ms)`,
          );
      }
      if (result.stats.abandoned < backend.ignoredAborts)
        throw new Error(
          `${backend.ignoredAborts} calls ignored their abort and kept running, but stats.abandoned is ${result.stats.abandoned}`,
        );
      const sourceFailure = source.failure();
      // (A read in flight when the batch stopped may throw after it: dropped, as its item would be.)
      if (sourceFailure !== undefined && result.fatal === undefined && !stoppedEarly)
        throw new Error('the item source threw, yet the verdict is not fatal');
      if (
        result.fatal !== undefined &&
        sourceFailure === undefined &&
        s.optional.every(Boolean) &&
        check.options?.breaker === undefined
      ) {
        throw new Error(`only optional items, yet the verdict is fatal: ${result.fatal.message}`);
      }
      if (result.outcomes.some((o) => o.status === 'rejected' && !isBatchError(o.error)))
        throw new Error('a rejected outcome whose error is not a BatchError');
      const leftPending = clock.pendingTimers() - backend.stragglerTimers;
      if (leftPending > 0)
        throw new Error(`${leftPending} timers left pending after the batch settled`);
      if (unhandled.length > 0)
        throw new Error(`unhandled rejection: ${describeThrown(unhandled[0])}`);
    }),
    {
      numRuns: check.numRuns ?? 100,
      includeErrorInReport: true,
      ...(check.seed === undefined ? {} : { seed: check.seed }),
    },
  );
}
