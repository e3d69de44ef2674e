import { describe, expect, test, vi } from 'vitest';
import { ChunkPool, type ChunkPoolOptions } from '../src/index.js';
import { RECORD_OVERHEAD_BYTES } from '../src/record-cost.js';
import { VirtualClock } from '../src/testing.js';
import { R, names, records } from './support.js';

// Ten records of 100 bytes a chunk (each costs R bytes of memory: payload and overhead).
const small = { chunkBytes: 10 * R, maxBytesUp: 60 * R, reservePerOutput: 10 * R } as const;

async function open(options: Partial<ChunkPoolOptions> = {}) {
  const clock = new VirtualClock();
  const pool = await ChunkPool.open({ outputs: ['a'], clock, ...small, ...options });
  return { pool, clock };
}

describe('append and take', () => {
  test('records come out in chunks, in order, sealed at chunkBytes', async () => {
    const { pool } = await open();
    for (const record of records(25)) expect(await pool.append('app', record)).toBe('accepted');
    const seen: string[] = [];
    for (let i = 0; i < 2; i++) {
      const lease = await pool.take('a');
      expect(lease.chunk.bytes).toBe(1000);
      seen.push(...names(lease.chunk.records));
      await lease.ack();
    }
    expect(seen).toEqual(records(20).map((_, i) => `r-${i}`));
    expect(pool.stats().outputs.a?.pendingRecords).toBe(5);
  });

  test('a chunk is sealed after chunkAge however small', async () => {
    const { pool, clock } = await open({ chunkAge: 200 });
    await pool.append('app', 'one');
    const taken = pool.take('a');
    await clock.advanceBy(199);
    expect(pool.stats().outputs.a?.leases).toBe(0);
    await clock.advanceBy(1);
    expect((await taken).chunk.recordCount).toBe(1);
  });

  test('every chunk goes to every output; it is deleted when both are done', async () => {
    const { pool } = await open({ outputs: ['a', 'b'] });
    for (const record of records(10)) await pool.append('app', record);
    const a = await pool.take('a');
    const b = await pool.take('b');
    expect(a.chunk.id).toBe(b.chunk.id);
    await a.ack();
    expect(pool.stats().input.chunksUp).toBe(1);
    await b.drop('rejected by b');
    expect(pool.stats().input.chunksUp).toBe(0);
    expect(pool.stats().outputs.b?.dropped.records).toBe(10);
    expect(pool.stats().outputs.a?.delivered.records).toBe(10);
  });

  test('a router sends tags to some outputs only', async () => {
    const { pool } = await open({
      outputs: ['a', 'b'],
      route: (tag) => (tag === 'audit' ? ['b'] : ['a', 'b']),
    });
    await pool.append('audit', 'x');
    await pool.flush();
    expect(pool.stats().outputs.a?.pendingRecords).toBe(0);
    expect(pool.stats().outputs.b?.pendingRecords).toBe(1);
  });

  test('one dead output never stops another from delivering', async () => {
    const { pool } = await open({ outputs: ['dead', 'alive'], maxBytesUp: 100 * R });
    let delivered = 0;
    const alive = (async () => {
      for await (const lease of pool.consume('alive')) {
        delivered += lease.chunk.recordCount;
        await lease.ack();
      }
    })();
    // 'dead' never takes anything; appends must not block while the input share has room.
    for (const record of records(60)) await pool.append('app', record);
    await pool.flush();
    await new Promise((resolve) => setImmediate(resolve));
    expect(delivered).toBe(60);
    expect(pool.stats().outputs.dead?.pendingRecords).toBe(60);
    await pool.close();
    await alive;
  });
});

describe('the memory budget counts what records cost, not only their payload (#18)', () => {
  test('stats() bytes up include the per-record overhead', async () => {
    const { pool } = await open();
    for (let i = 0; i < 5; i++) await pool.append('app', '');
    await pool.append('app', 'x');
    const overhead = RECORD_OVERHEAD_BYTES;
    expect(pool.stats().input.bytesUp).toBe(6 * overhead + 1);
    expect(pool.stats().bytesUp).toBe(6 * overhead + 1);
    expect(pool.stats().accepted).toEqual({ records: 6, bytes: 1 }); // payload, as delivered
    await pool.flush();
    const lease = await pool.take('a');
    expect(lease.chunk.bytes).toBe(1);
    await lease.ack();
    expect(pool.stats().bytesUp).toBe(0);
  });

  test('zero-byte records fill the inputs share at its size over the overhead, then wait', async () => {
    const { pool } = await open({
      chunkBytes: 10 * RECORD_OVERHEAD_BYTES,
      reservePerOutput: 10 * RECORD_OVERHEAD_BYTES,
      maxBytesUp: 40 * RECORD_OVERHEAD_BYTES, // inputs: thirty zero-byte records
    });
    let accepted = 0;
    while (accepted < 1_000 && pool.tryAppend('app', '')) accepted += 1;
    expect(accepted).toBe(30);
    let waited = false;
    const blocked = pool.append('app', '').then(() => (waited = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(waited).toBe(false);
    expect(pool.stats().appendsWaiting).toBe(1);
    await (await pool.take('a')).ack(); // ten records' worth freed
    await blocked;
    expect(pool.stats().input.bytesUp).toBe(21 * RECORD_OVERHEAD_BYTES);
  });

  test('an 8 MiB budget no longer takes 3,000,000 zero-byte records', async () => {
    const maxBytesUp = 8 << 20;
    const { pool } = await open({ chunkBytes: 1 << 20, reservePerOutput: 1 << 20, maxBytesUp });
    let accepted = 0;
    while (accepted < 3_000_000 && pool.tryAppend('app', '')) accepted += 1;
    // The inputs' share is 7 MiB (one reserve of 1 MiB): about 35,000 records, each charged.
    expect(accepted).toBe(Math.floor((7 << 20) / RECORD_OVERHEAD_BYTES));
    expect(pool.stats().input.bytesUp).toBe(accepted * RECORD_OVERHEAD_BYTES);
  });
});

describe('whenFull', () => {
  test("'block' holds appends until outputs free memory (the backpressure)", async () => {
    const { pool } = await open({ maxBytesUp: 40 * R }); // inputs: 30 records
    for (const record of records(30)) await pool.append('app', record);
    let accepted = false;
    const blocked = pool.append('app', 'r-30-'.padEnd(100, '.')).then(() => (accepted = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(accepted).toBe(false);
    expect(pool.stats().appendsWaiting).toBe(1);
    await (await pool.take('a')).ack();
    await blocked;
    expect(accepted).toBe(true);
    expect(pool.stats().input.bytesUp).toBeLessThanOrEqual(30 * R);
  });

  test('tryAppend accepts without a promise while there is room, and says false when full', async () => {
    const { pool } = await open({ maxBytesUp: 40 * R }); // inputs: 30 records
    for (const record of records(30)) expect(pool.tryAppend('app', record)).toBe(true);
    expect(pool.tryAppend('app', 'x')).toBe(false);
    expect(pool.stats().accepted.records).toBe(30);
    expect(() => pool.tryAppend('app', 'x'.repeat(10 * R))).toThrow(/larger than chunkBytes/);
  });

  test("'drop-newest' refuses the record, counted and emitted", async () => {
    const { pool } = await open({ maxBytesUp: 40 * R, whenFull: 'drop-newest' });
    const dropped: number[] = [];
    pool.on('dropped', (event) => dropped.push(event.records));
    for (const record of records(30)) await pool.append('app', record);
    expect(await pool.append('app', 'late')).toBe('dropped');
    expect(dropped).toEqual([1]);
    expect(pool.stats().droppedWhenFull).toEqual({ records: 1, bytes: 4 });
  });

  test("'drop-oldest' drops the oldest chunk no output is holding", async () => {
    const { pool } = await open({ maxBytesUp: 40 * R, whenFull: 'drop-oldest' });
    for (const record of records(30)) await pool.append('app', record);
    const held = await pool.take('a'); // r-0..r-9: leased, so not droppable
    expect(await pool.append('app', 'r-30-'.padEnd(100, '.'))).toBe('accepted');
    expect(pool.stats().droppedWhenFull.records).toBe(10);
    await held.ack();
    const next = await pool.take('a');
    expect(names(next.chunk.records)[0]).toBe('r-20'); // r-10..r-19 were dropped
  });

  test("'drop-oldest' admits a waiting append once, even when a drop relieves the pool", async () => {
    // Found by the model-based property: the drop re-entered admission and took the record twice.
    const { pool } = await open({
      outputs: ['a', 'b'],
      route: (tag) => (tag === 'both' ? ['a', 'b'] : [tag]),
      chunkBytes: 3 * R,
      reservePerOutput: 3 * R,
      maxBytesUp: 12 * R,
      whenFull: 'drop-oldest',
    });
    const appends = [
      ...records(2, 100, 'both').map((record) => pool.append('both', record)),
      ...records(5, 100, 'a').map((record) => pool.append('a', record)),
      ...records(3, 100, 'b').map((record) => pool.append('b', record)),
    ];
    await Promise.all(appends);
    const stats = pool.stats().outputs.b;
    expect((stats?.pendingRecords ?? 0) + (stats?.dropped.records ?? 0)).toBe(5);
  });

  test('an aborted blocked append rejects with ABORTED and is not accepted', async () => {
    const { pool } = await open({ maxBytesUp: 40 * R });
    for (const record of records(30)) await pool.append('app', record);
    const controller = new AbortController();
    const blocked = pool.append('app', 'x', { signal: controller.signal });
    controller.abort();
    await expect(blocked).rejects.toMatchObject({ code: 'ABORTED' });
    expect(pool.stats().accepted.records).toBe(30);
  });
});

describe('leases', () => {
  test('a lease not settled within leaseTimeout returns by itself', async () => {
    const { pool, clock } = await open({ leaseTimeout: 1000, retry: { minDelay: 0, maxDelay: 0 } });
    for (const record of records(10)) await pool.append('app', record);
    const first = await pool.take('a');
    const again = pool.take('a');
    await clock.advanceBy(1000);
    const second = await again;
    expect(second.chunk.id).toBe(first.chunk.id);
    expect(second.attempt).toBe(2);
    await expect(first.ack()).rejects.toMatchObject({ code: 'LEASE_SETTLED' });
    expect(pool.stats().outputs.a?.leaseTimeouts).toBe(1);
  });

  test('retry waits for the backoff (or the given delay), then hands the chunk out again', async () => {
    const { pool, clock } = await open({
      retry: { minDelay: 100, maxDelay: 1000, random: () => 1 },
    });
    for (const record of records(10)) await pool.append('app', record);
    await (await pool.take('a')).retry();
    const again = pool.take('a');
    await clock.advanceBy(99);
    expect(pool.stats().outputs.a?.retriesWaiting).toBe(1);
    await clock.advanceBy(1);
    expect((await again).attempt).toBe(2);
    await (await again).retry({ delay: 5000 });
    const third = pool.take('a');
    await clock.advanceBy(4999);
    expect(pool.stats().outputs.a?.leases).toBe(0);
    await clock.advanceBy(1);
    expect((await third).attempt).toBe(3);
  });

  test('past maxAttempts the chunk is dead-lettered, counted, never silently discarded', async () => {
    const { pool, clock } = await open({ retry: { maxAttempts: 3, minDelay: 1, maxDelay: 1 } });
    const letters: string[][] = [];
    pool.on('dead-letter', (event) => letters.push(names(event.data)));
    for (const record of records(10)) await pool.append('app', record);
    for (let attempt = 1; attempt <= 3; attempt++) {
      const lease = pool.take('a');
      await clock.advanceBy(1);
      await (await lease).retry();
    }
    expect(letters).toHaveLength(1);
    expect(letters[0]).toHaveLength(10);
    expect(pool.stats().outputs.a?.deadLettered.records).toBe(10);
    expect(pool.stats().outputs.a?.pendingRecords).toBe(0);
  });

  test('the breaker opens after consecutive failures and closes on an ack', async () => {
    const { pool, clock } = await open({
      breakerThreshold: 2,
      retry: { minDelay: 100, maxDelay: 10_000, random: () => 1 },
    });
    const states: string[] = [];
    pool.on('breaker', (event) => states.push(event.state));
    for (const record of records(30)) await pool.append('app', record);
    await (await pool.take('a')).retry({ delay: 0 });
    await (await pool.take('a')).retry({ delay: 0 });
    expect(pool.stats().outputs.a?.breaker).toBe('open');
    // Open for the first backoff step (minDelay); then one probe gets through.
    const probe = pool.take('a');
    await clock.advanceBy(99);
    expect(pool.stats().outputs.a?.leases).toBe(0);
    await clock.advanceBy(1);
    await (await probe).ack();
    expect(states).toEqual(['open', 'closed']);
    expect(pool.stats().outputs.a?.breaker).toBe('closed');
  });

  test('take rejects for an unknown output, naming the known ones', async () => {
    const { pool } = await open();
    await expect(pool.take('nope')).rejects.toThrow(/unknown output "nope".*a/);
  });
});

describe('bad input', () => {
  test.each([
    [{ outputs: [] }, /outputs/],
    [{ outputs: ['../etc'] }, /output name/],
    [{ outputs: ['a', 'a'] }, /twice/],
    [{ outputs: ['a'], chunkBytes: 0 }, /chunkBytes/],
    // A chunk that cannot hold one record (a record costs 224 bytes beyond its payload).
    [{ outputs: ['a'], chunkBytes: 224 }, /chunkBytes: expected an integer number of bytes ≥ 225/],
    [{ outputs: ['a'], chunkBytes: 2000, reservePerOutput: 1000 }, /reservePerOutput/],
    [{ outputs: ['a', 'b'], maxBytesUp: 2500, chunkBytes: 1000 }, /maxBytesUp/],
    [{ outputs: ['a'], whenFull: 'spill' }, /whenFull/],
    [{ outputs: ['a'], retry: { minDelay: 10, maxDelay: 1 } }, /maxDelay/],
    [
      { outputs: ['a'], chunkAgeMs: 5 },
      /unknown option `chunkAgeMs` \(did you mean `chunkAge`\?\)/,
    ],
    [{ outputs: ['a'], retry: { retries: 3 } }, /^TypeError: retry: unknown option `retries`/],
    [{ outputs: [{ name: 'a', retyr: {} }] }, /outputs\[0\]: unknown option `retyr`/],
    [{ outputs: ['a'], chunkBytes: '65536' }, /chunkBytes: .*got "65536" \(string\)/],
    [{ outputs: ['a'], leaseTimeout: Number.NaN }, /leaseTimeout: .*got NaN \(number\)/],
    [{ outputs: ['a'], leaseTimeout: -1 }, /leaseTimeout: .*got -1 \(number\)/],
  ])('%j is refused with a TypeError naming the option', async (options, message) => {
    const error: unknown = await ChunkPool.open(options as ChunkPoolOptions).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TypeError);
    expect(String(error)).toMatch(message);
  });

  test('a 30-day lease timeout and an Infinity chunk age are taken, and do not fire at once', async () => {
    vi.useFakeTimers();
    try {
      const pool = await ChunkPool.open({
        outputs: ['a'],
        leaseTimeout: 30 * 24 * 3600 * 1000,
        chunkAge: Infinity,
      });
      await pool.append('app', 'x');
      await pool.flush();
      const lease = await pool.take('a');
      await vi.advanceTimersByTimeAsync(2 ** 31 + 10);
      expect(pool.stats().outputs['a']?.leaseTimeouts).toBe(0);
      expect(pool.stats().outputs['a']?.leases).toBe(1);
      await lease.ack();
      await pool.close();
    } finally {
      vi.useRealTimers();
    }
  });

  test('a record larger than chunkBytes, or not a string or bytes, is refused', async () => {
    const { pool } = await open();
    await expect(pool.append('app', 'x'.repeat(10 * R))).rejects.toMatchObject({
      code: 'RECORD_TOO_LARGE',
    });
    await expect(pool.append('app', { a: 1 } as never)).rejects.toMatchObject({
      code: 'INVALID_RECORD',
    });
  });

  test('after close, appends and takes reject with POOL_CLOSED', async () => {
    const { pool } = await open();
    await pool.close();
    await expect(pool.append('app', 'x')).rejects.toMatchObject({ code: 'POOL_CLOSED' });
    await expect(pool.take('a')).rejects.toMatchObject({ code: 'POOL_CLOSED' });
  });

  test('closing a memory pool with undelivered records counts and emits them as dropped', async () => {
    const { pool } = await open();
    const dropped: string[] = [];
    pool.on('dropped', (event) => dropped.push(event.reason));
    await pool.append('app', 'x');
    await pool.close();
    expect(dropped).toEqual(['pool-closed']);
    expect(pool.stats().outputs.a?.dropped.records).toBe(1);
  });
});

describe('writable', () => {
  test('pipeline into pool.writable() respects the budget and delivers everything', async () => {
    const { Readable } = await import('node:stream');
    const { pipeline } = await import('node:stream/promises');
    const { pool } = await open({ maxBytesUp: 40 * R });
    let delivered = 0;
    let peak = 0;
    const output = (async () => {
      for await (const lease of pool.consume('a')) {
        peak = Math.max(peak, pool.stats().input.bytesUp);
        delivered += lease.chunk.recordCount;
        await lease.ack();
      }
    })();
    await pipeline(Readable.from(records(500)), pool.writable('app'));
    await pool.drain();
    expect(delivered).toBe(500);
    expect(peak).toBeLessThanOrEqual(30 * R);
    await pool.close();
    await output;
  });
});
