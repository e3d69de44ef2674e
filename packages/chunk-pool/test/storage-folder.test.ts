import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { ChunkPool, fileStorage, type FsyncPolicy } from '../src/index.js';
import { tempDir } from './support.js';

const holderFixture = fileURLToPath(new URL('./fixtures/lock-holder.ts', import.meta.url));

function openOn(dir: string, fsync: FsyncPolicy = 'batch') {
  return ChunkPool.open({ outputs: ['out'], storage: fileStorage({ dir, fsync }) });
}

/** Starts the lock-holder fixture on `dir`; resolves with the child and its first line. */
function startHolder(dir: string): { child: ChildProcess; line: Promise<string> } {
  const child = spawn(process.execPath, ['--import', 'tsx', holderFixture, dir], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = new Promise<string>((resolve) => {
    let buffered = '';
    child.stdout?.on('data', (data: Buffer) => {
      buffered += data.toString();
      if (buffered.includes('\n')) resolve(buffered.split('\n')[0] as string);
    });
  });
  return { child, line };
}

async function killHard(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

describe('one pool per folder (real processes)', () => {
  test('a live holder in another process is refused with its pid and host; after kill -9 its lock is taken over', async () => {
    const dir = tempDir();
    const { child, line } = startHolder(dir);
    expect(await line).toBe('ready');
    const refused = openOn(dir);
    await expect(refused).rejects.toMatchObject({ code: 'STORAGE_LOCKED' });
    await expect(refused).rejects.toThrow(`process ${child.pid} on ${hostname()}`);
    await killHard(child); // a stale lock is left behind
    const pool = await openOn(dir);
    await pool.append('app', 'x');
    await pool.close();
  }, 30_000);

  test('two processes taking over the same stale lock at once: exactly one gets it', async () => {
    const dir = tempDir();
    const first = startHolder(dir);
    expect(await first.line).toBe('ready');
    await killHard(first.child);
    const takers = [startHolder(dir), startHolder(dir)];
    const lines = await Promise.all(takers.map((taker) => taker.line));
    expect(lines.sort()).toEqual(['ready', 'refused STORAGE_LOCKED']);
    for (const { child } of takers) if (child.exitCode === null) await killHard(child);
  }, 30_000);

  test('a second pool in the same process is refused; close releases the lock', async () => {
    const dir = tempDir();
    const pool = await openOn(dir);
    await expect(openOn(dir)).rejects.toMatchObject({ code: 'STORAGE_LOCKED' });
    await pool.close();
    const again = await openOn(dir);
    await again.close();
  });

  test('concurrent opens in one process over a stale lock: exactly one succeeds', async () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, 'lock.1'),
      JSON.stringify({ pid: 2 ** 22 + 7, host: hostname(), bootId: undefined, token: 'dead' }),
    );
    const results = await Promise.allSettled([openOn(dir), openOn(dir), openOn(dir)]);
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
    for (const result of results) {
      if (result.status === 'fulfilled') await result.value.close();
      else expect(result.reason).toMatchObject({ code: 'STORAGE_LOCKED' });
    }
  });

  test("another host's lock is honoured while its holder refreshes it, taken over once it stops", async () => {
    const dir = tempDir();
    const lock = join(dir, 'lock.4');
    writeFileSync(lock, JSON.stringify({ pid: 1, host: 'other-pod', token: 't' }));
    await expect(openOn(dir)).rejects.toThrow(/process 1 on other-pod/);
    const anHourAgo = new Date(Date.now() - 3_600_000);
    utimesSync(lock, anHourAgo, anHourAgo);
    const pool = await openOn(dir);
    expect(readdirSync(dir).filter((name) => name.startsWith('lock'))).toEqual(['lock.5']);
    await pool.close();
  });
});

describe('a folder that is not one, or is gone', () => {
  test('a dir that cannot be a folder rejects open with STORAGE_ERROR and the OS error as cause', async () => {
    const file = join(tempDir(), 'file');
    writeFileSync(file, 'not a folder');
    await expect(openOn(join(file, 'sub'))).rejects.toMatchObject({
      name: 'ChunkPoolError',
      code: 'STORAGE_ERROR',
      cause: expect.objectContaining({ code: 'ENOTDIR' }),
    });
  });

  test("fsync 'always': once the folder is deleted under the pool, appends fail with a clear error", async () => {
    const dir = tempDir();
    const pool = await openOn(dir, 'always');
    await pool.append('app', 'before');
    rmSync(dir, { recursive: true, force: true });
    await expect(pool.append('app', 'after')).rejects.toMatchObject({
      code: 'STORAGE_ERROR',
      message: expect.stringMatching(/no longer in its folder/),
    });
    await expect(pool.append('app', 'later')).rejects.toMatchObject({ code: 'STORAGE_ERROR' });
    await pool.close().catch(() => undefined); // its files are gone; closing may fail too
  });

  test("fsync 'batch': once the folder is deleted under the pool, flush() fails with a clear error", async () => {
    const dir = tempDir();
    const pool = await openOn(dir, 'batch');
    await pool.append('app', 'before');
    await pool.flush();
    rmSync(dir, { recursive: true, force: true });
    await pool.append('app', 'after');
    await expect(pool.flush()).rejects.toMatchObject({
      code: 'STORAGE_ERROR',
      message: expect.stringMatching(/no longer in its folder|lock file .* was removed/),
    });
    await pool.close().catch(() => undefined);
  });
});
