/**
 * The batch engine shared by `fetchAll` and `fetchEach`: N workers pull items from one source,
 * run attempts with timeouts, retries and hedges, classify failures, and hand each item's single
 * outcome to a sink. One attempt is an `Attempt` (attempt.ts); the deadline, the abandoned cap
 * and the verdict have a file each.
 *
 * Over 300 lines on purpose: the item loop and the worker loop share the batch's state (the stop,
 * the wakers, the counters) as closure variables; split into modules, that state would travel
 * through one more host object on the hot path that the benchmark holds to 1.5× p-map.
 */
import type { Clock } from '../clock.js';
import { defaultClassify } from '../classify.js';
import {
  CancelledError,
  DeadlineError,
  FatalError,
  TimeoutError,
  TransientError,
  type ItemError,
  type CancelledBy,
  type RetryRefusedBy,
} from '../errors.js';
import type { Classification, Importance } from '../options.js';
import type { BatchStats, Outcome } from '../outcome.js';
import { AbandonedCap } from './abandoned-cap.js';
import { Attempt, type AttemptHost, type Counts, type FetchOne, type Waker } from './attempt.js';
import { BatchDeadline } from './batch-deadline.js';
import { DeadlineQueue } from './deadline-queue.js';
import { describeThrown } from './describe.js';
import { invalidOption, retryDelay } from '@holdfast/internal';
import { callHook } from './hooks.js';
import { itemSource, readUntilStopped, STOPPED_READING, type ItemSource } from './item-source.js';
import type { ResolvedOptions } from './resolve-options.js';
import { Verdict } from './verdict.js';
import {
  attemptEnd,
  batchEnd,
  outcomeSettled,
  type AttemptEndMessage,
  type BatchEndMessage,
  type OutcomeMessage,
} from './channels.js';

export type { FetchOne } from './attempt.js';

/** Where the engine delivers outcomes. */
export interface OutcomeSink<T, R> {
  emit(outcome: Outcome<T, R>): void;
  /** Resolves when the sink can take another outcome (backpressure); absent: always. */
  readonly space?: () => Promise<void> | undefined;
}

/** Why the batch stopped early. */
type StopReason =
  | { readonly kind: 'deadline' }
  | { readonly kind: 'cancelled'; readonly by: CancelledBy; readonly cause: unknown };

/** Throws a `TypeError` unless `fetchOne` is a function. */
export function assertFetchOne(fetchOne: unknown): void {
  if (typeof fetchOne !== 'function') throw invalidOption('fetchOne', 'a function', fetchOne);
}

/** Every counter of `BatchStats` at zero. */
export function emptyCounts(): Omit<BatchStats, 'durationMs'> {
  return {
    total: 0,
    fulfilled: 0,
    rejected: 0,
    timedOut: 0,
    retried: 0,
    hedged: 0,
    skipped: 0,
    cancelled: 0,
    budgetRefused: 0,
    abandoned: 0,
    hookErrors: 0,
  };
}

export interface EngineRun {
  /** Settles when every item read has its outcome (or, after a stop, when workers exit). */
  readonly done: Promise<void>;
  stop(by: CancelledBy, cause?: unknown): void;
  stats(): BatchStats;
  fatal(): FatalError | undefined;
  stoppedEarly(): boolean;
}

const VERDICTS: ReadonlySet<unknown> = new Set<Classification>(['transient', 'fatal', 'skip']);

export function startEngine<T, R>(
  items: Iterable<T> | AsyncIterable<T>,
  fetchOne: FetchOne<T, R>,
  o: ResolvedOptions<T, R>,
  sink: OutcomeSink<T, R>,
): EngineRun {
  assertFetchOne(fetchOne);
  const source: ItemSource<T> = itemSource(items);
  const clock: Clock = o.clock;
  const startedAt = clock.now();
  const counts: Counts = emptyCounts();
  let endedAt: number | undefined;
  let stopReason: StopReason | undefined;
  // What each worker is waiting on (an attempt, a retry sleep, an abandoned-slot wait, a read of
  // the source) leaves its wake-up here, at the worker's index: a worker waits on one thing at a
  // time, so one slot per worker is enough and costs no Set operations on the hot path.
  // `stop()` calls them all.
  const wakers: (Waker | undefined)[] = [];

  const stop = (reason: StopReason) => {
    if (stopReason !== undefined) return;
    stopReason = reason;
    for (const waker of wakers) waker?.wake();
  };
  const deadline = new BatchDeadline(clock, startedAt, o.deadline, () =>
    stop({ kind: 'deadline' }),
  );
  const verdict = new Verdict(o, (error) => stop({ kind: 'cancelled', by: 'fatal', cause: error }));
  const cap = new AbandonedCap(o.maxAbandoned, clock, counts);
  const timeouts = new DeadlineQueue(clock);
  const hedges = new DeadlineQueue(clock);
  const classify = o.classify ?? defaultClassify;
  const onCallerAbort = () => stop({ kind: 'cancelled', by: 'caller', cause: o.signal?.reason });
  if (o.signal?.aborted === true) onCallerAbort();
  else o.signal?.addEventListener('abort', onCallerAbort, { once: true });

  const stoppedError = (index: number, attempts: number, last: unknown): ItemError => {
    if (stopReason?.kind === 'deadline') {
      const fields = { index, attempts, ...(last === undefined ? {} : { cause: last }) };
      return new DeadlineError({ ...fields, deadlineMs: o.deadline });
    }
    const reason = stopReason as Extract<StopReason, { kind: 'cancelled' }>;
    return new CancelledError({ index, attempts, by: reason.by, cause: last ?? reason.cause });
  };

  const settle = (outcome: Outcome<T, R>, importance: Importance) => {
    counts.total += 1;
    if (outcome.status === 'fulfilled') counts.fulfilled += 1;
    else if (outcome.status === 'skipped') counts.skipped += 1;
    else {
      counts.rejected += 1;
      const code = outcome.error.code;
      if (code === 'TIMEOUT') counts.timedOut += 1;
      if (code === 'CANCELLED' || code === 'DEADLINE') counts.cancelled += 1;
    }
    verdict.settled(outcome, importance);
    if (outcomeSettled.hasSubscribers)
      outcomeSettled.publish({
        status: outcome.status,
        code: outcome.status === 'rejected' ? outcome.error.code : undefined,
      } satisfies OutcomeMessage);
    sink.emit(outcome);
    if (o.onOutcome !== undefined) callHook(counts, o.onOutcome, outcome);
  };

  /** Sleeps `ms` on the clock, waking early if the batch stops. */
  const sleep = (worker: number, ms: number) =>
    new Promise<void>((resolve) => {
      const wake = () => {
        clock.clearTimeout(timer);
        wakers[worker] = undefined;
        resolve();
      };
      const timer = clock.setTimeout(wake, ms);
      wakers[worker] = { wake };
    });

  const host: AttemptHost<T, R> = {
    fetchOne,
    clock,
    deadlineAt: deadline.at,
    timeoutMs: o.timeout,
    hedgeDelayMs: o.hedgeDelay,
    timeouts,
    hedges,
    wakers,
    counts,
    stoppedError,
    timeoutError: (index, attempts) => new TimeoutError({ index, attempts, timeoutMs: o.timeout }),
    callAbandoned: (call) => cap.abandoned(call),
    abandonedCallEnded: (call) => cap.ended(call),
  };

  // The one backoff of docs/conventions.md; a `random` that throws or strays counts as a hook error.
  const delayBeforeRetry = (retryNo: number) =>
    retryDelay(o.retry, retryNo, () => {
      counts.hookErrors += 1;
    });

  /** Why a retry after `delay` cannot be taken (attempts left); `undefined`: it can. */
  const retryRefused = (delay: number): RetryRefusedBy | undefined => {
    // Never sleep past the deadline: a retry that cannot start in time is not taken.
    if (clock.now() + delay >= deadline.at) return 'deadline';
    if (o.budget !== undefined) {
      // The token is taken when the retry is granted, not when it starts after its delay, so
      // a wave of simultaneous failures cannot all pass the check before any retry counts.
      if (retriesGranted >= o.budget.minRetries + o.budget.ratio * firstAttempts) {
        counts.budgetRefused += 1;
        return 'budget';
      }
      retriesGranted += 1;
    }
    return undefined;
  };
  let firstAttempts = 0;
  let retriesGranted = 0;

  const importanceOf = (item: T): Importance => {
    if (o.importance === undefined) return 'required';
    try {
      const importance = o.importance(item);
      if (importance === 'optional' || importance === 'required') return importance;
    } catch {
      // Counted below: the safe default is required.
    }
    counts.hookErrors += 1;
    return 'required';
  };

  const classifyFailure = (error: unknown, item: T): Classification => {
    try {
      const verdict = classify(error, item);
      if (VERDICTS.has(verdict)) return verdict;
    } catch {
      // Counted below: the safe default is fatal for the item.
    }
    counts.hookErrors += 1;
    return 'fatal';
  };

  /** Settles a rejected outcome; a function, not a closure per item. */
  const reject = (
    item: T,
    index: number,
    error: ItemError,
    attempts: number,
    itemStart: number,
    importance: Importance,
  ) =>
    settle(
      { status: 'rejected', item, index, error, attempts, durationMs: clock.now() - itemStart },
      importance,
    );

  /** Runs every attempt of one item and settles its single outcome. */
  const runItem = async (worker: number, item: T, index: number): Promise<void> => {
    const importance = importanceOf(item);
    // Read after the user's hook ran: its CPU time is not the first attempt's.
    const itemStart = clock.now();
    let attempts = 0;
    let lastError: unknown;
    for (;;) {
      let waited = false;
      while (stopReason === undefined && cap.full) {
        await cap.wait(worker, wakers);
        waited = true;
      }
      // An attempt's timeout counts from the moment it really starts: not the cap wait, not the
      // retry delay, and not the CPU that another worker spent between this one's wake-up and its
      // turn to run (every waiter of the cap is woken at once). A stale start made a timeout fire
      // before its call had run at all.
      const attemptStart = attempts === 0 && !waited ? itemStart : clock.now();
      if (stopReason !== undefined || deadline.passed(attemptStart)) {
        const error = stoppedError(index, attempts, lastError);
        return reject(item, index, error, attempts, itemStart, importance);
      }
      attempts += 1;
      if (attempts === 1) firstAttempts += 1;
      else counts.retried += 1;

      const attempt = new Attempt(host, worker, item, index, attempts, attemptStart, lastError);
      const result = (await attempt.done).ending!;
      if (attemptEnd.hasSubscribers)
        attemptEnd.publish({
          result: result.kind,
          durationMs: clock.now() - attemptStart,
        } satisfies AttemptEndMessage);
      if (result.kind === 'value') {
        const durationMs = clock.now() - itemStart;
        return settle(
          { status: 'fulfilled', item, index, value: result.value, attempts, durationMs },
          importance,
        );
      }
      // The error the attempt's signal was aborted with, if it was: the same object.
      if (result.kind === 'stopped')
        return reject(item, index, result.error, attempts, itemStart, importance);

      const error = result.error;
      lastError = error;
      const classification = classifyFailure(error, item);
      if (classification === 'skip')
        return settle({ status: 'skipped', item, index, reason: error }, importance);
      if (classification === 'fatal') {
        if (importance === 'required') {
          verdict.declare(
            new FatalError(`required item ${index} failed fatally`, {
              index,
              attempts,
              cause: error,
            }),
            'required-item',
          );
        }
        const message = `item ${index}: ${describeThrown(error)}`;
        const fatal = new FatalError(message, { index, attempts, cause: error });
        return reject(item, index, fatal, attempts, itemStart, importance);
      }
      let refusedBy: RetryRefusedBy | undefined =
        attempts >= o.retry.maxAttempts ? 'attempts' : undefined;
      const delay = refusedBy === undefined ? delayBeforeRetry(attempts) : 0;
      refusedBy ??= retryRefused(delay);
      if (refusedBy === undefined) {
        if (delay > 0) await sleep(worker, delay);
        continue;
      }
      const final =
        result.kind === 'timeout'
          ? result.error
          : new TransientError({ index, attempts, cause: error, retryRefusedBy: refusedBy });
      return reject(item, index, final, attempts, itemStart, importance);
    }
  };

  // Workers are started one at a time, each time one takes an item and capacity remains, so a
  // batch of 3 items at concurrency Infinity starts 3 workers, not millions.
  let workers = 0;
  let sourceDone = false;
  let internalFailure: { error: unknown } | undefined;
  let allWorkersDone!: () => void;
  const workersDone = new Promise<void>((resolve) => (allWorkersDone = resolve));
  let spawned = 0;
  const spawnWorker = () => {
    const id = spawned++;
    workers += 1;
    const exit = () => {
      workers -= 1;
      if (workers === 0) allWorkersDone();
    };
    // A worker only throws on a bug of this package (user code is caught where it is called);
    // it surfaces as the rejection of `done`, never as an unhandled rejection.
    worker(id).then(exit, (error: unknown) => {
      internalFailure ??= { error };
      exit();
    });
  };
  const worker = async (id: number) => {
    for (;;) {
      if (sink.space !== undefined) await sink.space();
      if (stopReason?.kind === 'cancelled' && stopReason.by === 'consumer') return;
      let next: Awaited<ReturnType<ItemSource<T>['next']>> | typeof STOPPED_READING;
      try {
        if (source.nextSync !== undefined) next = source.nextSync();
        // After a stop an async source is not read further: its next item may take any time
        // to come (or never come), and the batch has promised to settle at once.
        else if (stopReason !== undefined) return;
        else next = await readUntilStopped(source.next(), id, wakers);
      } catch (error) {
        verdict.declare(
          new FatalError('reading the items failed', { index: -1, attempts: 0, cause: error }),
          'item-source',
        );
        return;
      }
      if (next === STOPPED_READING) return;
      if (next === undefined) {
        sourceDone = true;
        return;
      }
      // The item starts first (its first attempt begins synchronously), then the next worker:
      // items start in input order.
      const running = runItem(id, next.item, next.index);
      if (workers < o.concurrency && !sourceDone) spawnWorker();
      await running;
    }
  };
  spawnWorker();

  const done = workersDone.then(() => {
    endedAt = clock.now();
    deadline.clear();
    o.signal?.removeEventListener('abort', onCallerAbort);
    timeouts.close();
    hedges.close();
    cap.close();
    source.close(() => {
      counts.hookErrors += 1;
    });
    verdict.finish(stopReason?.kind === 'cancelled' ? stopReason.by : undefined);
    if (batchEnd.hasSubscribers)
      batchEnd.publish({
        stats: { ...counts, durationMs: endedAt - startedAt },
        fatal: verdict.reason,
      } satisfies BatchEndMessage);
    if (internalFailure !== undefined) throw internalFailure.error;
  });

  return {
    done,
    stop: (by, cause) => stop({ kind: 'cancelled', by, cause }),
    stats: () => ({ ...counts, durationMs: (endedAt ?? clock.now()) - startedAt }),
    fatal: () => verdict.fatal,
    stoppedEarly: () => stopReason !== undefined,
  };
}
