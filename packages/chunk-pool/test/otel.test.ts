/**
 * `@holdfast/chunk-pool/otel` against a real `@opentelemetry/sdk-metrics` MeterProvider with a
 * pull reader: figures read from `stats()`, drops by reason, a meter that throws, `stop()`.
 */
import type { Meter } from '@opentelemetry/api';
import { describe, expect, test } from 'vitest';
import { testMeterProvider, total } from '../../internal/test/otel-reader.js';
import { ChunkPool, type ChunkPoolOptions } from '../src/index.js';
import { instrumentChunkPool } from '../src/otel.js';
import { VirtualClock } from '../src/testing.js';
import { records } from './support.js';

const small = { chunkBytes: 1000, maxBytesUp: 6000, reservePerOutput: 1000 } as const;
const OUTPUT = 'holdfast.chunk_pool.output';

async function open(options: Partial<ChunkPoolOptions> = {}) {
  return ChunkPool.open({ outputs: ['a', 'b'], clock: new VirtualClock(), ...small, ...options });
}

describe('instrumentChunkPool', () => {
  test('accepted, delivered and dropped per output agree with stats()', async () => {
    const pool = await open();
    const { meterProvider, collect } = testMeterProvider();
    const instrumentation = instrumentChunkPool({ pool, meterProvider });
    for (const record of records(10)) await pool.append('app', record);
    const a = await pool.take('a');
    const b = await pool.take('b');
    await a.ack();
    await b.drop('rejected by b');
    const s = pool.stats();
    const m = await collect();
    expect(total(m, 'holdfast.chunk_pool.accepted.records')).toBe(s.accepted.records);
    expect(total(m, 'holdfast.chunk_pool.accepted.bytes')).toBe(s.accepted.bytes);
    // One chunk each (records cost their payload plus the per-record overhead in a chunk).
    expect(a.chunk.recordCount).toBeGreaterThan(0);
    expect(total(m, 'holdfast.chunk_pool.delivered.records', { [OUTPUT]: 'a' })).toBe(
      a.chunk.recordCount,
    );
    expect(total(m, 'holdfast.chunk_pool.delivered.records', { [OUTPUT]: 'b' })).toBe(0);
    expect(
      total(m, 'holdfast.chunk_pool.dropped.records', {
        [OUTPUT]: 'b',
        'holdfast.chunk_pool.drop.reason': 'output-dropped',
      }),
    ).toBe(b.chunk.recordCount);
    expect(total(m, 'holdfast.chunk_pool.dropped.bytes')).toBe(s.outputs.b?.dropped.bytes);
    expect(m.get('holdfast.chunk_pool.delivered.bytes')?.unit).toBe('By');
    expect(
      total(m, 'holdfast.chunk_pool.breaker', {
        [OUTPUT]: 'a',
        'holdfast.chunk_pool.breaker.state': 'closed',
      }),
    ).toBe(1);
    instrumentation.stop();
    await pool.close();
  });

  test('a blocked append names the output that holds the inputs back', async () => {
    const pool = await open({ maxBytesUp: 3000, reservePerOutput: 500, chunkBytes: 500 });
    const { meterProvider, collect } = testMeterProvider();
    const instrumentation = instrumentChunkPool({ pool, meterProvider });
    // b takes and acks two chunks; a takes nothing: its pending chunks keep the memory full.
    const appends = records(40).map((record) => pool.append('app', record));
    for (let i = 0; i < 2; i++) await (await pool.take('b')).ack();
    const m = await collect();
    expect(total(m, 'holdfast.chunk_pool.appends_waiting')).toBeGreaterThan(0);
    expect(total(m, 'holdfast.chunk_pool.holding_back', { [OUTPUT]: 'a' })).toBe(1);
    expect(total(m, 'holdfast.chunk_pool.holding_back', { [OUTPUT]: 'b' })).toBe(0);
    instrumentation.stop();
    await pool.close();
    await Promise.allSettled(appends);
  });

  test('a meter that throws costs only its measurements; the pool and its listeners go on', async () => {
    const pool = await open();
    const throwing = () => {
      throw new Error('exporter down');
    };
    const meter = {
      createCounter: () => ({ add: throwing }),
      createHistogram: () => ({ record: throwing }),
      createObservableCounter: throwing,
      createObservableGauge: throwing,
      addBatchObservableCallback: throwing,
    } as unknown as Meter;
    const instrumentation = instrumentChunkPool({ pool, meter });
    const seen: string[] = [];
    pool.on('dropped', (event) => seen.push(event.reason));
    for (const record of records(10)) await pool.append('app', record);
    await (await pool.take('b')).drop('no');
    expect(seen).toEqual(['output-dropped']);
    expect(pool.stats().listenerErrors).toBe(0);
    expect(instrumentation.stats().meterErrors).toBeGreaterThanOrEqual(2 + 22);
    instrumentation.stop();
    await pool.close();
  });

  test('stop() removes the listener and the callback', async () => {
    const pool = await open();
    const { meterProvider, collect } = testMeterProvider();
    const instrumentation = instrumentChunkPool({ pool, meterProvider });
    expect(pool.listenerCount('dropped')).toBe(1);
    instrumentation.stop();
    expect(pool.listenerCount('dropped')).toBe(0);
    await pool.append('app', 'x');
    const m = await collect();
    expect(m.get('holdfast.chunk_pool.accepted.records')).toBeUndefined();
    await pool.close();
  });

  test("with the API's no-op meter (no MeterProvider registered) nothing listens", async () => {
    const pool = await open();
    const instrumentation = instrumentChunkPool({ pool });
    expect(pool.listenerCount('dropped')).toBe(0);
    instrumentation.stop();
    await pool.close();
  });

  test('bad options are TypeErrors naming the option and the value', () => {
    expect(() => instrumentChunkPool({ pool: {} } as never)).toThrow(
      /pool: expected a ChunkPool, got an object/,
    );
    expect(() => instrumentChunkPool(undefined as never)).toThrow(/pool: expected a ChunkPool/);
  });
});
