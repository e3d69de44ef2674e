/**
 * The batch engine shared by `fetchAll` and `fetchEach`: N workers pull items from one source,
 * run attempts with timeouts, retries and hedges, classify failures, keep the verdict, and hand
 * each item's single outcome to a sink.
 *
 * The first attempt's path is kept lean on purpose: no promise wrapper library, no timer per
 * attempt (one `DeadlineQueue` timer serves all of them), and no `AbortController` unless the
 * work reads `ctx.signal`.
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
import type { Classification, FetchContext, Importance } from '../options.js';
import type { ResolvedOptions } from './resolve-options.js';
import type { BatchStats, Outcome } from '../outcome.js';
import { DeadlineQueue, type QueueEntry } from './deadline-queue.js';
import { itemSource, type ItemSource } from './item-source.js';

/** The user's per-item work. */
export type FetchOne<T, R> = (item: T, context: FetchContext) => R | PromiseLike<R>;

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

/** How one attempt ended, as the item loop sees it. */
type AttemptEnd<R> =
  | { readonly kind: 'value'; readonly value: R }
  | { readonly kind: 'error'; readonly error: unknown }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'stopped' };

/** Throws a `TypeError` unless `fetchOne` is a function. */
export function assertFetchOne(fetchOne: unknown): void {
  if (typeof fetchOne !== 'function') {
    throw new TypeError(
      `Expected \`fetchOne\` to be a function, got \`${String(fetchOne)}\` (${typeof fetchOne})`,
    );
  }
}

/** One invocation of `fetchOne` (an attempt has one, or two when hedged). */
interface Call {
  /** Created only when the work reads `context.signal`. */
  controller: AbortController | undefined;
  running: boolean;
  /** Its slot was freed (timeout, stop, hedge lost) while the work was still running. */
  abandoned: boolean;
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

  const counts = {
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
  let endedAt: number | undefined;
  let fatal: FatalError | undefined;
  let stopReason: StopReason | undefined;
  // Everything waiting on the batch (attempts, retry sleeps, abandoned-slot waits) registers a
  // wake-up here; `stop()` calls them all once. Each removes itself when it settles otherwise.
  const onStop = new Set<() => void>();
  // Attempts whose slot was freed while their work still runs (see `maxAbandoned`).
  let abandonedNow = 0;
  const stillRunning = new Set<Call>();
  const abandonWaiters = new Set<() => void>();
  let firstAttempts = 0;
  let retriesGranted = 0;
  let requiredSettled = 0;
  let requiredFailed = 0;

  const stop = (reason: StopReason) => {
    if (stopReason !== undefined) return;
    stopReason = reason;
    for (const wake of [...onStop]) wake();
    onStop.clear();
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
  const abandonSlot = () =>
    new Promise<void>((resolve) => {
      const wake = () => {
        abandonWaiters.delete(wake);
        onStop.delete(wake);
        resolve();
      };
      abandonWaiters.add(wake);
      onStop.add(wake);
    });

  const releaseAbandoned = (call: Call) => {
    stillRunning.delete(call);
    abandonedNow -= 1;
    const [first] = abandonWaiters;
    first?.();
  };

  /** Sleeps `ms` on the clock, waking early if the batch stops. */
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const wake = () => {
        clock.clearTimeout(timer);
        onStop.delete(wake);
        resolve();
      };
      const timer = clock.setTimeout(wake, ms);
      onStop.add(wake);
    });

  /**
   * Runs one attempt: the work, its timeout, its hedge, and the batch stop, whichever ends
   * first. The work's promise always gets handlers, so an abandoned attempt that rejects later
   * never raises an unhandled rejection.
   */
  const attempt = (item: T, index: number, attemptNo: number) =>
    new Promise<AttemptEnd<R>>((resolve) => {
      let ended = false;
      let timeoutEntry: QueueEntry | undefined;
      let hedgeEntry: QueueEntry | undefined;
      const calls: Call[] = [];
      let lastError: unknown;

      const end = (result: AttemptEnd<R>, abortReason?: unknown) => {
        if (ended) return;
        ended = true;
        if (timeoutEntry !== undefined) timeouts.cancel(timeoutEntry);
        if (hedgeEntry !== undefined) hedges.cancel(hedgeEntry);
        onStop.delete(onBatchStop);
        for (const call of calls) {
          if (!call.running) continue;
          call.controller?.abort(abortReason);
          // The slot is freed now; the work may still be running (it ignored or has not yet
          // reacted to its signal) and holds an abandoned slot until it ends. It counts in
          // `stats.abandoned` if it never read its signal (it cannot stop) or is still running
          // when the batch ends.
          call.abandoned = true;
          abandonedNow += 1;
          if (call.controller === undefined) counts.abandoned += 1;
          else stillRunning.add(call);
        }
        resolve(result);
      };

      const startCall = () => {
        const call: Call = { controller: undefined, running: true, abandoned: false };
        calls.push(call);
        const context: FetchContext = {
          attempt: attemptNo,
          index,
          get signal() {
            call.controller ??= new AbortController();
            return call.controller.signal;
          },
        };
        let work: R | PromiseLike<R>;
        try {
          work = fetchOne(item, context);
        } catch (error) {
          work = Promise.reject(error);
        }
        Promise.resolve(work).then(
          (value) => {
            call.running = false;
            if (call.abandoned) return releaseAbandoned(call);
            end({ kind: 'value', value }, new Error('a hedged twin answered first'));
          },
          (error: unknown) => {
            call.running = false;
            if (call.abandoned) return releaseAbandoned(call);
            lastError = error;
            // With a hedged twin still running, one failure is not the end: wait for the twin.
            if (!calls.some((c) => c.running)) end({ kind: 'error', error: lastError });
          },
        );
      };

      const onBatchStop = () => end({ kind: 'stopped' }, stoppedError(index, attemptNo, undefined));
      onStop.add(onBatchStop);
      const now = clock.now();
      if (o.timeout !== Infinity) {
        timeoutEntry = timeouts.add(now + o.timeout, () => {
          const error = new TimeoutError({ index, attempts: attemptNo, timeoutMs: o.timeout });
          end({ kind: 'timeout' }, error);
        });
      }
      if (o.hedgeDelay !== undefined) {
        hedgeEntry = hedges.add(now + o.hedgeDelay, () => {
          if (ended) return;
          counts.hedged += 1;
          startCall();
        });
      }
      startCall();
    });

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

  const runItem = async (item: T, index: number): Promise<[Outcome<T, R>, Importance]> => {
    const itemStart = clock.now();
    let importance: Importance = 'required';
    try {
      importance = o.importance?.(item) ?? 'required';
    } catch {
      // A throwing `importance` keeps the safe default: the item counts as required.
    }
    let attempts = 0;
    let lastError: unknown;
    const rejected = (error: BatchError): [Outcome<T, R>, Importance] => [
      { status: 'rejected', item, index, error, attempts, durationMs: clock.now() - itemStart },
      importance,
    ];
    for (;;) {
      while (stopReason === undefined && abandonedNow >= o.maxAbandoned) await abandonSlot();
      if (stopReason !== undefined) return rejected(stoppedError(index, attempts, lastError));
      attempts += 1;
      if (attempts === 1) firstAttempts += 1;
      else counts.retried += 1;

      const result = await attempt(item, index, attempts);
      if (result.kind === 'value') {
        return [
          {
            status: 'fulfilled',
            item,
            index,
            value: result.value,
            attempts,
            durationMs: clock.now() - itemStart,
          },
          importance,
        ];
      }
      if (result.kind === 'stopped') return rejected(stoppedError(index, attempts, lastError));

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
        return [{ status: 'skipped', item, index, reason: error }, importance];
      if (verdict === 'fatal') {
        const itemFatal = new FatalError(
          `item ${index}: ${error instanceof Error ? error.message : String(error)}`,
          {
            index,
            attempts,
            cause: error,
          },
        );
        if (importance === 'required') {
          declareFatal(
            new FatalError(`required item ${index} failed fatally`, {
              index,
              attempts,
              cause: error,
            }),
          );
        }
        return rejected(itemFatal);
      }
      const delay = retryDelay(attempts);
      if (retryAllowed(attempts, delay)) {
        if (delay > 0) await sleep(delay);
        continue;
      }
      return rejected(
        result.kind === 'timeout'
          ? (error as TimeoutError)
          : new TransientError({ index, attempts, cause: error }),
      );
    }
  };

  // Workers are started one at a time, each time one takes an item and capacity remains, so a
  // batch of 3 items at concurrency Infinity starts 3 workers, not millions.
  let workers = 0;
  let sourceDone = false;
  let internalFailure: { error: unknown } | undefined;
  let allWorkersDone!: () => void;
  const workersDone = new Promise<void>((resolve) => (allWorkersDone = resolve));
  const spawnWorker = () => {
    workers += 1;
    const exit = () => {
      workers -= 1;
      if (workers === 0) allWorkersDone();
    };
    // A worker only throws on a bug of this package (user code is caught where it is called);
    // it surfaces as the rejection of `done`, never as an unhandled rejection.
    worker().then(exit, (error: unknown) => {
      internalFailure ??= { error };
      exit();
    });
  };
  const worker = async () => {
    for (;;) {
      if (sink.space !== undefined) await sink.space();
      if (stopReason?.kind === 'cancelled' && stopReason.by === 'consumer') return;
      let next: Awaited<ReturnType<ItemSource<T>['next']>>;
      try {
        next = await source.next();
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
      if (workers < o.concurrency && !sourceDone) spawnWorker();
      const [outcome, importance] = await runItem(next.item, next.index);
      settle(outcome, importance);
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
