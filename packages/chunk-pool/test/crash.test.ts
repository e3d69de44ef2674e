import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { ChunkPool, fileStorage, isChunkPoolError } from '../src/index.js';
import { decodeSegment } from '../src/storage/segment-format.js';
import { tempDir } from './support.js';

const fixture = fileURLToPath(new URL('./fixtures/appender.ts', import.meta.url));

async function deliverAll(pool: ChunkPool, output: string): Promise<Set<string>> {
  const seen = new Set<string>();
  while ((pool.stats().outputs[output]?.pendingChunks ?? 0) > 0) {
    const lease = await pool.take(output);
    for (const record of lease.chunk.records) seen.add(record.toString().replace(/\.+$/, ''));
    await lease.ack();
  }
  return seen;
}

describe('crash safety (real processes)', () => {
  test('SIGKILL mid-stream: every record whose append resolved is delivered after reopening', async () => {
    const dir = tempDir();
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, dir], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    let acknowledged = -1;
    let buffered = '';
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (data: Buffer) => {
        buffered += data.toString();
        const lines = buffered.split('\n');
        buffered = lines.pop() ?? '';
        for (const line of lines) acknowledged = Number(line);
        if (acknowledged >= 300 && !child.killed) {
          child.kill('SIGKILL');
          resolve();
        }
      });
    });
    await exited;
    const pool = await ChunkPool.open({
      outputs: ['out'],
      storage: fileStorage({ dir }),
      chunkBytes: 4_096,
    });
    const delivered = await deliverAll(pool, 'out');
    for (let i = 0; i <= acknowledged; i++) expect(delivered.has(`record-${i}`)).toBe(true);
    await pool.close();
  }, 30_000);

  const root = process.getuid?.() === 0;
  test.runIf(root || process.env.CI !== undefined)(
    'a full disk (tmpfs) rejects appends with STORAGE_FULL and loses nothing accepted',
    async () => {
      if (!root) throw new Error('this test mounts a tmpfs and must run as root in CI');
      const dir = join(tempDir(), 'small');
      mkdirSync(dir);
      const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir]);
      expect(mounted.status, mounted.stderr.toString()).toBe(0);
      try {
        const pool = await ChunkPool.open({
          outputs: ['out'],
          storage: fileStorage({ dir, fsync: 'batch' }),
          chunkBytes: 4_096,
          maxBytesUp: 1 << 20,
        });
        let accepted = 0;
        let error: unknown;
        for (let i = 0; i < 5_000 && error === undefined; i++) {
          try {
            await pool.append('app', `record-${i}`.padEnd(200, '.'));
            accepted = i + 1;
          } catch (caught) {
            error = caught;
          }
          if (i % 20 === 19) await pool.flush().catch(() => undefined);
        }
        expect(isChunkPoolError(error, 'STORAGE_FULL')).toBe(true);
        // The writes that failed were cut back: every segment on disk reads whole.
        for (const name of readdirSync(join(dir, 'segments'))) {
          const { damage } = decodeSegment(readFileSync(join(dir, 'segments', name)));
          expect(damage, name).toBeUndefined();
        }
        const delivered = await deliverAll(pool, 'out');
        expect(delivered.size).toBe(accepted);
        await pool.close();
      } finally {
        spawnSync('umount', [dir]);
      }
    },
  );
});
