// Dead letters on a running pool: listed, replayed and dropped while the pool holds the folder.
// A replay is one atomic rename per dead letter, then the running pool takes the chunk over as
// it takes over a chunk recovered at open: a restart after a replay delivers nothing twice.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { ChunkPool, fileStorage, memoryStorage, type ChunkPoolOptions } from '../src/index.js';
import { R, records, takeAll, tempDir } from './support.js';

function open(dir: string, options: Partial<ChunkPoolOptions> = {}) {
  return ChunkPool.open({
    outputs: ['archive', 'debug'],
    route: () => ['archive'],
    chunkBytes: 10 * R,
    maxBytesUp: 80 * R,
    reservePerOutput: 10 * R,
    retry: { maxAttempts: 1 },
    breakerThreshold: 1_000_000,
    storage: fileStorage({ dir, fsync: 'batch' }),
    ...options,
  });
}

/** `count` records (10 a chunk) that archive gives up: dead letters of the running pool. */
async function withDeadLetters(pool: ChunkPool, count: number): Promise<void> {
  for (const record of records(count, 100)) await pool.append('app', record);
  await pool.flush();
  while ((pool.stats().outputs.archive?.pendingChunks ?? 0) > 0) {
    await (await pool.take('archive')).retry();
  }
}

const named = (count: number) => Array.from({ length: count }, (_, i) => `r-${i}`);

describe('dead letters of a running pool', () => {
  test('listed, replayed without a restart, delivered once; a restart after it delivers nothing again', async () => {
    const dir = tempDir();
    const pool = await open(dir);
    await withDeadLetters(pool, 30);
    expect(await pool.deadLetters()).toHaveLength(3);
    expect(await pool.replayDeadLetters({ output: 'archive' })).toEqual({
      chunks: 3,
      records: 30,
      bytes: 3000,
      damaged: [],
    });
    expect(await pool.deadLetters()).toEqual([]);
    expect(pool.stats().replayed).toEqual({ chunks: 3, records: 30 });
    expect(pool.stats().recovered).toEqual({ chunks: 0, records: 0 });
    expect((await takeAll(pool, 'archive')).sort()).toEqual(named(30).sort());
    await pool.flush();
    await pool.close();
    const again = await open(dir);
    expect(again.stats().outputs.archive?.pendingChunks).toBe(0);
    expect(await again.deadLetters()).toEqual([]);
    await again.close();
  });

  test('replayed and then the process stops before delivery: the next open delivers them once', async () => {
    const dir = tempDir();
    const pool = await open(dir);
    await withDeadLetters(pool, 20);
    await pool.replayDeadLetters({ into: 'debug' });
    await pool.close(); // nothing was taken
    const again = await open(dir);
    expect((await takeAll(again, 'debug')).sort()).toEqual(named(20).sort());
    expect(await again.deadLetters()).toEqual([]);
    await again.close();
  });

  test('into another output; some ids only; delivery acks cover the replayed records', async () => {
    const dir = tempDir();
    const pool = await open(dir);
    await withDeadLetters(pool, 30);
    const [first, second] = await pool.deadLetters();
    const before = pool.nextSequence();
    const replayed = await pool.replayDeadLetters({ ids: [first!.id], into: 'debug' });
    expect(replayed).toMatchObject({ chunks: 1, records: 10 });
    expect(pool.nextSequence()).toBe(before + 10);
    const settled = pool.whenSettled('app');
    expect(await takeAll(pool, 'debug')).toHaveLength(10);
    expect(await settled).toBe(before + 10);
    expect((await pool.deadLetters()).map((l) => l.id)).toContain(second!.id);
    expect(await pool.dropDeadLetters({ ids: [second!.id] })).toEqual({
      chunks: 1,
      records: 10,
      bytes: 1000,
    });
    expect(await pool.deadLetters()).toHaveLength(1);
    await pool.close();
  });

  test('clear errors: an unknown output or id, bad options, memory storage, a closed pool', async () => {
    const dir = tempDir();
    const pool = await open(dir);
    await withDeadLetters(pool, 10);
    await expect(pool.replayDeadLetters({ into: 'nowhere' })).rejects.toMatchObject({
      code: 'UNKNOWN_OUTPUT',
    });
    await expect(pool.replayDeadLetters({ ids: ['nope'] })).rejects.toMatchObject({
      code: 'UNKNOWN_DEAD_LETTER',
    });
    await expect(pool.replayDeadLetters({ intoo: 'debug' } as never)).rejects.toThrow(
      /replayDeadLetters\(options\): unknown option `intoo` \(did you mean `into`\?\)/,
    );
    // A name that is not a string is a TypeError naming it (it was an unknown output).
    await expect(pool.replayDeadLetters({ into: 5 } as never)).rejects.toThrow(
      'into: expected a string, got 5 (number)',
    );
    await expect(pool.deadLetters(null as never)).rejects.toThrow(TypeError);
    expect(await pool.deadLetters()).toHaveLength(1); // nothing moved
    await pool.close();
    await expect(pool.deadLetters()).rejects.toMatchObject({ code: 'POOL_CLOSED' });
    const inMemory = await ChunkPool.open({ outputs: ['archive'], storage: memoryStorage() });
    await expect(inMemory.replayDeadLetters()).rejects.toMatchObject({
      code: 'INVALID_OPTION',
      message: expect.stringMatching(/keeps no dead letters/),
    });
    await inMemory.close();
  });

  test('replays and drops called at once run one after another: every dead letter once, no call fails', async () => {
    const dir = tempDir();
    const pool = await open(dir);
    await withDeadLetters(pool, 30);
    const [first, second, dropped] = await Promise.all([
      pool.replayDeadLetters({ output: 'archive' }),
      pool.replayDeadLetters({ output: 'archive' }),
      pool.dropDeadLetters({ output: 'archive' }),
    ]);
    // The first took all three; the others, run after it, found none left.
    expect(first).toMatchObject({ chunks: 3, records: 30 });
    expect(second).toMatchObject({ chunks: 0, records: 0 });
    expect(dropped).toEqual({ chunks: 0, records: 0, bytes: 0 });
    expect((await takeAll(pool, 'archive')).sort()).toEqual(named(30).sort());
    await pool.close();
  });

  test("kill -9 part-way through a running pool's replay: after a replay run again, every record is delivered exactly once", async () => {
    const dir = tempDir();
    const pool = await open(dir, { maxBytesStored: 1 << 20 });
    await withDeadLetters(pool, 2000); // 200 dead letters
    await pool.close();
    const fixture = fileURLToPath(new URL('./fixtures/running-replay.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, dir]);
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    let replayed = 0;
    await new Promise<void>((resolve) => {
      child.stdout.setEncoding('utf8').on('data', (text: string) => {
        replayed += text.split('\n').filter((line) => line.startsWith('replayed ')).length;
        if (replayed >= 50 && child.exitCode === null) child.kill('SIGKILL');
      });
      child.on('exit', () => resolve());
    });
    expect({ signal: child.signalCode, stderr }).toEqual({ signal: 'SIGKILL', stderr: '' });
    const again = await open(dir, { maxBytesStored: 1 << 20 });
    const left = await again.deadLetters();
    expect(left.length).toBeGreaterThan(0); // killed half way, not after the end
    expect(left.length).toBeLessThanOrEqual(150);
    await again.replayDeadLetters(); // the rest, in the running pool (its lock taken over)
    const delivered = await takeAll(again, 'archive');
    expect(delivered.length).toBe(2000);
    expect(new Set(delivered).size).toBe(2000);
    await again.close();
  }, 60_000);
});
