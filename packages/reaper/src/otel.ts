/**
 * `@holdfast/reaper/otel`: runs, the reaper's `stats()` and events, and health checks as
 * OpenTelemetry metrics, through `@opentelemetry/api` only (an optional peer dependency: only this
 * entry loads it).
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
import type { HealthCheck, HealthState } from './health-check.js';
import { RUN_END_CHANNEL, type RunEndMessage } from './internal/run-channel.js';
import type { ReapedEvent, Reaper } from './reaper.js';
import { VERSION } from './version.js';

/** What an `instrument…()` call returns: `stop()`, and `stats().meterErrors`. */
export type Instrumentation = SharedInstrumentation;
/** Where the measurements go: `meter`, or `meterProvider` (the global provider by default). */
export type MeterOptions = SharedMeterOptions;

/** Options of {@link instrumentReaper}. */
export interface ReaperMetricsOptions extends MeterOptions {
  /** The reaper `installReaper()` returned. Unset: runs and health checks only. */
  readonly reaper?: Reaper;
  /**
   * Health checks to export, by a name you choose (an attribute value: keep the set small and
   * fixed, e.g. `{ loki: check }`).
   */
  readonly healthChecks?: Readonly<Record<string, HealthCheck>>;
}

const CHECK = 'holdfast.reaper.health_check.name';
const STATES: readonly HealthState[] = ['unknown', 'healthy', 'unhealthy'];

/**
 * Exports runs, zombies and health checks as OpenTelemetry metrics named `holdfast.reaper.*`
 * (docs/reaper.md lists them), until `stop()`.
 *
 * **When to use:** once, at the start of an agent that exports OpenTelemetry metrics.
 *
 * **Details:** every `run()` of the process is counted by result from a diagnostics channel,
 * which costs nothing until this subscribes; reap latencies come from the reaper's `reaped`
 * event; the rest is read from `reaper.stats()` and each check's `status()` at each collection.
 * Attributes are bounded: run results, health states, the names you give the checks — never a
 * command, a pid or an output. A meter or exporter that throws costs only that measurement
 * (`stats().meterErrors`).
 *
 * @example
 * ```ts
 * import { instrumentReaper } from '@holdfast/reaper/otel';
 *
 * const reaper = installReaper({ subreaper: true });
 * const check = startHealthCheck({ probe: httpProbe('http://127.0.0.1:3100/ready') });
 * const instrumentation = instrumentReaper({ reaper, healthChecks: { loki: check }, meterProvider });
 * ```
 *
 * @since 0.2.0
 */
export function instrumentReaper(options?: ReaperMetricsOptions): Instrumentation {
  const o = checkMeterOptions(options, ['reaper', 'healthChecks']);
  const { reaper, healthChecks = {} } = o;
  if (
    reaper !== undefined &&
    (typeof (reaper as Partial<Reaper> | null)?.stats !== 'function' ||
      typeof (reaper as Partial<Reaper> | null)?.on !== 'function')
  )
    throw invalidOption('reaper', 'a Reaper (from installReaper())', reaper);
  if (typeof healthChecks !== 'object' || healthChecks === null)
    throw invalidOption('healthChecks', 'an object of health checks by name', healthChecks);
  const checks = Object.entries(healthChecks);
  for (const [name, check] of checks)
    if (typeof (check as Partial<HealthCheck> | null)?.status !== 'function')
      throw invalidOption(`healthChecks.${name}`, 'a HealthCheck (from startHealthCheck())', check);

  const meter = new GuardedMeter(o, { name: '@holdfast/reaper', version: VERSION });
  const m = REAPER_METRICS;
  const runs = meter.counter(m.runs);
  const runDuration = meter.histogram(m.runDuration);
  const reapLatency = reaper === undefined ? undefined : meter.histogram(m.reapLatency);
  const reaped = reaper === undefined ? undefined : meter.observableCounter(m.reaped);
  const zombies = reaper === undefined ? undefined : meter.observableGauge(m.zombies);
  const orphans = reaper === undefined ? undefined : meter.observableGauge(m.orphans);
  const groups = reaper === undefined ? undefined : meter.observableGauge(m.groups);
  const listenerErrors =
    reaper === undefined ? undefined : meter.observableCounter(m.listenerErrors);
  const hasChecks = checks.length > 0;
  const healthState = hasChecks ? meter.observableGauge(m.healthState) : undefined;
  const transitions = hasChecks ? meter.observableCounter(m.healthTransitions) : undefined;
  const probeRuns = hasChecks ? meter.observableCounter(m.healthRuns) : undefined;

  meter.observeAll((observe) => {
    if (reaper !== undefined) {
      const s = reaper.stats();
      observe(reaped, s.reaped);
      observe(zombies, s.zombiesNow);
      observe(orphans, s.orphansRunning);
      observe(groups, s.trackedGroups);
      observe(listenerErrors, s.listenerErrors);
    }
    for (const [name, check] of checks) {
      const status = check.status();
      for (const state of STATES)
        observe(healthState, status.state === state ? 1 : 0, {
          [CHECK]: name,
          'holdfast.reaper.health_check.state': state,
        });
      observe(transitions, status.transitions, { [CHECK]: name });
      observe(probeRuns, status.runs, { [CHECK]: name });
    }
  });

  // A diagnostics channel subscriber must not throw (Node would rethrow it): recorders are guarded.
  const onRunEnd = (message: unknown) => {
    const { result, durationMs } = message as RunEndMessage;
    const attributes = { 'holdfast.reaper.run.result': result };
    runs.record(1, attributes);
    runDuration.record(seconds(durationMs), attributes);
  };
  // Runs inside the reaper's guarded emit; the recorder is guarded too.
  const onReaped = (event: ReapedEvent) => reapLatency?.record(seconds(event.latencyMs));
  // With the API's no-op meter nothing is subscribed: run() then builds no message.
  const listening = !meter.isNoop;
  if (listening) {
    subscribe(RUN_END_CHANNEL, onRunEnd);
    reaper?.on('reaped', onReaped);
  }
  return {
    stop() {
      if (listening) {
        unsubscribe(RUN_END_CHANNEL, onRunEnd);
        reaper?.off('reaped', onReaped);
      }
      meter.stop();
    },
    stats: () => ({ meterErrors: meter.meterErrors }),
  };
}

/** The instruments, by stable name (docs/reaper.md lists the same, checked by a test). */
const REAPER_METRICS = {
  runs: {
    name: 'holdfast.reaper.runs',
    unit: '{run}',
    description: 'Runs of run() ended, by result: exit, signal, timed_out, escalated, cancelled.',
  },
  runDuration: {
    name: 'holdfast.reaper.run.duration',
    unit: 's',
    description: 'Duration of each run, by result.',
  },
  reaped: {
    name: 'holdfast.reaper.zombies.reaped',
    unit: '{process}',
    description: 'Zombies the reaper collected.',
  },
  reapLatency: {
    name: 'holdfast.reaper.reap.latency',
    unit: 's',
    description: 'From a zombie first seen to its reaping (counted from instrumentation on).',
  },
  zombies: {
    name: 'holdfast.reaper.zombies',
    unit: '{process}',
    description: 'Zombie children of the process now.',
  },
  orphans: {
    name: 'holdfast.reaper.orphans.running',
    unit: '{process}',
    description: 'Adopted orphans still running.',
  },
  groups: {
    name: 'holdfast.reaper.process_groups',
    unit: '{group}',
    description: 'Process groups of run() children tracked now.',
  },
  listenerErrors: {
    name: 'holdfast.reaper.listener_errors',
    unit: '{error}',
    description: 'Listeners of reaped or warning that threw.',
  },
  healthState: {
    name: 'holdfast.reaper.health_check.state',
    unit: '1',
    description: "1 for each check's current state, 0 for the others.",
  },
  healthTransitions: {
    name: 'holdfast.reaper.health_check.transitions',
    unit: '{transition}',
    description: 'State changes of each check.',
  },
  healthRuns: {
    name: 'holdfast.reaper.health_check.runs',
    unit: '{run}',
    description: 'Probe runs of each check completed.',
  },
} as const;
