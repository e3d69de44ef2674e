/**
 * The batch engine shared by `fetchAll` and `fetchEach`: N workers pull items from one source,
 * run attempts with timeouts, retries and hedges, classify failures, keep the verdict, and hand
 * each item's single outcome to a sink. One attempt is an `Attempt` (attempt.ts).
 */
import type { Clock, TimerHandle } from '../clock.js';
import { defaultClassify } from '../classify.js';
import {
  CancelledError,
  DeadlineError,
  FatalError,
  TimeoutError,
  TransientError,
  type BatchError,
  type CancelledBy,
} from '../errors.js';
import type { Classification, Importance } from '../options.js';
import type { ResolvedOptions } from './resolve-options.js';
import type { BatchStats, Outcome } from '../outcome.js';
import {
  Attempt,
  type AttemptHost,
  type Call,
  type Counts,
  type FetchOne,
  type Waker,
} from './attempt.js';
import { DeadlineQueue } from './deadline-queue.js';
import { itemSource, type ItemSource } from './item-source.js';

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
  if (typeof fetchOne !== 'function') {
    throw new TypeError(
      `Expected \`fetchOne\` to be a function, got \`${String(fetchOne)}\` (${typeof fetchOne})`,
    );
  }
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
    abandoned: 0,
    hookErrors: 0,
  };
}

export interface EngineRun {
  /** Settles when every item has its outcome (or, after a consumer stop, when workers exit). */
  readonly done: Promise<void>;
  stop(by: CancelledBy, cause?: unknown): void;
  stats(): BatchStats;
  fatal(): FatalError | undefined;
  stoppedEarly(): boolean;
}

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
  const timeouts = new DeadlineQueue(clock);
  const hedges = new DeadlineQueue(clock);
  const classify = o.classify ?? defaultClassify;

  const counts: Counts = emptyCounts();
  let endedAt: number | undefined;
  let fatal: FatalError | undefined;
  let stopReason: StopReason | undefined;
  // What each worker is waiting on (an attempt, a retry sleep, an abandoned-slot wait) leaves
  // its wake-up here, at the worker's index: a worker waits on one thing at a time, so one slot
  // per worker is enough and costs no Set operations on the hot path. `stop()` calls them all.
  const wakers: (Waker | undefined)[] = [];
  // Attempts whose slot was freed while their work still runs (see `maxAbandoned`).
  let abandonedNow = 0;
  const stillRunning = new Set<Call<T, R>>();
  const abandonWaiters = new Set<() => void>();
  let firstAttempts = 0;
  let retriesGranted = 0;
  let requiredSettled = 0;
  let requiredFailed = 0;

  const stop = (reason: StopReason) => {
    if (stopReason !== undefined) return;
    stopReason = reason;
    for (const waker of wakers) waker?.wake();
  };

  const deadlineTimer: TimerHandle | undefined =
    o.deadline === Infinity
      ? undefined
      : clock.setTimeout(() => stop({ kind: 'deadline' }), o.deadline);
  const onCallerAbort = () => stop({ kind: 'cancelled', by: 'caller', cause: o.signal?.reason });
  if (o.signal?.aborted === true) onCallerAbort();
  else o.signal?.addEventListener('abort', onCallerAbort, { once: true });

  const stoppedError = (index: number, attempts: number, last: unknown): BatchError => {
    const fields = { index, attempts, ...(last === undefined ? {} : { cause: last }) };
    if (stopReason?.kind === 'deadline')
      return new DeadlineError({ ...fields, deadlineMs: o.deadline });
    const reason = stopReason as Extract<StopReason, { kind: 'cancelled' }>;
    return new CancelledError({ index, attempts, by: reason.by, cause: last ?? reason.cause });
  };

  const declareFatal = (error: FatalError) => {
    if (fatal !== undefined) return;
    fatal = error;
    stop({ kind: 'cancelled', by: 'fatal', cause: error });
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
    if (importance === 'required' && o.breaker !== undefined && outcome.status !== 'skipped') {
      const stoppedByUs =
        outcome.status === 'rejected' &&
        (outcome.error.code === 'CANCELLED' || outcome.error.code === 'DEADLINE');
      if (!stoppedByUs) {
        requiredSettled += 1;
        if (outcome.status === 'rejected') requiredFailed += 1;
        if (
          requiredSettled >= o.breaker.minSamples &&
          requiredFailed / requiredSettled >= o.breaker.failureRatio
        ) {
          declareFatal(
            new FatalError(
              `breaker opened: ${requiredFailed} of ${requiredSettled} required items failed (ratio ${o.breaker.failureRatio})`,
              {
                index: -1,
                attempts: 0,
                cause: outcome.status === 'rejected' ? outcome.error : undefined,
              },
            ),
          );
        }
      }
    }
    sink.emit(outcome);
    if (o.onOutcome !== undefined) {
      try {
        o.onOutcome(outcome);
      } catch {
        counts.hookErrors += 1;
      }
    }
  };

  /** Waits until fewer than `maxAbandoned` abandoned attempts are outstanding, or the batch stops. */
  const abandonSlot = (worker: number) =>
    new Promise<void>((resolve) => {
      const wake = () => {
        abandonWaiters.delete(wake);
        wakers[worker] = undefined;
        resolve();
      };
      abandonWaiters.add(wake);
      wakers[worker] = { wake };
    });

  const releaseAbandoned = (call: Call<T, R>) => {
    stillRunning.delete(call);
    abandonedNow -= 1;
    const [first] = abandonWaiters;
    first?.();
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
    timeoutMs: o.timeout,
    hedgeDelayMs: o.hedgeDelay,
    timeouts,
    hedges,
    wakers,
    counts,
    stoppedError,
    timeoutError: (index, attempts) => new TimeoutError({ index, attempts, timeoutMs: o.timeout }),
    callAbandoned: (call) => {
      abandonedNow += 1;
      // It counts in `stats.abandoned` if it never read its signal (it cannot stop), or if it is
      // still running when the batch ends.
      if (call.controller === undefined) counts.abandoned += 1;
      else stillRunning.add(call);
    },
    abandonedCallEnded: releaseAbandoned,
  };

  const retryDelay = (retryNo: number) => {
    const base = Math.min(o.maxDelay, o.minDelay * o.factor ** (retryNo - 1));
    return o.jitter ? Math.random() * base : base;
  };

  const retryAllowed = (retryNo: number, delay: number) => {
    if (retryNo > o.retries) return false;
    // Never sleep past the deadline: a retry that cannot start in time is not taken.
    if (clock.now() + delay >= startedAt + o.deadline) return false;
    if (o.budget !== undefined) {
      // The token is taken when the retry is granted, not when it starts after its delay, so
      // a wave of simultaneous failures cannot all pass the check before any retry counts.
      if (retriesGranted >= o.budget.minRetries + o.budget.ratio * firstAttempts) return false;
      retriesGranted += 1;
    }
    return true;
  };

  /** Settles a rejected outcome; a function, not a closure per item. */
  const reject = (
    item: T,
    index: number,
    error: BatchError,
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
    const itemStart = clock.now();
    let importance: Importance = 'required';
    if (o.importance !== undefined) {
      try {
        importance = o.importance(item);
      } catch {
        // A throwing `importance` keeps the safe default: the item counts as required.
      }
    }
    let attempts = 0;
    let lastError: unknown;
    for (;;) {
      while (stopReason === undefined && abandonedNow >= o.maxAbandoned) await abandonSlot(worker);
      if (stopReason !== undefined) {
        return reject(
          item,
          index,
          stoppedError(index, attempts, lastError),
          attempts,
          itemStart,
          importance,
        );
      }
      attempts += 1;
      if (attempts === 1) firstAttempts += 1;
      else counts.retried += 1;

      // The first attempt starts when the item does: one clock reading fewer on the hot path.
      const startedAt = attempts === 1 ? itemStart : clock.now();
      const result = (await new Attempt(host, worker, item, index, attempts, startedAt).done)
        .ending!;
      if (result.kind === 'value') {
        const durationMs = clock.now() - itemStart;
        return settle(
          { status: 'fulfilled', item, index, value: result.value, attempts, durationMs },
          importance,
        );
      }
      if (result.kind === 'stopped') {
        return reject(
          item,
          index,
          stoppedError(index, attempts, lastError),
          attempts,
          itemStart,
          importance,
        );
      }

      const error =
        result.kind === 'timeout'
          ? new TimeoutError({ index, attempts, timeoutMs: o.timeout })
          : result.error;
      lastError = error;
      let verdict: Classification;
      try {
        verdict = classify(error, item);
      } catch {
        verdict = 'fatal';
      }
      if (verdict === 'skip')
        return settle({ status: 'skipped', item, index, reason: error }, importance);
      if (verdict === 'fatal') {
        const message = `item ${index}: ${error instanceof Error ? error.message : String(error)}`;
        if (importance === 'required') {
          declareFatal(
            new FatalError(`required item ${index} failed fatally`, {
              index,
              attempts,
              cause: error,
            }),
          );
        }
        return reject(
          item,
          index,
          new FatalError(message, { index, attempts, cause: error }),
          attempts,
          itemStart,
          importance,
        );
      }
      const delay = retryDelay(attempts);
      if (retryAllowed(attempts, delay)) {
        if (delay > 0) await sleep(worker, delay);
        continue;
      }
      const final =
        result.kind === 'timeout'
          ? (error as TimeoutError)
          : new TransientError({ index, attempts, cause: error });
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
      let next: Awaited<ReturnType<ItemSource<T>['next']>>;
      try {
        next = source.nextSync !== undefined ? source.nextSync() : await source.next();
      } catch (error) {
        declareFatal(
          new FatalError('reading the items failed', { index: -1, attempts: 0, cause: error }),
        );
        return;
      }
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

  const done = workersDone.then(async () => {
    endedAt = clock.now();
    counts.abandoned += stillRunning.size;
    if (deadlineTimer !== undefined) clock.clearTimeout(deadlineTimer);
    o.signal?.removeEventListener('abort', onCallerAbort);
    timeouts.close();
    hedges.close();
    await source.close().catch(() => undefined);
    if (internalFailure !== undefined) throw internalFailure.error;
  });

  return {
    done,
    stop: (by, cause) => stop({ kind: 'cancelled', by, cause }),
    stats: () => ({ ...counts, durationMs: (endedAt ?? clock.now()) - startedAt }),
    fatal: () => fatal,
    stoppedEarly: () => stopReason !== undefined,
  };
}
