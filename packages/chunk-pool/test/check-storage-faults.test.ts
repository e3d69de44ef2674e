import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { ChunkPoolError, fileStorage, type ChunkStorage } from '../src/index.js';
import { checkChunkStorage, overrideStorage, type StorageFixture } from '../src/testing.js';
import { errorProblem } from '../src/testing/checked-errors.js';
import { faultInjector } from '../src/testing/faulty-storage.js';
import type { FsyncPolicy } from '../src/storage/file-storage.js';

/** File storage in a fresh folder, each storage passed through `wrap`. */
function fileFixture(
  fsync: FsyncPolicy,
  wrap: (storage: ChunkStorage) => ChunkStorage = (s) => s,
): () => StorageFixture {
  return () => {
    const dir = mkdtempSync(join(tmpdir(), 'holdfast-kit-faults-'));
    return {
      create: () => wrap(fileStorage({ dir, fsync })),
      dispose: () => rmSync(dir, { recursive: true, force: true }),
    };
  };
}

/** The kit's failure report (fast-check's message and the failed check, its cause). */
async function rejection(check: Promise<void>): Promise<string> {
  const failure = (await check.then(
    () => undefined,
    (error: unknown) => error,
  )) as Error | undefined;
  expect(failure).toBeInstanceOf(Error);
  return `${failure?.message} ${String(failure?.cause)}`;
}

describe('checkChunkStorage with faults', () => {
  test("file storage ('always') rides out ENOSPC, EIO and hangs on any call", async () => {
    // 6 runs: since the model's runs grew to ~90 commands each, 16 took 7 s of CI per Node line.
    await checkChunkStorage(fileFixture('always'), { numRuns: 6, faults: true, seed: 5 });
  }, 120_000);

  // The kit is only worth something if it catches a storage that loses data: this one writes all
  // but the last record of each write of two or more, and says it wrote them all.
  test('catches a storage that loses a record it was given', async () => {
    const losing = (storage: ChunkStorage): ChunkStorage =>
      overrideStorage(storage, {
        append: (header, records) =>
          storage.append(header, records.length < 2 ? records : records.slice(0, -1)),
      });
    const report = await rejection(
      checkChunkStorage(fileFixture('batch', losing), { numRuns: 100, seed: 7 }),
    );
    expect(report).toMatch(
      /a lease holds \d+ records of a chunk of \d+|records accepted, but \d+ accounted/,
    );
  }, 120_000);

  // A storage that turns what failed into a ChunkPoolError of its own and drops the OS error:
  // the pool passes ChunkPoolErrors on as they are, so the user would get no cause.
  test('catches a storage error that reaches the user without the OS error as its cause', async () => {
    let syncs = 0;
    const causeless = (storage: ChunkStorage): ChunkStorage =>
      overrideStorage(storage, {
        sync: async () => {
          if (++syncs % 3 === 0) throw new ChunkPoolError('STORAGE_ERROR', 'the disk failed');
          await storage.sync();
        },
      });
    const report = await rejection(
      checkChunkStorage(fileFixture('batch', causeless), { numRuns: 40, seed: 3 }),
    );
    expect(report).toMatch(/STORAGE_ERROR without the OS error as its cause \(the disk failed\)/);
  }, 120_000);

  // What the pool itself would have to get wrong (the kit cannot break it) is shown on the check.
  test('the error check refuses a raw OS error and a wrong code, and accepts the right shape', () => {
    const injected = Object.assign(new Error('EIO: injected'), { code: 'EIO' });
    expect(errorProblem(injected, (e) => e === injected)).toMatch(
      /Error "EIO: injected" reached the user: every error must be a ChunkPoolError/,
    );
    const full = new ChunkPoolError('STORAGE_ERROR', 'wrong code', { cause: { code: 'ENOSPC' } });
    expect(errorProblem(full, (e) => e === full.cause)).toMatch(
      /STORAGE_ERROR for an injected ENOSPC/,
    );
    expect(
      errorProblem(new ChunkPoolError('STORAGE_FULL', 'ok', { cause: injected }), () => false),
    ).toBeUndefined();
  });
});

describe('faultInjector', () => {
  const storage = overrideStorage(fileStorage({ dir: '/nonexistent' }), {
    sync: () => Promise.resolve(),
    read: () => Promise.resolve([Buffer.from('x')]),
  });

  test('a hung call does its work and returns after exactly hangTicks rounds, never by time', async () => {
    const faults = faultInjector(['hang'], 'recoverable', 3);
    let returned = false;
    const reading = faults
      .wrap(storage)
      .read('c1')
      .then((records) => {
        returned = true;
        return records;
      });
    for (let round = 0; round < 2; round++) {
      faults.tick();
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(returned).toBe(false); // its work is long done (the read resolved at once)
    faults.tick();
    expect((await reading).map(String)).toEqual(['x']);
  });

  test("injects ENOSPC and EIO as Node's fs reports them, and knows its own errors", async () => {
    const faults = faultInjector(['ENOSPC', 'none', 'EIO'], 'any');
    const wrapped = faults.wrap(storage);
    const first = await wrapped.sync().catch((error: unknown) => error);
    await expect(wrapped.read('c1')).resolves.toHaveLength(1);
    const third = await wrapped.sync().catch((error: unknown) => error);
    expect(first).toMatchObject({ code: 'ENOSPC', errno: -28, syscall: 'sync' });
    expect(third).toMatchObject({ code: 'EIO', errno: -5 });
    expect(faults.injected(first) && faults.injected(third)).toBe(true);
    expect(faults.injected(new Error('EIO'))).toBe(false);
  });

  test("'recoverable' leaves appends, done marks and deletions alone; 'any' fails them", async () => {
    const header = { id: 'c1', tag: 't', createdAt: 0, routes: ['a'] };
    const calls = overrideStorage(storage, {
      append: () => Promise.resolve(),
      markRouteDone: () => Promise.resolve(),
      delete: () => Promise.resolve(),
    });
    const recoverable = faultInjector(['EIO', 'EIO', 'EIO'], 'recoverable').wrap(calls);
    await recoverable.append(header, []);
    await recoverable.markRouteDone('c1', 'a');
    await recoverable.delete('c1');
    const any = faultInjector(['EIO', 'EIO', 'EIO'], 'any').wrap(calls);
    await expect(any.append(header, [])).rejects.toMatchObject({ code: 'EIO' });
    await expect(any.markRouteDone('c1', 'a')).rejects.toMatchObject({ code: 'EIO' });
    await expect(any.delete('c1')).rejects.toMatchObject({ code: 'EIO' });
  });
});
