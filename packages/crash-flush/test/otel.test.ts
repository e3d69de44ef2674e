/**
 * `@holdfast/crash-flush/otel` against a real `@opentelemetry/sdk-metrics` MeterProvider with a
 * pull reader: report outcomes from `stats()`, the spool's size, send durations, a meter that
 * throws, `stop()`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Meter } from '@opentelemetry/api';
import { afterEach, describe, expect, test } from 'vitest';
import { testMeterProvider, total } from '../../internal/test/otel-reader.js';
import { installCrashGuard, type CrashGuard, type Sink } from '../src/index.js';
import { instrumentCrashGuard } from '../src/otel.js';

const OUTCOME = 'holdfast.crash_flush.report.outcome';
let guard: CrashGuard | undefined;
let dir: string | undefined;
afterEach(async () => {
  await guard?.uninstall();
  guard = undefined;
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

/** A sink that refuses the first report and takes the others. */
function flakySink(): Sink {
  let calls = 0;
  return {
    name: 'flaky',
    send: async () => {
      calls += 1;
      if (calls === 1) throw new Error('backend down');
    },
  };
}

describe('instrumentCrashGuard', () => {
  test('reports by outcome, the spool size and send durations agree with the guard', async () => {
    dir = mkdtempSync(join(tmpdir(), 'otel-spool-'));
    guard = installCrashGuard({ service: 'svc', sink: flakySink(), spoolDir: dir });
    const { meterProvider, collect } = testMeterProvider();
    const instrumentation = instrumentCrashGuard({ guard, meterProvider });
    guard.capture(new Error('first'));
    guard.capture(new Error('second, another fingerprint'));
    await guard.flush();
    const s = guard.stats();
    expect(s.sent).toBe(1);
    expect(s.spooled).toBe(1);
    const m = await collect();
    expect(total(m, 'holdfast.crash_flush.reports', { [OUTCOME]: 'sent' })).toBe(1);
    expect(total(m, 'holdfast.crash_flush.reports', { [OUTCOME]: 'spooled' })).toBe(1);
    expect(total(m, 'holdfast.crash_flush.reports', { [OUTCOME]: 'lost' })).toBe(0);
    expect(total(m, 'holdfast.crash_flush.sink_errors')).toBe(1);
    expect(total(m, 'holdfast.crash_flush.spool.reports')).toBe(1);
    expect(total(m, 'holdfast.crash_flush.spool.bytes')).toBeGreaterThan(100);
    expect(guard.spoolSize().reports).toBe(1);
    const sends = m.get('holdfast.crash_flush.send.duration');
    expect(sends?.unit).toBe('s');
    expect(
      total(m, 'holdfast.crash_flush.send.duration', {
        'holdfast.crash_flush.report.kind': 'capture',
        'holdfast.crash_flush.send.outcome': 'failed',
      }),
    ).toBe(1);
    expect(total(m, 'holdfast.crash_flush.send.duration')).toBe(2);
    instrumentation.stop();
  });

  test('without a spoolDir the spool is empty', async () => {
    guard = installCrashGuard({ service: 'svc', sink: flakySink() });
    expect(guard.spoolSize()).toEqual({ reports: 0, bytes: 0 });
  });

  test('a meter that throws costs only its measurements; the guard goes on', async () => {
    const throwing = () => {
      throw new Error('exporter down');
    };
    const meter = {
      createCounter: () => ({ add: throwing }),
      createHistogram: () => ({ record: throwing }),
      createObservableCounter: () => ({}),
      createObservableGauge: () => ({}),
      addBatchObservableCallback: throwing,
    } as unknown as Meter;
    guard = installCrashGuard({ service: 'svc', sink: { name: 'ok', send: async () => {} } });
    const instrumentation = instrumentCrashGuard({ guard, meter });
    guard.capture(new Error('x'));
    await guard.flush();
    expect(guard.stats().sent).toBe(1);
    expect(instrumentation.stats().meterErrors).toBe(2); // the callback, then the send's record
    instrumentation.stop();
  });

  test('bad options are TypeErrors naming the option and the value', () => {
    expect(() => instrumentCrashGuard({ guard: 42 } as never)).toThrow(
      /guard: expected a CrashGuard \(from installCrashGuard\(\)\), got 42 \(number\)/,
    );
    expect(() => instrumentCrashGuard({ gaurd: {} } as never)).toThrow(
      /options: unknown option `gaurd` \(did you mean `guard`\?\)/,
    );
  });
});
