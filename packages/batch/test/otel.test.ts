/**
 * `@holdfast/batch/otel` against a real `@opentelemetry/sdk-metrics` MeterProvider with a pull
 * reader: what each batch adds, a meter that throws, `stop()`, and the options.
 */
import { hasSubscribers } from 'node:diagnostics_channel';
import { createRequire } from 'node:module';
import * as Api from '@opentelemetry/api';
import type { Meter } from '@opentelemetry/api';
import { afterEach, describe, expect, test } from 'vitest';
import { testMeterProvider, total } from '../../internal/test/otel-reader.js';
import { fetchAll } from '../src/index.js';
import { VirtualClock } from '../src/testing.js';
import {
  ATTEMPT_END_CHANNEL,
  BATCH_END_CHANNEL,
  OUTCOME_CHANNEL,
} from '../src/internal/channels.js';
import { instrumentBatch, type Instrumentation } from '../src/otel.js';

const reset = () => Object.assign(new Error('reset'), { code: 'ECONNRESET' });
let instrumentation: Instrumentation | undefined;
afterEach(() => {
  instrumentation?.stop();
  instrumentation = undefined;
});

describe('instrumentBatch', () => {
  test('items by outcome and error code, attempts, retries, verdicts and durations', async () => {
    const { meterProvider, collect } = testMeterProvider();
    instrumentation = instrumentBatch({ meterProvider });
    const failedOnce = new Set<number>();
    const result = await fetchAll(
      [1, 2, 3, 4, 5],
      (n) => {
        if (n === 1 && !failedOnce.has(n)) {
          failedOnce.add(n);
          throw reset(); // transient: retried once, then fulfilled
        }
        if (n === 2) throw new Error('bad item'); // fatal for this optional item
        if (n === 3) throw Object.assign(new Error('gone'), { gone: true });
        return n * 10;
      },
      {
        retry: { maxAttempts: 2, minDelay: 0 },
        importance: (n) => (n === 2 ? 'optional' : 'required'),
        classify: (error) =>
          (error as { gone?: boolean }).gone === true
            ? 'skip'
            : (error as { code?: string }).code === 'ECONNRESET'
              ? 'transient'
              : 'fatal',
      },
    );
    expect(result.fatal).toBeUndefined();
    const m = await collect();
    expect(total(m, 'holdfast.batch.items', { 'holdfast.batch.outcome': 'fulfilled' })).toBe(3);
    expect(
      total(m, 'holdfast.batch.items', {
        'holdfast.batch.outcome': 'rejected',
        'error.type': 'FATAL',
      }),
    ).toBe(1);
    expect(total(m, 'holdfast.batch.items', { 'holdfast.batch.outcome': 'skipped' })).toBe(1);
    expect(total(m, 'holdfast.batch.attempts')).toBe(6);
    expect(total(m, 'holdfast.batch.attempts', { 'holdfast.batch.attempt.result': 'error' })).toBe(
      3,
    );
    expect(total(m, 'holdfast.batch.attempt.duration')).toBe(6); // a histogram's count
    expect(total(m, 'holdfast.batch.retries')).toBe(result.stats.retried);
    expect(result.stats.retried).toBe(1);
    expect(total(m, 'holdfast.batch.batches', { 'holdfast.batch.verdict': 'ok' })).toBe(1);
    expect(total(m, 'holdfast.batch.duration')).toBe(1);
    expect(m.get('holdfast.batch.duration')?.unit).toBe('s');
  });

  test('a breaker verdict is a fatal batch with its reason', async () => {
    const { meterProvider, collect } = testMeterProvider();
    instrumentation = instrumentBatch({ meterProvider });
    const result = await fetchAll(
      Array.from({ length: 20 }, (_, i) => i),
      () => {
        throw reset();
      },
      { breaker: { failureRatio: 0.5, minSamples: 4 }, concurrency: 1 },
    );
    expect(result.fatal?.message).toMatch(/breaker/);
    const m = await collect();
    expect(
      total(m, 'holdfast.batch.batches', {
        'holdfast.batch.verdict': 'fatal',
        'holdfast.batch.fatal.reason': 'breaker',
      }),
    ).toBe(1);
  });

  test('a required item failing fatally, and a throwing item source, each name their fatal reason', async () => {
    const { meterProvider, collect } = testMeterProvider();
    instrumentation = instrumentBatch({ meterProvider });
    const required = await fetchAll([1], () => Promise.reject(new Error('bad')), {
      importance: () => 'required', // said explicitly: a valid answer, not a hook error
    });
    expect(required.fatal?.message).toBe('required item 0 failed fatally');
    expect(required.stats.hookErrors).toBe(0);
    function* failingSource() {
      yield 1;
      throw new Error('listing failed');
    }
    const source = await fetchAll(failingSource(), (n) => n);
    expect(source.fatal).toMatchObject({ message: 'reading the items failed', index: -1 });
    const allFailed = await fetchAll([1, 2, 3], () => Promise.reject(reset()));
    expect(allFailed.fatal?.message).toBe('every required item failed (3 of 3)');
    const m = await collect();
    for (const reason of ['required-item', 'item-source', 'all-failed']) {
      expect(
        total(m, 'holdfast.batch.batches', {
          'holdfast.batch.verdict': 'fatal',
          'holdfast.batch.fatal.reason': reason,
        }),
        reason,
      ).toBe(1);
    }
  });

  test('an attempt’s duration is the time from its start to its end, in seconds', async () => {
    const { meterProvider, collect } = testMeterProvider();
    instrumentation = instrumentBatch({ meterProvider });
    const clock = new VirtualClock();
    await clock.advanceBy(1_000_000); // a clock far from zero: a sum instead of a difference shows
    await clock.runUntilSettled(
      fetchAll([250, 750], (ms) => clock.sleep(ms), { clock, concurrency: 1 }),
    );
    const m = await collect();
    const sum = (name: string) =>
      (m.get(name)?.points ?? []).reduce((total, point) => total + (point.sum ?? 0), 0);
    expect(sum('holdfast.batch.attempt.duration')).toBeCloseTo(1, 6);
    expect(sum('holdfast.batch.duration')).toBeCloseTo(1, 6); // the batch: both, one after the other
  });

  test('a meter whose instruments throw costs only its measurements; the batch and listeners go on', async () => {
    const throwing = () => {
      throw new Error('exporter down');
    };
    const meter = {
      createCounter: () => ({ add: throwing }),
      createHistogram: () => ({ record: throwing }),
    } as unknown as Meter;
    instrumentation = instrumentBatch({ meter });
    const seen: number[] = [];
    const result = await fetchAll([1, 2], (n) => n, { onOutcome: (o) => seen.push(o.index) });
    expect(result.values).toEqual([1, 2]);
    expect(seen.sort()).toEqual([0, 1]);
    expect(result.stats.hookErrors).toBe(0);
    expect(instrumentation.stats().meterErrors).toBeGreaterThanOrEqual(6);
  });

  test('a meter that throws on creating instruments is counted, not thrown', async () => {
    const meter = {
      createCounter: () => {
        throw new Error('no');
      },
      createHistogram: () => {
        throw new Error('no');
      },
    } as unknown as Meter;
    instrumentation = instrumentBatch({ meter });
    expect(instrumentation.stats().meterErrors).toBe(10);
    expect((await fetchAll([1], (n) => n)).values).toEqual([1]);
  });

  test('stop() unsubscribes: nothing is published or recorded after it', async () => {
    const { meterProvider, collect } = testMeterProvider();
    instrumentation = instrumentBatch({ meterProvider });
    expect(hasSubscribers(OUTCOME_CHANNEL)).toBe(true);
    instrumentation.stop();
    expect(hasSubscribers(OUTCOME_CHANNEL)).toBe(false);
    expect(hasSubscribers(BATCH_END_CHANNEL)).toBe(false);
    await fetchAll([1], (n) => n);
    expect((await collect()).size).toBe(0);
  });

  test("with the API's no-op meter (no MeterProvider registered) nothing is subscribed", async () => {
    instrumentation = instrumentBatch(); // the global provider: none is registered in this test
    expect(hasSubscribers(OUTCOME_CHANNEL)).toBe(false);
    expect(hasSubscribers(BATCH_END_CHANNEL)).toBe(false);
    expect((await fetchAll([1], (n) => n)).values).toEqual([1]);
    expect(instrumentation.stats().meterErrors).toBe(0);
  });

  test('the no-op meter of another copy of the API (its CommonJS build) subscribes nothing either', async () => {
    // This package imports the API's ES module build; an agent that `require`s it holds the
    // CommonJS build: two copies, two no-op meter objects. By identity alone the other copy's
    // was taken for a real meter, and every batch then paid for measurements recorded into
    // nothing (1.2–1.3× the time of fetchAll without the otel entry).
    const cjs = createRequire(import.meta.url)('@opentelemetry/api') as typeof Api;
    expect(cjs.createNoopMeter()).not.toBe(Api.createNoopMeter());
    for (const options of [
      { meterProvider: cjs.metrics.getMeterProvider() },
      { meter: cjs.createNoopMeter() },
    ]) {
      instrumentation = instrumentBatch(options);
      expect(hasSubscribers(ATTEMPT_END_CHANNEL)).toBe(false);
      expect(hasSubscribers(OUTCOME_CHANNEL)).toBe(false);
      expect(hasSubscribers(BATCH_END_CHANNEL)).toBe(false);
      instrumentation.stop();
    }
    // And a real meter, whatever its class, still subscribes.
    const { meterProvider } = testMeterProvider();
    instrumentation = instrumentBatch({ meterProvider });
    expect(hasSubscribers(OUTCOME_CHANNEL)).toBe(true);
  });

  test('bad options are TypeErrors naming the option and the value', () => {
    expect(() => instrumentBatch({ meterProvider: 'x' } as never)).toThrow(
      /meterProvider: expected an OpenTelemetry MeterProvider \(with getMeter\(\)\), got "x" \(string\)/,
    );
    expect(() => instrumentBatch({ metr: {} } as never)).toThrow(
      /unknown option `metr` \(did you mean `meter`\?\)/,
    );
    expect(() => instrumentBatch(null as never)).toThrow(TypeError);
  });
});
