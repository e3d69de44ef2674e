/**
 * `fetchAll`: fetch details for every item, with timeouts, a deadline and retries, and get back
 * one outcome per item — never a rejection because an item failed.
 *
 * @module
 */
import { startEngine, type FetchOne, type OutcomeSink } from './internal/engine.js';
import { emptyObjectArray } from './internal/object-array.js';
import { resolveOptions } from './internal/resolve-options.js';
import type { FetchOptions } from './options.js';
import { summarize, type BatchResult, type FulfilledOutcome, type Outcome } from './outcome.js';

/**
 * Runs `fetchOne` for every item and resolves with every outcome, in input order.
 *
 * **When to use:** an agent lists N things (containers, pods, files, endpoints) and needs details
 * for each, and one slow, stale or failing item must cost that item only — the iLogtail incident,
 * where one exited container's failed inspect switched Docker discovery off for good.
 *
 * **Details:** at most `concurrency` attempts run at once; each gets a signal that aborts on its
 * `timeout`, on the batch `deadline` and on the caller's `signal`. Failures are classified
 * (`transient` ones are retried), and the verdict (`fatal`) is set only by a required item that
 * failed fatally, by the breaker, or — by default — when every required item failed (see
 * `allFailedIsFatal`). The promise rejects only on invalid options (a `TypeError`), never
 * synchronously.
 *
 * @example
 * ```ts
 * const result = await fetchAll(containers, (c, { signal }) => docker.inspect(c.Id, { signal }), {
 *   concurrency: 16,
 *   timeout: 2_000,
 *   deadline: 10_000,
 *   importance: (c) => (c.State === 'running' ? 'required' : 'optional'),
 * });
 * if (result.fatal === undefined) inventory.apply(result);
 * ```
 *
 * @see fetchEach for a stream of outcomes in completion order with O(concurrency) memory.
 * @since 0.1.0
 */
export async function fetchAll<T, R>(
  items: Iterable<T> | AsyncIterable<T>,
  fetchOne: FetchOne<T, R>,
  options?: FetchOptions<T, R>,
): Promise<BatchResult<T, R>> {
  const resolved = resolveOptions(options);
  const sink = new InputOrder<T, R>();
  const outcomes = sink.outcomes;
  const run = startEngine(items, fetchOne, resolved, sink);
  await run.done;
  const stats = run.stats();
  const fatal = run.fatal();
  const complete =
    !run.stoppedEarly() && outcomes.every((outcome) => outcome.status !== 'rejected');
  return {
    outcomes,
    get values() {
      return outcomes
        .filter((outcome): outcome is FulfilledOutcome<T, R> => outcome.status === 'fulfilled')
        .map((outcome) => outcome.value);
    },
    complete,
    fatal,
    stats,
    summary: () => summarize(stats, fatal),
  };
}

/**
 * The outcomes of `fetchAll`, in input order. A class, not a closure made per call: the engine
 * calls `emit` once per item, and a call site that met one batch's closure deoptimizes on the next.
 */
class InputOrder<T, R> implements OutcomeSink<T, R> {
  readonly outcomes: Outcome<T, R>[] = emptyObjectArray();
  emit(outcome: Outcome<T, R>): void {
    this.outcomes[outcome.index] = outcome;
  }
}
