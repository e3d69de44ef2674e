/**
 * `@holdfast/crash-flush/otel`: a crash guard's `stats()`, its spool and its sends as
 * OpenTelemetry metrics, through `@opentelemetry/api` only (an optional peer dependency: only
 * this entry loads it).
 *
 * @module
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { invalidOption } from '@holdfast/internal';
import {
  checkMeterOptions,
  GuardedMeter,
  seconds,
  type Instrumentation as SharedInstrumentation,
  type MeterOptions as SharedMeterOptions,
} from '@holdfast/internal/otel';
import type { CrashGuard } from './guard.js';
import { SEND_CHANNEL, type SendMessage } from './internal/send-channel.js';
import { VERSION } from './version.js';

/** What an `instrument…()` call returns: `stop()`, and `stats().meterErrors`. */
export type Instrumentation = SharedInstrumentation;
/** Where the measurements go: `meter`, or `meterProvider` (the global provider by default). */
export type MeterOptions = SharedMeterOptions;

/** Options of {@link instrumentCrashGuard}. */
export interface CrashGuardMetricsOptions extends MeterOptions {
  /** The guard `installCrashGuard()` returned. */
  readonly guard: CrashGuard;
}

const OUTCOME = 'holdfast.crash_flush.report.outcome';

/**
 * Exports a crash guard's figures as OpenTelemetry metrics named `holdfast.crash_flush.*`
 * (docs/crash-flush.md lists them), until `stop()`.
 *
 * **When to use:** once, after `installCrashGuard()`, in an agent that exports OpenTelemetry
 * metrics. What the guard does while the process dies cannot be exported by that process: it is
 * counted, and the next start's figures (`recovered`, spool size) tell what it left behind.
 *
 * **Details:** report counts are read from `guard.stats()` and the spool size from
 * `guard.spoolSize()` at each collection; send durations come from a diagnostics channel, which
 * costs nothing until this subscribes. Attributes are bounded: report outcomes, report kinds,
 * send outcomes — never a report's contents. A meter or exporter that throws costs only that
 * measurement (`stats().meterErrors`).
 *
 * @example
 * ```ts
 * import { instrumentCrashGuard } from '@holdfast/crash-flush/otel';
 *
 * const guard = installCrashGuard({ service: 'log-agent', sink, spoolDir: '/var/spool/agent' });
 * const instrumentation = instrumentCrashGuard({ guard, meterProvider });
 * ```
 *
 * @since 0.2.0
 */
export function instrumentCrashGuard(options: CrashGuardMetricsOptions): Instrumentation {
  const o = checkMeterOptions(options, ['guard']);
  const { guard } = o;
  if (
    typeof (guard as Partial<CrashGuard> | undefined)?.stats !== 'function' ||
    typeof (guard as Partial<CrashGuard> | undefined)?.spoolSize !== 'function'
  )
    throw invalidOption('guard', 'a CrashGuard (from installCrashGuard())', guard);
  const meter = new GuardedMeter(o, { name: '@holdfast/crash-flush', version: VERSION });
  const m = CRASH_FLUSH_METRICS;
  const sendDuration = meter.histogram(m.sendDuration);
  const reports = meter.observableCounter(m.reports);
  const hookErrors = meter.observableCounter(m.hookErrors);
  const sinkErrors = meter.observableCounter(m.sinkErrors);
  const spoolReports = meter.observableGauge(m.spoolReports);
  const spoolBytes = meter.observableGauge(m.spoolBytes);
  meter.observeAll((observe) => {
    const s = guard.stats();
    for (const outcome of REPORT_OUTCOMES) observe(reports, s[outcome], { [OUTCOME]: outcome });
    observe(hookErrors, s.hookErrors);
    observe(sinkErrors, s.sinkErrors);
    const spool = guard.spoolSize();
    observe(spoolReports, spool.reports);
    observe(spoolBytes, spool.bytes);
  });
  // A diagnostics channel subscriber must not throw (Node would rethrow it): the recorder is guarded.
  const onSend = (message: unknown) => {
    const { kind, outcome, durationMs } = message as SendMessage;
    sendDuration.record(seconds(durationMs), {
      'holdfast.crash_flush.report.kind': kind,
      'holdfast.crash_flush.send.outcome': outcome,
    });
  };
  // With the API's no-op meter nothing is subscribed: a send then builds no message.
  const listening = !meter.isNoop;
  if (listening) subscribe(SEND_CHANNEL, onSend);
  return {
    stop() {
      if (listening) unsubscribe(SEND_CHANNEL, onSend);
      meter.stop();
    },
    stats: () => ({ meterErrors: meter.meterErrors }),
  };
}

/** The `stats()` counters exported as `holdfast.crash_flush.reports`, one outcome each. */
const REPORT_OUTCOMES = [
  'sent',
  'spooled',
  'recovered',
  'suppressed',
  'lost',
  'evicted',
  'rejected',
] as const;

/** The instruments, by stable name (docs/crash-flush.md lists the same, checked by a test). */
const CRASH_FLUSH_METRICS = {
  reports: {
    name: 'holdfast.crash_flush.reports',
    unit: '{report}',
    description:
      'Reports by outcome: sent, spooled, recovered (a spooled one sent at start), suppressed by the rate limit, lost, evicted from the spool, rejected spool files.',
  },
  hookErrors: {
    name: 'holdfast.crash_flush.hook_errors',
    unit: '{error}',
    description: 'Failures of the user hooks (onReport, a metadata function).',
  },
  sinkErrors: {
    name: 'holdfast.crash_flush.sink_errors',
    unit: '{error}',
    description: 'Sends and prepares that threw, rejected or timed out.',
  },
  spoolReports: {
    name: 'holdfast.crash_flush.spool.reports',
    unit: '{report}',
    description: 'Reports in spoolDir waiting to be sent.',
  },
  spoolBytes: {
    name: 'holdfast.crash_flush.spool.bytes',
    unit: 'By',
    description: 'Bytes of the reports in spoolDir.',
  },
  sendDuration: {
    name: 'holdfast.crash_flush.send.duration',
    unit: 's',
    description: 'Duration of each send made while the process runs, by report kind and outcome.',
  },
} as const;
