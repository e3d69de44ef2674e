/**
 * `@holdfast/chunk-pool/otel`: a pool's `stats()` and events as OpenTelemetry metrics, through
 * `@opentelemetry/api` only (an optional peer dependency: only this entry loads it).
 *
 * @module
 */
import {
  checkMeterOptions,
  GuardedMeter,
  type Instrumentation as SharedInstrumentation,
  type MeterOptions as SharedMeterOptions,
} from '@holdfast/internal/otel';
import { invalidOption } from '@holdfast/internal';
import type { DroppedEvent } from './events.js';
import type { ChunkPool } from './pool.js';
import type { BreakerState } from './retry-schedule.js';
import { VERSION } from './version.js';

/** What an `instrument…()` call returns: `stop()`, and `stats().meterErrors`. */
export type Instrumentation = SharedInstrumentation;
/** Where the measurements go: `meter`, or `meterProvider` (the global provider by default). */
export type MeterOptions = SharedMeterOptions;

/** Options of {@link instrumentChunkPool}. */
export interface ChunkPoolMetricsOptions extends MeterOptions {
  /** The pool to observe. */
  readonly pool: ChunkPool;
}

const OUTPUT = 'holdfast.chunk_pool.output';
const REASON = 'holdfast.chunk_pool.drop.reason';
const STATE = 'holdfast.chunk_pool.breaker.state';
const BREAKER_STATES: readonly BreakerState[] = ['closed', 'open', 'half-open'];

/**
 * Exports a pool's figures as OpenTelemetry metrics named `holdfast.chunk_pool.*` (docs/chunk-pool.md
 * lists them), until `stop()`.
 *
 * **When to use:** once, after `ChunkPool.open`, in an agent that exports OpenTelemetry metrics.
 *
 * **Details:** counters and gauges are read from `pool.stats()` at each collection, so the hot
 * paths (`append`, `tryAppend`, `take`) do no metric work at all; only drops, which carry a
 * reason `stats()` does not split, are counted from the `dropped` event (from the moment this is
 * called). Attributes are bounded: output names, drop reasons, breaker states — never a tag or a
 * record. A meter or exporter that throws costs only that measurement (`stats().meterErrors`).
 *
 * @example
 * ```ts
 * import { instrumentChunkPool } from '@holdfast/chunk-pool/otel';
 *
 * const pool = await ChunkPool.open({ outputs: ['loki'], storage: fileStorage({ dir: '/var/lib/agent' }) });
 * const instrumentation = instrumentChunkPool({ pool, meterProvider });
 * ```
 *
 * @since 0.2.0
 */
export function instrumentChunkPool(options: ChunkPoolMetricsOptions): Instrumentation {
  const o = checkMeterOptions(options, ['pool']);
  const { pool } = o;
  // Duck-typed: a pool from another copy of the package (ESM beside CJS) is a pool too.
  if (
    typeof (pool as Partial<ChunkPool> | undefined)?.stats !== 'function' ||
    typeof (pool as Partial<ChunkPool> | undefined)?.on !== 'function'
  )
    throw invalidOption('pool', 'a ChunkPool', pool);
  const meter = new GuardedMeter(o, { name: '@holdfast/chunk-pool', version: VERSION });
  const m = CHUNK_POOL_METRICS;
  const droppedRecords = meter.counter(m.droppedRecords);
  const droppedBytes = meter.counter(m.droppedBytes);
  const acceptedRecords = meter.observableCounter(m.acceptedRecords);
  const acceptedBytes = meter.observableCounter(m.acceptedBytes);
  const deliveredRecords = meter.observableCounter(m.deliveredRecords);
  const deliveredBytes = meter.observableCounter(m.deliveredBytes);
  const deadLetteredRecords = meter.observableCounter(m.deadLetteredRecords);
  const deadLetteredBytes = meter.observableCounter(m.deadLetteredBytes);
  const retries = meter.observableCounter(m.retries);
  const leaseTimeouts = meter.observableCounter(m.leaseTimeouts);
  const storageErrors = meter.observableCounter(m.storageErrors);
  const listenerErrors = meter.observableCounter(m.listenerErrors);
  const recoveredChunks = meter.observableCounter(m.recoveredChunks);
  const recoveredRecords = meter.observableCounter(m.recoveredRecords);
  const lostRecords = meter.observableCounter(m.lostRecords);
  const lostBytes = meter.observableCounter(m.lostBytes);
  const quarantined = meter.observableCounter(m.quarantined);
  const bytesUp = meter.observableGauge(m.bytesUp);
  const storedBytes = meter.observableGauge(m.storedBytes);
  const reserveBytesUp = meter.observableGauge(m.reserveBytesUp);
  const appendsWaiting = meter.observableGauge(m.appendsWaiting);
  const pendingRecords = meter.observableGauge(m.pendingRecords);
  const breaker = meter.observableGauge(m.breaker);
  const holdingBack = meter.observableGauge(m.holdingBack);

  meter.observeAll((observe) => {
    const s = pool.stats();
    observe(acceptedRecords, s.accepted.records);
    observe(acceptedBytes, s.accepted.bytes);
    observe(storageErrors, s.storageErrors);
    observe(listenerErrors, s.listenerErrors);
    observe(recoveredChunks, s.recovered.chunks);
    observe(recoveredRecords, s.recovered.records);
    observe(lostRecords, s.lost.records);
    observe(lostBytes, s.lost.bytes);
    observe(quarantined, s.quarantined);
    observe(bytesUp, s.bytesUp);
    observe(storedBytes, s.stored.bytes);
    observe(appendsWaiting, s.appendsWaiting);
    for (const [name, out] of Object.entries(s.outputs)) {
      const a = { [OUTPUT]: name };
      observe(deliveredRecords, out.delivered.records, a);
      observe(deliveredBytes, out.delivered.bytes, a);
      observe(deadLetteredRecords, out.deadLettered.records, a);
      observe(deadLetteredBytes, out.deadLettered.bytes, a);
      observe(retries, out.retries, a);
      observe(leaseTimeouts, out.leaseTimeouts, a);
      observe(reserveBytesUp, out.reserve.bytesUp, a);
      observe(pendingRecords, out.pendingRecords, a);
      // The pool's own answer (stats().heldBackBy): never a best-effort output.
      observe(holdingBack, out.holdingBack === undefined ? 0 : 1, a);
      for (const state of BREAKER_STATES)
        observe(breaker, out.breaker === state ? 1 : 0, { [OUTPUT]: name, [STATE]: state });
    }
  });

  // Runs inside the pool's guarded emit: a throw here would only be counted as a listener
  // error, and the recorders are guarded anyway. One data point per output that loses them.
  const onDropped = (event: DroppedEvent) => {
    for (const output of event.outputs) {
      const a = { [OUTPUT]: output, [REASON]: event.reason };
      droppedRecords.record(event.records, a);
      droppedBytes.record(event.bytes, a);
    }
  };
  // With the API's no-op meter nothing listens.
  const listening = !meter.isNoop;
  if (listening) pool.on('dropped', onDropped);
  return {
    stop() {
      if (listening) pool.off('dropped', onDropped);
      meter.stop();
    },
    stats: () => ({ meterErrors: meter.meterErrors }),
  };
}

/** The instruments, by stable name (docs/chunk-pool.md lists the same, checked by a test). */
const CHUNK_POOL_METRICS = {
  acceptedRecords: {
    name: 'holdfast.chunk_pool.accepted.records',
    unit: '{record}',
    description: 'Records accepted by append.',
  },
  acceptedBytes: {
    name: 'holdfast.chunk_pool.accepted.bytes',
    unit: 'By',
    description: 'Bytes accepted by append.',
  },
  deliveredRecords: {
    name: 'holdfast.chunk_pool.delivered.records',
    unit: '{record}',
    description: 'Records acked by each output.',
  },
  deliveredBytes: {
    name: 'holdfast.chunk_pool.delivered.bytes',
    unit: 'By',
    description: 'Bytes acked by each output.',
  },
  droppedRecords: {
    name: 'holdfast.chunk_pool.dropped.records',
    unit: '{record}',
    description: 'Records an output will not get, by reason (counted from instrumentation on).',
  },
  droppedBytes: {
    name: 'holdfast.chunk_pool.dropped.bytes',
    unit: 'By',
    description: 'Bytes an output will not get, by reason (counted from instrumentation on).',
  },
  deadLetteredRecords: {
    name: 'holdfast.chunk_pool.dead_lettered.records',
    unit: '{record}',
    description: 'Records past retry.maxAttempts, moved to the dead-letter store, per output.',
  },
  deadLetteredBytes: {
    name: 'holdfast.chunk_pool.dead_lettered.bytes',
    unit: 'By',
    description: 'Bytes past retry.maxAttempts, moved to the dead-letter store, per output.',
  },
  retries: {
    name: 'holdfast.chunk_pool.retries',
    unit: '{retry}',
    description: 'Chunks handed out again after a nack, per output.',
  },
  leaseTimeouts: {
    name: 'holdfast.chunk_pool.lease_timeouts',
    unit: '{lease}',
    description: 'Leases not settled within leaseTimeout, per output.',
  },
  storageErrors: {
    name: 'holdfast.chunk_pool.storage_errors',
    unit: '{error}',
    description: 'Storage calls that failed after the pool had moved on.',
  },
  listenerErrors: {
    name: 'holdfast.chunk_pool.listener_errors',
    unit: '{error}',
    description: 'Event listeners that threw or rejected.',
  },
  recoveredChunks: {
    name: 'holdfast.chunk_pool.recovered.chunks',
    unit: '{chunk}',
    description: 'Chunks recovered from storage at open.',
  },
  recoveredRecords: {
    name: 'holdfast.chunk_pool.recovered.records',
    unit: '{record}',
    description: 'Records recovered from storage at open.',
  },
  lostRecords: {
    name: 'holdfast.chunk_pool.lost.records',
    unit: '{record}',
    description: 'Records that damaged storage cost at open.',
  },
  lostBytes: {
    name: 'holdfast.chunk_pool.lost.bytes',
    unit: 'By',
    description: 'Bytes that damaged storage cost at open.',
  },
  quarantined: {
    name: 'holdfast.chunk_pool.quarantined',
    unit: '{file}',
    description: 'Damaged storage moved to quarantine.',
  },
  bytesUp: {
    name: 'holdfast.chunk_pool.bytes_up',
    unit: 'By',
    description: 'Memory in use (the inputs and every reserve).',
  },
  storedBytes: {
    name: 'holdfast.chunk_pool.stored.bytes',
    unit: 'By',
    description: 'Bytes accepted and not yet done by every output.',
  },
  reserveBytesUp: {
    name: 'holdfast.chunk_pool.reserve.bytes_up',
    unit: 'By',
    description: "Memory in use from each output's reserve.",
  },
  appendsWaiting: {
    name: 'holdfast.chunk_pool.appends_waiting',
    unit: '{append}',
    description: "Appends waiting for room (whenFull: 'block').",
  },
  pendingRecords: {
    name: 'holdfast.chunk_pool.pending.records',
    unit: '{record}',
    description: 'Records not yet acked or dropped, per output.',
  },
  breaker: {
    name: 'holdfast.chunk_pool.breaker',
    unit: '1',
    description: "1 for each output's current breaker state, 0 for the others.",
  },
  holdingBack: {
    name: 'holdfast.chunk_pool.holding_back',
    unit: '1',
    description:
      "1 for each output holding the inputs back (stats().heldBackBy: a critical output whose own limit is full, or one that has not taken the oldest chunk of the pool's full budget), else 0.",
  },
} as const;
