/**
 * A lease's own contract (src/lease.ts): settled once, bad `retry` options rejected with a
 * TypeError naming them (the lease still out), any delay from 0 to Infinity, and a drop reason
 * of any value.
 */
import { describe, expect, test } from 'vitest';
import { ChunkPool, isChunkPoolError, type DroppedEvent } from '../src/index.js';
import { VirtualClock } from '../src/testing.js';
import { R, records } from './support.js';

const small = { chunkBytes: 10 * R, maxBytesUp: 60 * R, reservePerOutput: 10 * R } as const;

async function leased() {
  const clock = new VirtualClock();
  const pool = await ChunkPool.open({ outputs: ['a'], clock, ...small });
  for (const record of records(10)) await pool.append('app', record);
  return { pool, clock, lease: await pool.take('a') };
}

const hostile = Object.defineProperty({}, 'delay', {
  enumerable: true,
  get() {
    throw new Error('delay getter');
  },
});

describe('lease', () => {
  test.each([
    ['null', null, 'lease.retry(options): expected an object such as { delay: 5000 }, got null'],
    [
      'a number',
      5000,
      'lease.retry(options): expected an object such as { delay: 5000 }, got 5000 (number)',
    ],
    [
      'a negative delay',
      { delay: -1 },
      'lease.retry(options).delay: expected a duration in milliseconds: a number ≥ 0 (Infinity allowed), got -1 (number)',
    ],
    ['NaN', { delay: NaN }, 'got NaN'],
    ['a string', { delay: '5000' }, 'got "5000" (string)'],
    ['a misspelt key', { delayMs: 5000 }, 'unknown option `delayMs` (did you mean `delay`?)'],
    ['a getter that throws', hostile, 'delay getter'],
  ])(
    'retry() with %s rejects naming it, and the lease is still out',
    async (_, options, message) => {
      const { pool, lease } = await leased();
      const failure = lease.retry(options as never);
      await expect(failure).rejects.toThrow(message);
      if (options !== hostile) await expect(failure).rejects.toBeInstanceOf(TypeError);
      expect(lease.active).toBe(true);
      await lease.ack();
      expect(lease.active).toBe(false);
      expect(pool.stats().outputs.a?.pendingChunks).toBe(0);
      await pool.close();
    },
  );

  test('a delay past 2^31 ms waits its whole length; Infinity waits for good', async () => {
    const { pool, clock, lease } = await leased();
    await lease.retry({ delay: 2 ** 31 + 5 });
    const again = pool.take('a');
    await clock.advanceBy(2 ** 31); // a 32-bit timer would have fired at once (or at 2^31)
    expect(pool.stats().outputs.a?.leases).toBe(0);
    await clock.advanceBy(5);
    const second = await again;
    expect(second.attempt).toBe(2);
    await second.retry({ delay: Infinity });
    const controller = new AbortController();
    const never = pool.take('a', { signal: controller.signal });
    await clock.advanceBy(1e12);
    expect(pool.stats().outputs.a).toMatchObject({ leases: 0, pendingChunks: 1 });
    controller.abort();
    await expect(never).rejects.toSatisfy(isChunkPoolError);
    await pool.close();
  });

  test('settled once: a second settlement rejects LEASE_SETTLED naming the chunk and output', async () => {
    const { pool, lease } = await leased();
    await lease.ack();
    await expect(lease.retry()).rejects.toMatchObject({
      code: 'LEASE_SETTLED',
      message: `lease of chunk ${lease.chunk.id} for a was already settled or expired`,
    });
    await expect(lease.drop('late')).rejects.toMatchObject({ code: 'LEASE_SETTLED' });
    await pool.close();
  });

  test('drop() takes a reason of any value, described like an error message', async () => {
    const { pool, lease } = await leased();
    const dropped: DroppedEvent[] = [];
    pool.on('dropped', (event) => dropped.push(event));
    const unprintable = {
      toString() {
        throw new Error('toString');
      },
    };
    await lease.drop(unprintable as never);
    expect(dropped).toHaveLength(1);
    expect(dropped[0]).toMatchObject({ reason: 'output-dropped', records: 10 });
    expect(dropped[0]?.detail).toBe('an object with keys toString');
    await pool.close();
  });

  test('a string reason is the drop’s detail as it is, not described', async () => {
    const { pool, lease } = await leased();
    const dropped: DroppedEvent[] = [];
    pool.on('dropped', (event) => dropped.push(event));
    await lease.drop('schema rejected by the backend');
    expect(dropped.map((event) => event.detail)).toEqual(['schema rejected by the backend']);
    await pool.close();
  });
});
