/**
 * `@holdfast/reaper/otel` against a real `@opentelemetry/sdk-metrics` MeterProvider with a pull
 * reader, in a child process (the reaper is process-wide): runs by result, zombies reaped and
 * their latency, a health check's state and transitions; and the options, in this process.
 */
import { hasSubscribers } from 'node:diagnostics_channel';
import type { Meter } from '@opentelemetry/api';
import { describe, expect, test } from 'vitest';
import type { CollectedMetric } from '../../internal/test/otel-reader.js';
import { RUN_END_CHANNEL } from '../src/internal/run-channel.js';
import { instrumentReaper } from '../src/otel.js';
import { fixture, runToEnd, TSX } from './support.js';

const sum = (metric: CollectedMetric | undefined, match: Record<string, string> = {}) =>
  (metric?.points ?? [])
    .filter((p) => Object.entries(match).every(([k, v]) => p.attributes[k] === v))
    .reduce((s, p) => s + p.value, 0);

describe('instrumentReaper', () => {
  test('runs by result, zombies reaped, reap latency and health-check state agree with the package', async () => {
    const exited = await runToEnd(process.execPath, [...TSX, fixture('otel-scenario.ts')]);
    expect(exited.code, exited.stderr).toBe(0);
    const out = JSON.parse(exited.stdout.trim().split('\n').at(-1)!) as {
      stats: { reaped: number };
      status: { state: string; transitions: number };
      metrics: CollectedMetric[];
      meterErrors: number;
    };
    const m = new Map(out.metrics.map((metric) => [metric.name, metric]));
    const result = 'holdfast.reaper.run.result';
    expect(sum(m.get('holdfast.reaper.runs'), { [result]: 'exit' })).toBe(5);
    expect(sum(m.get('holdfast.reaper.runs'), { [result]: 'timed_out' })).toBe(1);
    expect(sum(m.get('holdfast.reaper.runs'), { [result]: 'signal' })).toBe(1);
    expect(sum(m.get('holdfast.reaper.run.duration'))).toBe(7);
    expect(m.get('holdfast.reaper.run.duration')?.unit).toBe('s');
    expect(out.stats.reaped).toBeGreaterThanOrEqual(5);
    expect(sum(m.get('holdfast.reaper.zombies.reaped'))).toBe(out.stats.reaped);
    expect(sum(m.get('holdfast.reaper.reap.latency'))).toBe(out.stats.reaped);
    expect(sum(m.get('holdfast.reaper.zombies'))).toBe(0);
    expect(out.status).toMatchObject({ state: 'unhealthy', transitions: 2 });
    const check = 'holdfast.reaper.health_check.name';
    expect(
      sum(m.get('holdfast.reaper.health_check.state'), {
        [check]: 'backend',
        'holdfast.reaper.health_check.state': 'unhealthy',
      }),
    ).toBe(1);
    expect(
      sum(m.get('holdfast.reaper.health_check.state'), {
        [check]: 'backend',
        'holdfast.reaper.health_check.state': 'healthy',
      }),
    ).toBe(0);
    expect(sum(m.get('holdfast.reaper.health_check.transitions'), { [check]: 'backend' })).toBe(2);
    expect(out.meterErrors).toBe(0);
  }, 60_000);

  test('bad options are TypeErrors naming the option and the value', () => {
    expect(() => instrumentReaper({ reaper: 'x' } as never)).toThrow(
      /reaper: expected a Reaper \(from installReaper\(\)\), got "x" \(string\)/,
    );
    expect(() => instrumentReaper({ healthChecks: { loki: 1 } } as never)).toThrow(
      /healthChecks\.loki: expected a HealthCheck \(from startHealthCheck\(\)\), got 1 \(number\)/,
    );
  });

  test('without a reaper or checks it creates the run instruments only, and stop() unsubscribes', () => {
    const created: string[] = [];
    const instrument = (name: string) => {
      created.push(name);
      return { add() {}, record() {} };
    };
    const meter = {
      createCounter: instrument,
      createHistogram: instrument,
      createObservableCounter: instrument,
      createObservableGauge: instrument,
      addBatchObservableCallback() {},
      removeBatchObservableCallback() {},
    } as unknown as Meter;
    const instrumentation = instrumentReaper({ meter });
    expect(created).toEqual(['holdfast.reaper.runs', 'holdfast.reaper.run.duration']);
    expect(hasSubscribers(RUN_END_CHANNEL)).toBe(true);
    instrumentation.stop();
    expect(hasSubscribers(RUN_END_CHANNEL)).toBe(false);
  });
});
