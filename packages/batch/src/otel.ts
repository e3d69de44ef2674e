/**
 * `@holdfast/batch/otel`: every batch of the process as OpenTelemetry metrics, through
 * `@opentelemetry/api` only (an optional peer dependency: only this entry loads it).
 *
 * @module
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { Attributes } from '@opentelemetry/api';
import {
  checkMeterOptions,
  GuardedMeter,
  seconds,
  type Instrumentation as SharedInstrumentation,
  type MeterOptions as SharedMeterOptions,
} from '@holdfast/internal/otel';
import {
  ATTEMPT_END_CHANNEL,
  BATCH_END_CHANNEL,
  OUTCOME_CHANNEL,
  type AttemptEndMessage,
  type BatchEndMessage,
  type OutcomeMessage,
} from './internal/channels.js';
import { VERSION } from './version.js';

/** What an `instrument…()` call returns: `stop()`, and `stats().meterErrors`. */
export type Instrumentation = SharedInstrumentation;
/** Where the measurements go: `meter`, or `meterProvider` (the global provider by default). */
export type MeterOptions = SharedMeterOptions;

/** Options of {@link instrumentBatch}: where the measurements go. */
export type BatchMetricsOptions = MeterOptions;

/**
 * Records every `fetchAll` and `fetchEach` of the process (every copy of the package) as
 * OpenTelemetry metrics named `holdfast.batch.*` (docs/batch.md lists them), until `stop()`.
 *
 * **When to use:** once, at the start of an agent that exports OpenTelemetry metrics.
 *
 * **Details:** the batch publishes on diagnostics channels, which cost nothing until this
 * subscribes (it does not with the API's no-op meter). Items and attempts are counted when their
 * batch ends. Attributes are bounded: outcome kinds, error codes, fatal reasons — never an item.
 * A meter or exporter that throws costs only that measurement (`stats().meterErrors`).
 *
 * @example
 * ```ts
 * import { instrumentBatch } from '@holdfast/batch/otel';
 *
 * const instrumentation = instrumentBatch({ meterProvider });
 * await fetchAll(containers, inspect, { timeout: 2_000 });
 * instrumentation.stop();
 * ```
 *
 * @since 0.2.0
 */
export function instrumentBatch(options?: BatchMetricsOptions): Instrumentation {
  const meter = new GuardedMeter(checkMeterOptions(options, []), {
    name: '@holdfast/batch',
    version: VERSION,
  });
  const items = meter.counter(BATCH_METRICS.items);
  const attempts = meter.counter(BATCH_METRICS.attempts);
  const attemptDuration = meter.histogram(BATCH_METRICS.attemptDuration);
  const retries = meter.counter(BATCH_METRICS.retries);
  const retriesRefused = meter.counter(BATCH_METRICS.retriesRefused);
  const hedges = meter.counter(BATCH_METRICS.hedges);
  const abandoned = meter.counter(BATCH_METRICS.abandoned);
  const hookErrors = meter.counter(BATCH_METRICS.hookErrors);
  const batches = meter.counter(BATCH_METRICS.batches);
  const batchDuration = meter.histogram(BATCH_METRICS.batchDuration);

  // Counts by attributes, added to the counters when a batch ends: one SDK call per kind and
  // batch instead of one per item (attribute sets are hashed on every call).
  const itemCounts = new Map<string, { count: number; attributes: Attributes }>();
  const attemptCounts = new Map<string, { count: number; attributes: Attributes }>();
  const bump = (
    counts: Map<string, { count: number; attributes: Attributes }>,
    key: string,
    attributes: () => Attributes,
  ) => {
    const entry = counts.get(key);
    if (entry === undefined) counts.set(key, { count: 1, attributes: attributes() });
    else entry.count += 1;
  };
  const flush = (
    counts: Map<string, { count: number; attributes: Attributes }>,
    counter: { record(value: number, attributes?: Attributes): void },
  ) => {
    for (const { count, attributes } of counts.values()) counter.record(count, attributes);
    counts.clear();
  };

  // Diagnostics channel subscribers must not throw (Node rethrows on the next tick): each
  // recorder below is guarded, and the messages are the package's own plain objects.
  const onAttempt = (message: unknown) => {
    const { result, durationMs } = message as AttemptEndMessage;
    const attributes = ATTEMPT_ATTRIBUTES[result];
    bump(attemptCounts, result, () => attributes);
    attemptDuration.record(seconds(durationMs), attributes);
  };
  const onOutcome = (message: unknown) => {
    const { status, code } = message as OutcomeMessage;
    bump(itemCounts, code === undefined ? status : `${status} ${code}`, () =>
      code === undefined
        ? { 'holdfast.batch.outcome': status }
        : { 'holdfast.batch.outcome': status, 'error.type': code },
    );
  };
  const onBatchEnd = (message: unknown) => {
    const { stats, fatal } = message as BatchEndMessage;
    flush(itemCounts, items);
    flush(attemptCounts, attempts);
    retries.record(stats.retried);
    retriesRefused.record(stats.budgetRefused);
    hedges.record(stats.hedged);
    abandoned.record(stats.abandoned);
    hookErrors.record(stats.hookErrors);
    const attributes =
      fatal === undefined
        ? { 'holdfast.batch.verdict': 'ok' }
        : { 'holdfast.batch.verdict': 'fatal', 'holdfast.batch.fatal.reason': fatal };
    batches.record(1, attributes);
    batchDuration.record(seconds(stats.durationMs), attributes);
  };
  // The API's no-op meter records nothing: then the channels stay without subscribers, and the
  // batch builds no message at all (the cost of `fetchAll` without this entry).
  const subscribed = !meter.isNoop;
  if (subscribed) {
    subscribe(ATTEMPT_END_CHANNEL, onAttempt);
    subscribe(OUTCOME_CHANNEL, onOutcome);
    subscribe(BATCH_END_CHANNEL, onBatchEnd);
  }
  return {
    stop() {
      if (!subscribed) return;
      unsubscribe(ATTEMPT_END_CHANNEL, onAttempt);
      unsubscribe(OUTCOME_CHANNEL, onOutcome);
      unsubscribe(BATCH_END_CHANNEL, onBatchEnd);
    },
    stats: () => ({ meterErrors: meter.meterErrors }),
  };
}

/** The instruments, by stable name (docs/batch.md lists the same, checked by a test). */
const ATTEMPT_ATTRIBUTES: Readonly<Record<AttemptEndMessage['result'], Attributes>> = {
  value: { 'holdfast.batch.attempt.result': 'value' },
  error: { 'holdfast.batch.attempt.result': 'error' },
  timeout: { 'holdfast.batch.attempt.result': 'timeout' },
  stopped: { 'holdfast.batch.attempt.result': 'stopped' },
};

const BATCH_METRICS = {
  items: {
    name: 'holdfast.batch.items',
    unit: '{item}',
    description: 'Items settled, by outcome and, for a rejected item, its error code.',
  },
  attempts: {
    name: 'holdfast.batch.attempts',
    unit: '{attempt}',
    description: 'Attempts ended, by how they ended.',
  },
  attemptDuration: {
    name: 'holdfast.batch.attempt.duration',
    unit: 's',
    description: 'Duration of each attempt, by how it ended.',
  },
  retries: {
    name: 'holdfast.batch.retries',
    unit: '{retry}',
    description: 'Retries started (attempts after the first), hedges excluded.',
  },
  retriesRefused: {
    name: 'holdfast.batch.retries.refused',
    unit: '{retry}',
    description: 'Transient failures not retried because the retry budget was spent.',
  },
  hedges: {
    name: 'holdfast.batch.hedges',
    unit: '{hedge}',
    description: 'Speculative duplicates started by hedging.',
  },
  abandoned: {
    name: 'holdfast.batch.abandoned',
    unit: '{call}',
    description: 'Calls whose slot was freed while their work kept running.',
  },
  hookErrors: {
    name: 'holdfast.batch.hook_errors',
    unit: '{error}',
    description: 'Failures of user callbacks other than fetchOne, each replaced by its default.',
  },
  batches: {
    name: 'holdfast.batch.batches',
    unit: '{batch}',
    description: 'Batches ended, by verdict (and what made a fatal one fatal).',
  },
  batchDuration: {
    name: 'holdfast.batch.duration',
    unit: 's',
    description: 'Duration of each batch, by verdict.',
  },
} as const;
