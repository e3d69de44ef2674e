import { describe, expect, test } from 'vitest';
import { ChunkPool, fileStorage, isChunkPoolError, type ChunkStorage } from '../src/index.js';
import { VirtualClock, overrideStorage } from '../src/testing.js';
import { R, osError, tempDir } from './support.js';

// Ten records of 100 bytes a chunk (each costs R bytes of memory: payload and overhead).
const small = { chunkBytes: 10 * R, maxBytesUp: 60 * R, reservePerOutput: 10 * R } as const;

/** File storage in a fresh folder, with some of its methods replaced. */
function fileStorageWith(overrides: (real: ChunkStorage) => Partial<ChunkStorage>): ChunkStorage {
  const real = fileStorage({ dir: tempDir(), fsync: 'batch' });
  return overrideStorage(real, overrides(real));
}

/** Values a user's code may throw, from plain to hostile. */
const thrownValues: [string, unknown][] = [
  ['an Error', new Error('boom')],
  ['a string', 'a string'],
  ['null', null],
  ['a null-prototype object', Object.create(null)],
  [
    'an object whose message getter throws',
    Object.defineProperty({}, 'message', {
      get() {
        throw new Error('message getter');
      },
    }),
  ],
];

describe("route() is the user's code", () => {
  const badRoutes: [string, () => unknown][] = [
    ['an unknown output', () => ['nope']],
    ['no outputs', () => []],
    ['not an array', () => 'a'],
    ...thrownValues.map(([name, value]): [string, () => unknown] => [
      `a throw of ${name}`,
      () => {
        throw value;
      },
    ]),
  ];

  test.each(badRoutes)(
    'tryAppend() throws a ChunkPoolError when route() returns %s, and keeps nothing',
    async (_, route) => {
      const pool = await ChunkPool.open({
        outputs: ['a'],
        ...small,
        route: route as () => string[],
      });
      let thrown: unknown;
      try {
        pool.tryAppend('app', 'x');
      } catch (error) {
        thrown = error;
      }
      expect(isChunkPoolError(thrown)).toBe(true);
      expect(pool.stats().accepted).toEqual({ records: 0, bytes: 0 });
      expect(pool.stats().input.bytesUp).toBe(0);
      await expect(pool.append('app', 'x')).rejects.toSatisfy((error) => isChunkPoolError(error));
      expect(pool.stats().input.bytesUp).toBe(0);
      await pool.close();
    },
  );
});

describe("listeners are the user's code", () => {
  test.each(thrownValues)(
    'a dropped listener throwing %s does not make append() throw; it is counted',
    async (_, value) => {
      const pool = await ChunkPool.open({
        outputs: ['a'],
        chunkBytes: 10 * R,
        maxBytesUp: 20 * R,
        whenFull: 'drop-newest',
      });
      let calls = 0;
      pool.on('dropped', () => {
        calls += 1;
        throw value;
      });
      pool.on('dropped', () => {
        calls += 1; // a later listener still runs
      });
      for (let i = 0; i < 11; i++) await pool.append('app', 'x'.repeat(100));
      await expect(pool.append('app', 'x'.repeat(100))).resolves.toBe('dropped');
      expect(calls).toBe(4);
      expect(pool.stats().listenerErrors).toBe(2);
      await pool.close();
    },
  );

  test('an async listener that rejects is counted, not left unhandled', async () => {
    const pool = await ChunkPool.open({ outputs: ['a'], ...small });
    let rejected!: () => void;
    const ran = new Promise<void>((resolve) => (rejected = resolve));
    const asyncListener = async (): Promise<void> => {
      await Promise.resolve();
      rejected();
      throw new Error('async listener');
    };
    // An async listener, as a user may write one; the pool must observe its rejection.
    pool.on('sealed', asyncListener as () => void);
    await pool.append('app', 'x');
    await pool.flush();
    await ran;
    await new Promise((resolve) => setImmediate(resolve));
    expect(pool.stats().listenerErrors).toBe(1);
    await pool.close();
  });
});

describe('storage failures after the pool moved on', () => {
  test('a dead letter that fails to be written leaves its chunk pending, served again, and drain() ends', async () => {
    const clock = new VirtualClock();
    let failDeadLetters = 1;
    const storage = fileStorageWith((real) => ({
      deadLetter: (...args) =>
        failDeadLetters-- > 0 ? Promise.reject(osError('EIO')) : real.deadLetter(...args),
    }));
    const pool = await ChunkPool.open({
      outputs: ['a'],
      ...small,
      clock,
      storage,
      leaseTimeout: 100,
      retry: { maxAttempts: 1, minDelay: 10, maxDelay: 10 },
    });
    const errors: unknown[] = [];
    pool.on('storage-error', ({ error }) => errors.push(error));
    await pool.append('app', 'poison');
    await pool.flush();
    await pool.take('a'); // never settled: it times out on its last attempt
    await clock.advanceBy(100);
    expect(pool.stats().outputs.a?.deadLettered).toEqual({ records: 0, bytes: 0 });
    expect(pool.stats().outputs.a?.pendingChunks).toBe(1);
    expect(pool.stats().storageErrors).toBe(1);
    expect(errors).toEqual([
      expect.objectContaining({
        code: 'STORAGE_ERROR',
        cause: expect.objectContaining({ code: 'EIO' }),
      }),
    ]);
    await clock.advanceBy(10); // the backoff after the failed dead letter
    const again = await pool.take('a'); // read back from the file (real I/O)
    await again.retry(); // its last attempt again: the dead letter is written this time
    expect(pool.stats().outputs.a?.deadLettered).toEqual({ records: 1, bytes: 6 });
    await pool.drain();
    await pool.close();
  });

  test.each(['ENOSPC', 'EIO'])(
    'ack() with a done mark that fails (%s) settles the lease, counts the delivery and reports a ChunkPoolError',
    async (code) => {
      const storage = fileStorageWith(() => ({
        markRouteDone: () => Promise.reject(osError(code)),
        delete: () => Promise.reject(osError(code)),
      }));
      for (const outputs of [['a'], ['a', 'b']]) {
        const pool = await ChunkPool.open({ outputs, ...small, storage });
        const errors: unknown[] = [];
        pool.on('storage-error', ({ error }) => errors.push(error));
        await pool.append('app', 'x');
        await pool.flush();
        const lease = await pool.take('a');
        await expect(lease.ack()).resolves.toBeUndefined();
        expect(lease.active).toBe(false);
        await expect(lease.retry()).rejects.toMatchObject({ code: 'LEASE_SETTLED' });
        expect(pool.stats().outputs.a?.delivered).toEqual({ records: 1, bytes: 1 });
        expect(pool.stats().outputs.a?.pendingChunks).toBe(0);
        expect(pool.stats().storageErrors).toBe(1);
        const expected = code === 'ENOSPC' ? 'STORAGE_FULL' : 'STORAGE_ERROR';
        expect(errors).toEqual([
          expect.objectContaining({ code: expected, cause: expect.objectContaining({ code }) }),
        ]);
        await pool.close();
      }
    },
  );
});

describe('reading a chunk back', () => {
  test('a read that fails with an OS error is reported and tried again, not dropped as corrupt', async () => {
    const clock = new VirtualClock();
    let failReads = 1;
    const storage = fileStorageWith((real) => ({
      read: (id) => (failReads-- > 0 ? Promise.reject(osError('EIO')) : real.read(id)),
    }));
    const pool = await ChunkPool.open({
      outputs: ['a'],
      ...small,
      clock,
      storage,
      retry: { minDelay: 10, maxDelay: 10 },
    });
    await pool.append('app', 'kept');
    await pool.flush();
    await (await pool.take('a')).retry(); // down, waiting 10 ms
    await clock.advanceBy(10);
    const reported = new Promise((resolve) => pool.once('storage-error', resolve));
    const taking = pool.take('a');
    await expect(reported).resolves.toMatchObject({
      error: { code: 'STORAGE_ERROR', cause: expect.objectContaining({ code: 'EIO' }) },
    });
    expect(pool.stats().storageErrors).toBe(1);
    expect(pool.stats().quarantined).toBe(0);
    expect(pool.stats().outputs.a?.pendingChunks).toBe(1);
    await clock.advanceBy(10); // its backoff
    const lease = await taking;
    expect(lease.chunk.records.map(String)).toEqual(['kept']);
    await lease.ack();
    await pool.close();
  });
});
