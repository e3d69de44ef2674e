/**
 * The batch engine shared by `fetchAll` and `fetchEach`: N workers pull items from one source,
 * run attempts with timeouts, retries and hedges, classify failures, and hand each item's single
 * outcome to a sink. One attempt is an `Attempt` (attempt.ts); the deadline, the abandoned cap
 * and the verdict have a file each.
 *
 * One batch is one {@link BatchRun}, a class at module level, for the reason attempt.ts gives:
 * its methods are the same functions in every batch. The engine was once a function whose item
 * and worker loops were closures made afresh by each batch; the optimized code of one batch then
 * called the previous batch's closures, so every new batch deoptimized it ("wrong call target")
 * and ran its first 100,000 items in slower code while it was compiled again (on Node 24 that
 * made `fetchAll` 1.76× p-map in the benchmark instead of ~1.1×). The batch is also its attempts'
 * {@link AttemptHost}: no second object on the hot path.
 *
 * Over 300 lines on purpose: the item loop and the worker loop share the batch's state (the stop,
 * the wakers, the counters); split into modules, that state would travel through one more host
 * object on the hot path that the benchmark holds to 1.5× p-map.
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
import {
  Attempt,
  type AttemptHost,
  type Call,
  type Counts,
  type FetchOne,
  type Waker,
} from './attempt.js';
import { BatchDeadline } from './batch-deadline.js';
import { DeadlineQueue } from './deadline-queue.js';
import { describeCause } from './describe.js';
import { invalidOption, retryDelay } from '@holdfast/internal';
import { callHook } from './hooks.js';
import { itemSource, readUntilStopped, STOPPED_READING, type ItemSource } from './item-source.js';
import type { ResolvedOptions } from './resolve-options.js';
import { Verdict } from './verdict.js';
import { emptyObjectArray } from './object-array.js';
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
  return new BatchRun(itemSource(items), fetchOne, o, sink);
}

/** One batch: its state, its workers' loops, and what its attempts need of it. */
class BatchRun<T, R> implements AttemptHost<T, R>, EngineRun {
  readonly clock: Clock;
  readonly deadlineAt: number;
  readonly timeoutMs: number;
  readonly hedgeDelayMs: number | undefined;
  readonly timeouts: DeadlineQueue;
  readonly hedges: DeadlineQueue;
  // What each worker is waiting on (an attempt, a retry sleep, an abandoned-slot wait, a read of
  // the source) leaves its wake-up here, at the worker's index: a worker waits on one thing at a
  // time, so one slot per worker is enough and costs no Set operations on the hot path.
  // `stop()` calls them all.
  readonly wakers: (Waker | undefined)[] = emptyObjectArray();
  readonly counts: Counts = emptyCounts();
  readonly done: Promise<void>;

  readonly #o: ResolvedOptions<T, R>;
  readonly #source: ItemSource<T>;
  readonly #sink: OutcomeSink<T, R>;
  readonly #startedAt: number;
  #endedAt: number | undefined = undefined;
  #stopReason: StopReason | undefined = undefined;
  readonly #deadline: BatchDeadline;
  readonly #verdict: Verdict;
  readonly #cap: AbandonedCap;
  readonly #classify: (error: unknown, item: T) => Classification;
  #firstAttempts = 0;
  #retriesGranted = 0;
  // Workers are started one at a time, each time one takes an item and capacity remains, so a
  // batch of 3 items at concurrency Infinity starts 3 workers, not millions.
  #workers = 0;
  #spawned = 0;
  #sourceDone = false;
  #internalFailure: { error: unknown } | undefined = undefined;
  #allWorkersDone!: () => void;
  readonly #onCallerAbort = () =>
    this.#stop({ kind: 'cancelled', by: 'caller', cause: this.#o.signal?.reason });

  constructor(
    source: ItemSource<T>,
    readonly fetchOne: FetchOne<T, R>,
    o: ResolvedOptions<T, R>,
    sink: OutcomeSink<T, R>,
  ) {
    this.#o = o;
    this.#source = source;
    this.#sink = sink;
    const clock = o.clock;
    this.clock = clock;
    this.#startedAt = clock.now();
    this.#deadline = new BatchDeadline(clock, this.#startedAt, o.deadline, () =>
      this.#stop({ kind: 'deadline' }),
    );
    this.deadlineAt = this.#deadline.at;
    this.timeoutMs = o.timeout;
    this.hedgeDelayMs = o.hedgeDelay;
    this.#verdict = new Verdict(o, (error) =>
      this.#stop({ kind: 'cancelled', by: 'fatal', cause: error }),
    );
    this.#cap = new AbandonedCap(o.maxAbandoned, clock, this.counts);
    this.timeouts = new DeadlineQueue(clock);
    this.hedges = new DeadlineQueue(clock);
    this.#classify = o.classify ?? defaultClassify;
    if (o.signal?.aborted === true) this.#onCallerAbort();
    else o.signal?.addEventListener('abort', this.#onCallerAbort, { once: true });
    const workersDone = new Promise<void>((resolve) => (this.#allWorkersDone = resolve));
    this.#spawnWorker();
    this.done = workersDone.then(() => this.#finish());
  }

  stop(by: CancelledBy, cause?: unknown): void {
    this.#stop({ kind: 'cancelled', by, cause });
  }

  stats(): BatchStats {
    return { ...this.counts, durationMs: (this.#endedAt ?? this.clock.now()) - this.#startedAt };
  }

  fatal(): FatalError | undefined {
    return this.#verdict.fatal;
  }

  stoppedEarly(): boolean {
    return this.#stopReason !== undefined;
  }

  #stop(reason: StopReason): void {
    if (this.#stopReason !== undefined) return;
    this.#stopReason = reason;
    for (const waker of this.wakers) waker?.wake();
  }

  stoppedError(index: number, attempts: number, last: unknown): ItemError {
    const stopReason = this.#stopReason;
    if (stopReason?.kind === 'deadline') {
      const fields = { index, attempts, ...(last === undefined ? {} : { cause: last }) };
      return new DeadlineError({ ...fields, deadlineMs: this.#o.deadline });
    }
    const reason = stopReason as Extract<StopReason, { kind: 'cancelled' }>;
    return new CancelledError({ index, attempts, by: reason.by, cause: last ?? reason.cause });
  }

  timeoutError(index: number, attempts: number): ItemError {
    return new TimeoutError({ index, attempts, timeoutMs: this.timeoutMs });
  }

  callAbandoned(call: Call<T, R>): void {
    this.#cap.abandoned(call);
  }

  abandonedCallEnded(call: Call<T, R>): void {
    this.#cap.ended(call);
  }

  #settle(outcome: Outcome<T, R>, importance: Importance): void {
    const counts = this.counts;
    counts.total += 1;
    if (outcome.status === 'fulfilled') counts.fulfilled += 1;
    else if (outcome.status === 'skipped') counts.skipped += 1;
    else {
      counts.rejected += 1;
      const code = outcome.error.code;
      if (code === 'TIMEOUT') counts.timedOut += 1;
      if (code === 'CANCELLED' || code === 'DEADLINE') counts.cancelled += 1;
    }
    this.#verdict.settled(outcome, importance);
    if (outcomeSettled.hasSubscribers)
      outcomeSettled.publish({
        status: outcome.status,
        code: outcome.status === 'rejected' ? outcome.error.code : undefined,
      } satisfies OutcomeMessage);
    this.#sink.emit(outcome);
    const onOutcome = this.#o.onOutcome;
    if (onOutcome !== undefined) callHook(counts, onOutcome, outcome);
  }

  /** Sleeps `ms` on the clock, waking early if the batch stops. */
  #sleep(worker: number, ms: number): Promise<void> {
    const { clock, wakers } = this;
    return new Promise<void>((resolve) => {
      const wake = () => {
        clock.clearTimeout(timer);
        wakers[worker] = undefined;
        resolve();
      };
      const timer = clock.setTimeout(wake, ms);
      wakers[worker] = { wake };
    });
  }

  // The one backoff of docs/conventions.md; a `random` that throws or strays counts as a hook error.
  #delayBeforeRetry(retryNo: number): number {
    return retryDelay(this.#o.retry, retryNo, () => {
      this.counts.hookErrors += 1;
    });
  }

  /** Why a retry after `delay` cannot be taken (attempts left); `undefined`: it can. */
  #retryRefused(delay: number): RetryRefusedBy | undefined {
    // A delay of `Infinity` (`minDelay: Infinity`) means the retry never comes: no attempt is
    // left, deadline or not.
    if (delay === Infinity) return 'attempts';
    // Never sleep past the deadline: a retry that cannot start in time is not taken.
    if (this.clock.now() + delay >= this.deadlineAt) return 'deadline';
    const budget = this.#o.budget;
    if (budget !== undefined) {
      // The token is taken when the retry is granted, not when it starts after its delay, so
      // a wave of simultaneous failures cannot all pass the check before any retry counts.
      if (this.#retriesGranted >= budget.minRetries + budget.ratio * this.#firstAttempts) {
        this.counts.budgetRefused += 1;
        return 'budget';
      }
      this.#retriesGranted += 1;
    }
    return undefined;
  }

  #importanceOf(item: T): Importance {
    const hook = this.#o.importance;
    if (hook === undefined) return 'required';
    try {
      const importance = hook(item);
      if (importance === 'optional' || importance === 'required') return importance;
    } catch {
      // Counted below: the safe default is required.
    }
    this.counts.hookErrors += 1;
    return 'required';
  }

  #classifyFailure(error: unknown, item: T): Classification {
    try {
      const verdict = this.#classify(error, item);
      if (VERDICTS.has(verdict)) return verdict;
    } catch {
      // Counted below: the safe default is fatal for the item.
    }
    this.counts.hookErrors += 1;
    return 'fatal';
  }

  /** Settles a rejected outcome. */
  #reject(
    item: T,
    index: number,
    error: ItemError,
    attempts: number,
    itemStart: number,
    importance: Importance,
  ): void {
    const durationMs = this.clock.now() - itemStart;
    this.#settle({ status: 'rejected', item, index, error, attempts, durationMs }, importance);
  }

  /** Runs every attempt of one item and settles its single outcome. */
  async #runItem(worker: number, item: T, index: number): Promise<void> {
    const clock = this.clock;
    const importance = this.#importanceOf(item);
    // Read after the user's hook ran: its CPU time is not the first attempt's.
    const itemStart = clock.now();
    let attempts = 0;
    let lastError: unknown;
    for (;;) {
      let waited = false;
      while (this.#stopReason === undefined && this.#cap.full) {
        await this.#cap.wait(worker, this.wakers);
        waited = true;
      }
      // An attempt's timeout counts from the moment it really starts: not the cap wait, not the
      // retry delay, and not the CPU that another worker spent between this one's wake-up and its
      // turn to run (every waiter of the cap is woken at once). A stale start made a timeout fire
      // before its call had run at all.
      const attemptStart = attempts === 0 && !waited ? itemStart : clock.now();
      if (this.#stopReason !== undefined || this.#deadline.passed(attemptStart)) {
        const error = this.stoppedError(index, attempts, lastError);
        return this.#reject(item, index, error, attempts, itemStart, importance);
      }
      attempts += 1;
      if (attempts === 1) this.#firstAttempts += 1;
      else this.counts.retried += 1;

      const attempt = new Attempt(this, worker, item, index, attempts, attemptStart, lastError);
      const result = (await attempt.done).ending!;
      if (attemptEnd.hasSubscribers)
        attemptEnd.publish({
          result: result.kind,
          durationMs: clock.now() - attemptStart,
        } satisfies AttemptEndMessage);
      if (result.kind === 'value') {
        const durationMs = clock.now() - itemStart;
        return this.#settle(
          { status: 'fulfilled', item, index, value: result.value, attempts, durationMs },
          importance,
        );
      }
      // The error the attempt's signal was aborted with, if it was: the same object.
      if (result.kind === 'stopped')
        return this.#reject(item, index, result.error, attempts, itemStart, importance);

      const error = result.error;
      lastError = error;
      const classification = this.#classifyFailure(error, item);
      if (classification === 'skip')
        return this.#settle({ status: 'skipped', item, index, reason: error }, importance);
      if (classification === 'fatal') {
        if (importance === 'required') {
          this.#verdict.declare(
            new FatalError(`required item ${index} failed fatally`, {
              index,
              attempts,
              cause: error,
            }),
            'required-item',
          );
        }
        const message = `item ${index}: ${describeCause(error, index)}`;
        const fatal = new FatalError(message, { index, attempts, cause: error });
        return this.#reject(item, index, fatal, attempts, itemStart, importance);
      }
      let refusedBy: RetryRefusedBy | undefined =
        attempts >= this.#o.retry.maxAttempts ? 'attempts' : undefined;
      const delay = refusedBy === undefined ? this.#delayBeforeRetry(attempts) : 0;
      refusedBy ??= this.#retryRefused(delay);
      if (refusedBy === undefined) {
        if (delay > 0) await this.#sleep(worker, delay);
        continue;
      }
      const final =
        result.kind === 'timeout'
          ? result.error
          : new TransientError({ index, attempts, cause: error, retryRefusedBy: refusedBy });
      return this.#reject(item, index, final, attempts, itemStart, importance);
    }
  }

  #spawnWorker(): void {
    const id = this.#spawned++;
    this.#workers += 1;
    // The worker's slot exists before its first attempt stores itself there: that store then
    // always meets an array of objects, never an empty one to grow and convert.
    this.wakers.push(undefined);
    // A worker only throws on a bug of this package (user code is caught where it is called);
    // it surfaces as the rejection of `done`, never as an unhandled rejection.
    this.#worker(id).then(
      () => this.#workerExited(),
      (error: unknown) => {
        this.#internalFailure ??= { error };
        this.#workerExited();
      },
    );
  }

  #workerExited(): void {
    this.#workers -= 1;
    if (this.#workers === 0) this.#allWorkersDone();
  }

  async #worker(id: number): Promise<void> {
    const source = this.#source;
    const sink = this.#sink;
    for (;;) {
      if (sink.space !== undefined) await sink.space();
      const stopReason = this.#stopReason;
      if (stopReason?.kind === 'cancelled' && stopReason.by === 'consumer') return;
      let next: Awaited<ReturnType<ItemSource<T>['next']>> | typeof STOPPED_READING;
      try {
        if (source.nextSync !== undefined) next = source.nextSync();
        // After a stop an async source is not read further: its next item may take any time
        // to come (or never come), and the batch has promised to settle at once.
        else if (this.#stopReason !== undefined) return;
        else next = await readUntilStopped(source.next(), id, this.wakers);
      } catch (error) {
        this.#verdict.declare(
          new FatalError('reading the items failed', { index: -1, attempts: 0, cause: error }),
          'item-source',
        );
        return;
      }
      if (next === STOPPED_READING) return;
      if (next === undefined) {
        this.#sourceDone = true;
        return;
      }
      // The item starts first (its first attempt begins synchronously), then the next worker:
      // items start in input order.
      const running = this.#runItem(id, next.item, next.index);
      if (this.#workers < this.#o.concurrency && !this.#sourceDone) this.#spawnWorker();
      await running;
    }
  }

  /** Once every worker has exited: timers cleared, the source closed, the verdict given. */
  #finish(): void {
    const o = this.#o;
    const endedAt = this.clock.now();
    this.#endedAt = endedAt;
    this.#deadline.clear();
    o.signal?.removeEventListener('abort', this.#onCallerAbort);
    this.timeouts.close();
    this.hedges.close();
    this.#cap.close();
    this.#source.close(() => {
      this.counts.hookErrors += 1;
    });
    const stopReason = this.#stopReason;
    this.#verdict.finish(stopReason?.kind === 'cancelled' ? stopReason.by : undefined);
    if (batchEnd.hasSubscribers)
      batchEnd.publish({
        stats: { ...this.counts, durationMs: endedAt - this.#startedAt },
        fatal: this.#verdict.reason,
      } satisfies BatchEndMessage);
    if (this.#internalFailure !== undefined) throw this.#internalFailure.error;
  }
}
