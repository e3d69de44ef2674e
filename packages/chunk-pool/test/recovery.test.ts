import { afterEach, describe, expect, test, vi } from 'vitest';
import {
  ChunkPool,
  fileStorage,
  type ChunkPoolOptions,
  type DroppedEvent,
  type RecoveryReport,
} from '../src/index.js';
import { RECORD_OVERHEAD_BYTES } from '../src/record-cost.js';
import { VirtualClock } from '../src/testing.js';
import { R, names, records, tempDir, takeAll } from './support.js';

function openFile(dir: string, options: Partial<ChunkPoolOptions> = {}) {
  return ChunkPool.open({
    outputs: ['otlp'],
    // Ten records of 100 bytes a chunk (each costs R bytes of memory: payload and overhead).
    chunkBytes: 10 * R,
    maxBytesUp: 60 * R,
    reservePerOutput: 10 * R,
    storage: fileStorage({ dir, fsync: 'batch' }),
    ...options,
  });
}

async function storeUnder(dir: string, options: Partial<ChunkPoolOptions>, count: number) {
  const pool = await openFile(dir, options);
  for (const record of records(count)) await pool.append('app', record);
  await pool.close();
}

const all = (count: number) => records(count).map((_, i) => `r-${i}`);

describe('a changed configuration never deletes what was accepted', () => {
  test('chunks of a renamed output are kept, reported at open, counted, and survive a rollback', async () => {
    const dir = tempDir();
    await storeUnder(dir, { outputs: ['otlp'] }, 100);

    const reports: RecoveryReport[] = [];
    const renamed = await openFile(dir, {
      outputs: ['otlp-v2'],
      onRecovered: (report) => reports.push(report),
    });
    expect(reports).toHaveLength(1);
    expect(reports[0]?.unrouted).toHaveLength(10);
    expect(reports[0]?.unrouted[0]).toMatchObject({ routes: ['otlp'], recordCount: 10 });
    expect(renamed.stats().unrouted).toMatchObject({ chunks: 10, records: 100, bytes: 10_000 });
    expect(renamed.stats().stored.bytes).toBe(10_000); // within maxBytesStored
    expect(renamed.stats().outputs['otlp-v2']?.pendingChunks).toBe(0);
    await renamed.drain(); // nothing routed is pending: drain does not wait for unrouted chunks
    await renamed.close();

    const rolledBack = await openFile(dir, { outputs: ['otlp'] });
    expect(await takeAll(rolledBack, 'otlp')).toEqual(all(100));
    await rolledBack.close();
  });

  test('reroute() sends them to another output, and a restart keeps the new route', async () => {
    const dir = tempDir();
    await storeUnder(dir, { outputs: ['otlp'] }, 30);

    const pool = await openFile(dir, { outputs: ['otlp-v2'] });
    await expect(pool.reroute('otlp', 'nope')).rejects.toMatchObject({ code: 'UNKNOWN_OUTPUT' });
    expect(await pool.reroute('otlp', 'otlp-v2')).toEqual({ records: 30, bytes: 3000 });
    expect(pool.unrouted()).toEqual([]);
    expect(pool.stats().unrouted).toMatchObject({ chunks: 0, rerouted: { records: 30 } });
    expect(names((await pool.take('otlp-v2')).chunk.records)).toEqual(all(10)); // not acked
    await pool.close();

    const again = await openFile(dir, { outputs: ['otlp-v2'] });
    expect(again.stats().unrouted.chunks).toBe(0);
    expect(await takeAll(again, 'otlp-v2')).toEqual(all(30));
    await again.close();
  });

  test('dropUnrouted() gives them up, counted and emitted, and deletes what no route needs', async () => {
    const dir = tempDir();
    await storeUnder(dir, { outputs: ['otlp', 'archive'] }, 20);

    const pool = await openFile(dir, { outputs: ['archive'] });
    const dropped: DroppedEvent[] = [];
    pool.on('dropped', (event) => dropped.push(event));
    expect(pool.stats().unrouted).toMatchObject({ chunks: 2, records: 20 });
    expect(await takeAll(pool, 'archive')).toEqual(all(20)); // the configured route still delivers
    expect(pool.stats().unrouted).toMatchObject({ chunks: 2, records: 20 }); // kept for 'otlp'
    expect(await pool.dropUnrouted('otlp')).toEqual({ records: 20, bytes: 2000 });
    expect(dropped.map((event) => [event.reason, event.outputs])).toEqual([
      ['unrouted', ['otlp']],
      ['unrouted', ['otlp']],
    ]);
    expect(pool.stats().unrouted).toMatchObject({
      chunks: 0,
      dropped: { records: 20, bytes: 2000 },
    });
    expect(pool.stats().stored.bytes).toBe(0);
    await pool.close();

    const again = await openFile(dir, { outputs: ['otlp', 'archive'] });
    expect(again.stats().recovered).toEqual({ chunks: 0, records: 0 });
    await again.close();
  });

  test('a throwing onRecovered is counted, and open still resolves', async () => {
    const dir = tempDir();
    const pool = await openFile(dir, {
      onRecovered: () => {
        throw new Error('listener');
      },
    });
    expect(pool.stats().listenerErrors).toBe(1);
    await pool.close();
  });
});

describe('recovered chunks larger than a reserve', () => {
  test('reopening with a smaller chunkBytes and reservePerOutput splits them, and all is delivered', async () => {
    const dir = tempDir();
    await storeUnder(
      dir,
      { chunkBytes: 40 * R, reservePerOutput: 40 * R, maxBytesUp: 160 * R },
      100,
    );

    const pool = await openFile(dir, {
      chunkBytes: 10 * R,
      reservePerOutput: 10 * R,
      maxBytesUp: 30 * R,
    });
    expect(pool.stats().recovered).toEqual({ chunks: 10, records: 100 });
    expect(await takeAll(pool, 'otlp')).toEqual(all(100));
    await pool.close();
  });

  test('a recovered record larger than reservePerOutput is refused at open, clearly, and kept', async () => {
    const dir = tempDir();
    await storeUnder(dir, { chunkBytes: 4000, reservePerOutput: 4000, maxBytesUp: 16_000 }, 0);
    const big = await openFile(dir, {
      chunkBytes: 4000,
      reservePerOutput: 4000,
      maxBytesUp: 16_000,
    });
    await big.append('app', 'x'.repeat(3000));
    await big.close();

    await expect(openFile(dir, { chunkBytes: 1000, reservePerOutput: 1000 })).rejects.toMatchObject(
      {
        code: 'INVALID_OPTION',
        message: expect.stringMatching(
          new RegExp(
            `record of 3000 bytes.*reservePerOutput of at least ${3000 + RECORD_OVERHEAD_BYTES}`,
          ),
        ),
      },
    );
    // The refused open released the folder, and the record is still there.
    const fits = await openFile(dir, {
      chunkBytes: 1000,
      reservePerOutput: 3000 + RECORD_OVERHEAD_BYTES, // the record's memory cost
      maxBytesUp: 7000,
    });
    const lease = await fits.take('otlp');
    expect(lease.chunk.bytes).toBe(3000);
    await lease.ack();
    await fits.close();
  });
});

describe('what a run stores carries wall-clock time, which orders it across restarts', () => {
  // The pool's clock is monotonic (performance.now(): milliseconds since this process started),
  // so it cannot date what another run reads back. A run that started recently stores small
  // readings; one that ran for days stores large ones.
  afterEach(() => {
    vi.useRealTimers();
  });

  test('chunks of an earlier run are delivered before those of a later run whose process had a younger clock', async () => {
    const dir = tempDir();
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.parse('2026-11-30T10:00:00Z'));
    const longRunning = new VirtualClock();
    await longRunning.advanceTo(5 * 86_400_000); // the earlier process had been up for five days
    await storeUnder(dir, { clock: longRunning }, 10);

    vi.setSystemTime(Date.parse('2026-11-30T10:05:00Z'));
    const restarted = await openFile(dir, { clock: new VirtualClock() }); // up for 0 ms
    for (const record of records(10, 100, 'n')) await restarted.append('app', record);
    await restarted.close();

    const reader = await openFile(dir);
    const first = await reader.take('otlp');
    expect(first.chunk.createdAt).toBe(Date.parse('2026-11-30T10:00:00Z'));
    expect(names(first.chunk.records)[0]).toBe('r-0');
    await first.ack();
    expect(await takeAll(reader, 'otlp')).toEqual(records(10, 100, 'n').map((_, i) => `n-${i}`));
    await reader.close();
  });
});
