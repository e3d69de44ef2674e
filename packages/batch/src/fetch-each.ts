/**
 * `fetchEach`: the streaming form of `fetchAll`.
 *
 * @module
 */
import type { FatalError } from './errors.js';
import {
  assertFetchOne,
  emptyCounts,
  startEngine,
  type EngineRun,
  type FetchOne,
} from './internal/engine.js';
import { assertItems } from './internal/item-source.js';
import { resolveOptions } from './internal/resolve-options.js';
import type { FetchOptions } from './options.js';
import type { BatchStats, Outcome } from './outcome.js';

/** The async iterable returned by {@link fetchEach}, with the batch's counters and verdict. */
export interface OutcomeStream<T, R> extends AsyncIterableIterator<Outcome<T, R>> {
  /** Counters so far (final once iteration ended). */
  stats(): BatchStats;
  /**
   * The verdict so far: set when a required item failed fatally, the breaker opened or the
   * source threw; the every-required-item-failed verdict is set when the stream ends.
   */
  fatal(): FatalError | undefined;
  /** Stops the batch (in-flight attempts are aborted) and resolves once its workers stopped. */
  return(): Promise<IteratorReturnResult<undefined>>;
}

/**
 * Runs `fetchOne` for every item and yields each outcome as it settles, in completion order.
 *
 * **When to use:** the input is large or unbounded (an async iterable of files, a paginated
 * listing) and results can be processed one by one: memory stays O(concurrency) whatever the
 * number of items.
 *
 * **Details:** backpressure: once `concurrency` outcomes wait for the consumer (1,024 at
 * concurrency `Infinity`), no new item starts until it takes one; items already running still add
 * theirs. Breaking out of `for await` stops the batch: in-flight attempts are aborted and the
 * iterator returns once the workers have stopped. Work starts on the first `next()`, not at the
 * call; a stream closed by `return()` before it never starts.
 *
 * @example
 * ```ts
 * import { readFile } from 'node:fs/promises';
 *
 * for await (const outcome of fetchEach(walkFiles(root), (path, { signal }) => readFile(path, { signal }), { concurrency: 32 })) {
 *   if (outcome.status === 'fulfilled') index.add(outcome.value);
 * }
 * ```
 *
 * @see fetchAll to collect every outcome in input order.
 * @since 0.1.0
 */
export function fetchEach<T, R>(
  items: Iterable<T> | AsyncIterable<T>,
  fetchOne: FetchOne<T, R>,
  options?: FetchOptions<T, R>,
): OutcomeStream<T, R> {
  const resolved = resolveOptions(options);
  assertItems(items);
  assertFetchOne(fetchOne);
  const limit = resolved.concurrency === Infinity ? 1024 : resolved.concurrency;
  // Invariant: a worker starts an item only while `buffer` holds fewer than `limit` outcomes;
  // otherwise it waits on `spaceWaiters`, and the consumer wakes one each time it takes an
  // outcome. So the buffer holds at most `limit` outcomes plus those of the items already running
  // when it filled: O(concurrency).
  const buffer: (Outcome<T, R> | undefined)[] = [];
  let bufferHead = 0;
  const spaceWaiters: (() => void)[] = [];
  let consumer: (() => void) | undefined;
  let run: EngineRun | undefined;
  let finished = false;
  // Set by `return()`: from then on workers never wait for space (nobody will take outcomes).
  let closing = false;
  let failure: { error: unknown } | undefined;

  const buffered = () => buffer.length - bufferHead;
  const wakeConsumer = () => {
    const wake = consumer;
    consumer = undefined;
    wake?.();
  };
  const start = () => {
    run = startEngine(items, fetchOne, resolved, {
      emit: (outcome) => {
        buffer.push(outcome);
        wakeConsumer();
      },
      space: () =>
        closing || buffered() < limit
          ? undefined
          : new Promise<void>((resolve) => spaceWaiters.push(resolve)),
    });
    run.done.then(
      () => {
        finished = true;
        wakeConsumer();
      },
      (error: unknown) => {
        failure = { error };
        finished = true;
        wakeConsumer();
      },
    );
  };
  const take = (): Outcome<T, R> => {
    const outcome = buffer[bufferHead]!;
    // Release the outcome as it is taken, and reclaim the taken prefix once it is half the
    // array: a consumer that keeps up may never drain the buffer to empty, and waiting for that
    // kept every outcome of the stream alive (memory O(items), not O(concurrency)).
    buffer[bufferHead] = undefined;
    bufferHead += 1;
    if (bufferHead === buffer.length) {
      buffer.length = 0;
      bufferHead = 0;
    } else if (bufferHead >= 32 && bufferHead * 2 >= buffer.length) {
      buffer.splice(0, bufferHead);
      bufferHead = 0;
    }
    spaceWaiters.shift()?.();
    return outcome;
  };

  const stream: OutcomeStream<T, R> = {
    async next() {
      // A stream closed by `return()` before its first `next()` never starts.
      if (run === undefined && !closing) start();
      while (buffered() === 0 && !finished)
        await new Promise<void>((resolve) => (consumer = resolve));
      if (buffered() > 0) return { done: false, value: take() };
      if (failure !== undefined) throw failure.error;
      return { done: true, value: undefined };
    },
    async return() {
      closing = true;
      if (run !== undefined && !finished) {
        run.stop('consumer');
        for (const wake of spaceWaiters.splice(0)) wake();
        // A failure of `done` is already recorded in `failure` by start()'s handler.
        await run.done.catch(() => undefined);
      }
      finished = true;
      buffer.length = 0;
      bufferHead = 0;
      return { done: true, value: undefined };
    },
    [Symbol.asyncIterator]() {
      return this;
    },
    stats: () => run?.stats() ?? { ...emptyCounts(), durationMs: 0 },
    fatal: () => run?.fatal(),
  };
  return stream;
}
