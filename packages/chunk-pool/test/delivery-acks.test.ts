import { describe, expect, test } from 'vitest';
import {
  ChunkPool,
  ChunkPoolError,
  fileStorage,
  isChunkPoolError,
  type ChunkPoolOptions,
  type SettledEvent,
} from '../src/index.js';
import { VirtualClock } from '../src/testing.js';
import { R, records, takeAll, tempDir } from './support.js';

// Ten 100-byte records a chunk; room for several chunks.
const small = { chunkBytes: 10 * R, maxBytesUp: 100 * R, reservePerOutput: 10 * R };

async function open(options: Partial<ChunkPoolOptions> = {}) {
  const clock = new VirtualClock();
  const pool = await ChunkPool.open({ outputs: ['a', 'b'], clock, ...small, ...options });
  const settled: SettledEvent[] = [];
  pool.on('settled', (event) => settled.push(event));
  return { pool, clock, settled };
}

/** Whether `promise` has settled after the microtasks queued so far ran. */
async function isSettled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(
    () => (done = true),
    () => (done = true),
  );
  for (let i = 0; i < 10; i += 1) await Promise.resolve();
  return done;
}

async function appendAll(pool: ChunkPool, count: number, tag = 'app', prefix = 'r') {
  for (const record of records(count, 100, prefix)) await pool.append(tag, record);
}

describe('delivery acknowledgements: per-tag watermark', () => {
  test('records are numbered in order; the watermark waits for every route, then passes them', async () => {
    const { pool, settled } = await open();
    await appendAll(pool, 25);
    expect(pool.nextSequence()).toBe(25);
    expect(pool.settledBelow('app')).toBe(0);
    const all = pool.whenSettled('app');
    await pool.flush();
    await takeAll(pool, 'a');
    expect(await isSettled(all)).toBe(false);
    expect(pool.settledBelow('app')).toBe(0);
    await takeAll(pool, 'b');
    await expect(all).resolves.toBe(25);
    expect(settled.map((e) => [e.firstSequence, e.chunk.recordCount, e.outcome])).toEqual([
      [0, 10, 'delivered'],
      [10, 10, 'delivered'],
      [20, 5, 'delivered'],
    ]);
    expect({ ...settled[0]?.routes }).toEqual({ a: 'delivered', b: 'delivered' });
    expect(settled.map((e) => e.settledBelow)).toEqual([10, 20, 25]);
    await pool.close();
  });

  test('a tag no record went to is settled below every number handed out; tags are independent', async () => {
    const { pool } = await open();
    await appendAll(pool, 5, 'x');
    await appendAll(pool, 3, 'y');
    expect(pool.settledBelow('never')).toBe(8);
    expect(pool.settledBelow('x')).toBe(0);
    expect(pool.settledBelow('y')).toBe(5);
    await expect(pool.whenSettled('never')).resolves.toBe(8);
    await pool.close();
  });

  test('chunks delivered out of order: the watermark stays at the oldest unsettled chunk', async () => {
    const { pool } = await open({ outputs: ['a'] });
    await appendAll(pool, 30);
    await pool.flush();
    const first = await pool.take('a');
    const second = await pool.take('a');
    const third = await pool.take('a');
    await second.ack();
    await third.ack();
    expect(pool.settledBelow('app')).toBe(0);
    const partial = pool.whenSettled('app', 10);
    expect(await isSettled(partial)).toBe(false);
    await first.ack();
    await expect(partial).resolves.toBe(30);
    await pool.close();
  });
});

describe('delivery acknowledgements under retries and lease timeouts', () => {
  test('a retried chunk and an expired lease hold the watermark until the chunk is delivered', async () => {
    const { pool, clock, settled } = await open({
      outputs: ['a'],
      leaseTimeout: 1_000,
      retry: { maxAttempts: 5, minDelay: 100, maxDelay: 100, jitter: false },
    });
    await appendAll(pool, 10);
    await pool.flush();
    const waited = pool.whenSettled('app');
    await (await pool.take('a')).retry();
    expect(await isSettled(waited)).toBe(false);
    const retried = pool.take('a');
    await clock.advanceBy(100);
    const expired = await retried;
    await clock.advanceBy(1_000); // the lease times out: another failed attempt
    expect(expired.active).toBe(false);
    expect(pool.stats().outputs.a?.leaseTimeouts).toBe(1);
    expect(await isSettled(waited)).toBe(false);
    const third = pool.take('a');
    await clock.advanceBy(100);
    const lease = await third;
    expect(lease.attempt).toBe(3);
    await lease.ack();
    await expect(waited).resolves.toBe(10);
    expect(settled.map((e) => e.outcome)).toEqual(['delivered']);
    await pool.close();
  });

  test('past maxAttempts: dead-lettered on that route, told apart from delivered', async () => {
    const { pool, settled } = await open({ retry: { maxAttempts: 1 } });
    await appendAll(pool, 10);
    await pool.flush();
    const waited = pool.whenSettled('app');
    await (await pool.take('a')).retry();
    await (await pool.take('b')).ack();
    await expect(waited).resolves.toBe(10);
    expect(settled).toHaveLength(1);
    expect({ ...settled[0]?.routes }).toEqual({ a: 'dead-lettered', b: 'delivered' });
    expect(settled[0]?.outcome).toBe('dead-lettered');
    await pool.close();
  });

  test('a dead letter whose write fails stays pending: the watermark does not pass it', async () => {
    const dir = tempDir();
    const storage = fileStorage({ dir, fsync: 'batch' });
    const failing = new Proxy(storage, {
      get: (target, key) => {
        if (key === 'deadLetter') return () => Promise.reject(new Error('disk says no'));
        const value: unknown = Reflect.get(target, key);
        return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
      },
    });
    const { pool } = await open({ outputs: ['a'], storage: failing, retry: { maxAttempts: 1 } });
    await appendAll(pool, 10);
    await pool.flush();
    const waited = pool.whenSettled('app');
    const rejected = expect(waited).rejects.toMatchObject({ code: 'POOL_CLOSED' });
    await (await pool.take('a')).retry();
    expect(pool.stats().storageErrors).toBe(1);
    expect(await isSettled(waited)).toBe(false);
    expect(pool.settledBelow('app')).toBe(0);
    await pool.close();
    await rejected;
  });
});

describe("delivery acknowledgements with fsync: 'always'", () => {
  test('a record whose durable write failed keeps its number: the watermark never goes back', async () => {
    const dir = tempDir();
    const storage = fileStorage({ dir, fsync: 'always' });
    let failNext = false;
    const failing = new Proxy(storage, {
      get: (target, key) => {
        const value: unknown = Reflect.get(target, key);
        if (key === 'append') {
          return (...args: Parameters<typeof storage.append>) => {
            if (!failNext) return storage.append(...args);
            failNext = false;
            return Promise.reject(Object.assign(new Error('EIO: injected'), { code: 'EIO' }));
          };
        }
        return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
      },
    });
    const { pool } = await open({ outputs: ['a'], storage: failing });
    await pool.append('x', 'first');
    expect(pool.nextSequence()).toBe(1);
    expect(pool.settledBelow('y')).toBe(1);
    failNext = true;
    await expect(pool.append('x', 'second')).rejects.toMatchObject({ code: 'STORAGE_ERROR' });
    expect(pool.stats().accepted.records).toBe(1);
    expect(pool.nextSequence()).toBe(2);
    expect(pool.settledBelow('y')).toBe(2);
    await pool.append('x', 'third');
    expect(pool.nextSequence()).toBe(3);
    // Seals the chunk; rejects, as the chunk's failed write left it not durable.
    await expect(pool.flush()).rejects.toMatchObject({ code: 'STORAGE_ERROR' });
    await takeAll(pool, 'a');
    await expect(pool.whenSettled('x')).resolves.toBe(3);
    await pool.close();
  });
});

describe('delivery acknowledgements for drops', () => {
  test('lease.drop(): dropped on that route', async () => {
    const { pool, settled } = await open();
    await appendAll(pool, 10);
    await pool.flush();
    await (await pool.take('a')).drop('HTTP 400');
    await (await pool.take('b')).ack();
    await expect(pool.whenSettled('app')).resolves.toBe(10);
    expect({ ...settled[0]?.routes }).toEqual({ a: 'dropped', b: 'delivered' });
    expect(settled[0]?.outcome).toBe('dropped');
    await pool.close();
  });

  test("whenFull 'drop-oldest': the dropped chunk settles as dropped on every route", async () => {
    // The inputs' share holds 2 chunks: 40 R less 2 outputs × 10 R of reserve... one output here.
    const { pool, settled } = await open({
      outputs: ['a'],
      maxBytesUp: 30 * R,
      whenFull: 'drop-oldest',
    });
    const first = pool.whenSettled('app', 0);
    await expect(first).resolves.toBe(0);
    await appendAll(pool, 25); // the 21st record finds the share full: the oldest chunk goes
    expect(pool.stats().droppedWhenFull.records).toBe(10);
    expect(settled).toHaveLength(1);
    expect(settled[0]).toMatchObject({ firstSequence: 0, outcome: 'dropped', settledBelow: 10 });
    expect({ ...settled[0]?.routes }).toEqual({ a: 'dropped' });
    expect(pool.settledBelow('app')).toBe(10);
    await pool.close();
  });

  test("whenFull 'drop-newest': a refused record is never numbered, so no ack waits for it", async () => {
    const { pool, settled } = await open({
      outputs: ['a'],
      maxBytesUp: 30 * R,
      whenFull: 'drop-newest',
    });
    await appendAll(pool, 20);
    expect(pool.nextSequence()).toBe(20);
    await expect(pool.append('app', records(1)[0] as string)).resolves.toBe('dropped');
    expect(pool.nextSequence()).toBe(20);
    await pool.flush();
    await takeAll(pool, 'a');
    await expect(pool.whenSettled('app')).resolves.toBe(20);
    expect(settled.map((e) => e.outcome)).toEqual(['delivered', 'delivered']);
    await pool.close();
  });

  test('a chunk that fails to read back (corrupt) settles as dropped on every route it had', async () => {
    const dir = tempDir();
    const storage = fileStorage({ dir, fsync: 'batch' });
    const corrupt = new Proxy(storage, {
      get: (target, key) => {
        if (key === 'read') {
          return () => Promise.reject(new ChunkPoolError('CORRUPT_CHUNK', 'checksum mismatch'));
        }
        const value: unknown = Reflect.get(target, key);
        return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
      },
    });
    const { pool, settled } = await open({
      storage: corrupt,
      retry: { maxAttempts: 5, minDelay: 0, maxDelay: 0 },
    });
    await appendAll(pool, 10);
    await pool.flush();
    const waited = pool.whenSettled('app');
    await (await pool.take('a')).retry(); // waiting for its retry, the stored chunk goes down
    const again = pool.take('b'); // brings it up: the read fails
    const closed = expect(again).rejects.toMatchObject({ code: 'POOL_CLOSED' });
    await expect(waited).resolves.toBe(10);
    expect(pool.stats().quarantined).toBe(1);
    expect(settled[0]).toMatchObject({
      outcome: 'dropped',
      routes: { a: 'dropped', b: 'dropped' },
    });
    await pool.close();
    await closed;
  });

  test("memory storage, close(): what was pending settles as dropped ('pool-closed'), waits resolve", async () => {
    const { pool, settled } = await open();
    await appendAll(pool, 15);
    const waited = pool.whenSettled('app');
    await pool.close();
    await expect(waited).resolves.toBe(15);
    expect(settled.map((e) => [e.firstSequence, e.outcome])).toEqual([
      [0, 'dropped'],
      [10, 'dropped'],
    ]);
    await expect(pool.whenSettled('app')).rejects.toMatchObject({ code: 'POOL_CLOSED' });
  });
});

describe('delivery acknowledgements with per-output policies', () => {
  test.each(['drop-oldest', 'drop-newest'] as const)(
    "a best-effort debug output (whenFull '%s', dead): its drops settle as dropped there, delivered on archive",
    async (whenFull) => {
      const { pool, settled } = await open({
        outputs: ['archive', { name: 'debug', whenFull, maxBytesStored: 4_000 }],
        chunkAge: Number.POSITIVE_INFINITY,
      });
      const all = records(60);
      for (let i = 0; i < 60; i += 10) {
        for (const record of all.slice(i, i + 10)) await pool.append('app', record);
        await pool.flush();
        await takeAll(pool, 'archive');
      }
      const debug = pool.stats().outputs.debug;
      expect(debug?.dropped.records).toBeGreaterThan(0);
      const droppedForDebug = settled.filter((e) => e.routes.debug === 'dropped');
      expect(droppedForDebug.length).toBeGreaterThan(0);
      for (const event of droppedForDebug) {
        expect({ ...event.routes }).toEqual({ archive: 'delivered', debug: 'dropped' });
        expect(event.outcome).toBe('dropped');
      }
      const told = droppedForDebug.reduce((sum, e) => sum + e.chunk.recordCount, 0);
      expect(told).toBe(debug?.dropped.records);
      // What debug still holds keeps the watermark below it: its newest under 'drop-oldest' (the
      // records before them are settled), its oldest under 'drop-newest' (nothing before them).
      const held = debug?.pendingRecords ?? 0;
      expect(held).toBeGreaterThan(0);
      expect(pool.settledBelow('app')).toBe(whenFull === 'drop-oldest' ? 60 - held : 0);
      await pool.close();
    },
  );
});

describe('delivery acknowledgements across a restart (file storage)', () => {
  test('recovered records are numbered first at the next open; their acks arrive after the restart', async () => {
    const dir = tempDir();
    const withFiles = { storage: fileStorage({ dir, fsync: 'batch' }) };
    const first = await open(withFiles);
    await appendAll(first.pool, 25);
    await first.pool.flush();
    await (await first.pool.take('b')).ack(); // the first chunk is done for b before the crash
    const pending = expect(first.pool.whenSettled('app')).rejects.toMatchObject({
      code: 'POOL_CLOSED',
    });
    await first.pool.close();
    await pending;
    expect(first.settled).toEqual([]);

    const second = await open({ storage: fileStorage({ dir, fsync: 'batch' }) });
    const { pool, settled } = second;
    expect(pool.stats().recovered.records).toBe(25);
    expect(pool.nextSequence()).toBe(25);
    expect(pool.settledBelow('app')).toBe(0);
    const recovered = pool.whenSettled('app'); // below 25: the recovered records
    await appendAll(pool, 5, 'app', 'new');
    expect(pool.nextSequence()).toBe(30);
    await pool.flush();
    await takeAll(pool, 'a');
    expect(await isSettled(recovered)).toBe(false);
    const everything = pool.whenSettled('app');
    await takeAll(pool, 'b');
    // Resolved as the last recovered chunk settled: then the new chunk (25) was the oldest left.
    await expect(recovered).resolves.toBe(25);
    await expect(everything).resolves.toBe(30);
    expect(settled.map((e) => [e.firstSequence, e.chunk.recordCount])).toEqual([
      [0, 10],
      [10, 10],
      [20, 5],
      [25, 5],
    ]);
    // b was done with the first chunk before the restart: said so, not claimed as delivered now.
    expect({ ...settled[0]?.routes }).toEqual({ a: 'delivered', b: 'done-earlier' });
    expect({ ...settled[1]?.routes }).toEqual({ a: 'delivered', b: 'delivered' });
    await pool.close();
  });

  test('a recovered chunk kept only for an output no longer configured counts as settled (unrouted)', async () => {
    const dir = tempDir();
    const first = await open({ storage: fileStorage({ dir, fsync: 'batch' }) });
    await appendAll(first.pool, 10);
    await first.pool.close();
    const { pool, settled } = await open({
      outputs: ['a'],
      storage: fileStorage({ dir, fsync: 'batch' }),
    });
    expect(pool.unrouted()).toHaveLength(1);
    const waited = pool.whenSettled('app');
    await takeAll(pool, 'a');
    await expect(waited).resolves.toBe(10);
    expect({ ...settled[0]?.routes }).toEqual({ a: 'delivered', b: 'unrouted' });
    expect(settled[0]?.outcome).toBe('unrouted');
    await pool.close();
  });
});

describe('delivery acknowledgements: the user code and the arguments', () => {
  test('a settled listener that throws (anything) is counted; the pool and the waits go on', async () => {
    const { pool } = await open({ outputs: ['a'] });
    const hostile = Object.create(null) as object;
    Object.defineProperty(hostile, 'message', {
      get() {
        throw new Error('getter');
      },
    });
    pool.on('settled', () => {
      throw hostile;
    });
    const rejecting = (): Promise<never> => Promise.reject(null);
    pool.on('settled', rejecting as () => void);
    const after: number[] = [];
    pool.on('settled', (event) => after.push(event.settledBelow));
    await appendAll(pool, 10);
    await pool.flush();
    const waited = pool.whenSettled('app');
    await (await pool.take('a')).ack();
    await expect(waited).resolves.toBe(10);
    await Promise.resolve();
    expect(pool.stats().listenerErrors).toBe(2);
    expect(after).toEqual([10]);
    await pool.close();
  });

  test.each([
    ['a number tag', 12, undefined, 'tag: expected a string, got 12 (number)'],
    ['a null tag', null, undefined, 'tag: expected a string, got null'],
    [
      'NaN',
      'app',
      Number.NaN,
      'below: expected a whole number from 0 to nextSequence() (3), got NaN (number)',
    ],
    [
      'a string number',
      'app',
      '2',
      'below: expected a whole number from 0 to nextSequence() (3), got "2" (string)',
    ],
    ['a negative', 'app', -1, 'got -1 (number)'],
    ['a fraction', 'app', 1.5, 'got 1.5 (number)'],
    ['Infinity', 'app', Number.POSITIVE_INFINITY, 'got Infinity (number)'],
    ['a number not handed out yet', 'app', 4, 'got 4 (number)'],
  ])(
    'whenSettled with %s rejects (never throws) a TypeError naming the argument',
    async (_, tag, below, message) => {
      const { pool } = await open();
      await appendAll(pool, 3);
      let result: Promise<number> | undefined;
      expect(() => {
        result = pool.whenSettled(tag as string, below as number);
      }).not.toThrow();
      const error: unknown = await result?.catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TypeError);
      expect((error as Error).message).toContain(message);
      await pool.close();
    },
  );

  test('a wait aborted (before or while waiting) rejects ABORTED and is forgotten', async () => {
    const { pool } = await open({ outputs: ['a'] });
    await appendAll(pool, 10);
    const pre = new AbortController();
    pre.abort(new Error('gone'));
    await expect(pool.whenSettled('app', 10, { signal: pre.signal })).rejects.toMatchObject({
      code: 'ABORTED',
    });
    const later = new AbortController();
    const waited = pool.whenSettled('app', 10, { signal: later.signal });
    const kept = pool.whenSettled('app', 10);
    later.abort();
    const error: unknown = await waited.catch((e: unknown) => e);
    expect(isChunkPoolError(error, 'ABORTED')).toBe(true);
    await pool.flush();
    await takeAll(pool, 'a');
    await expect(kept).resolves.toBe(10);
    await pool.close();
  });

  test('thousands of tags, each delivered: every wait resolves and every tag reads as settled', async () => {
    const { pool } = await open({ outputs: ['a'], maxBytesUp: 10_000 * R });
    const waits: Promise<number>[] = [];
    for (let i = 0; i < 2_000; i += 1) {
      await pool.append(`tag-${i}`, `record ${i}`);
      waits.push(pool.whenSettled(`tag-${i}`));
    }
    await pool.flush();
    await takeAll(pool, 'a');
    expect(await Promise.all(waits)).toEqual(waits.map(() => 2_000));
    expect(pool.settledBelow('tag-7')).toBe(2_000);
    await pool.close();
  });
});
