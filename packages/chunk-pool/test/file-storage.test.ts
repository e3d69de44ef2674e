import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, test, vi } from 'vitest';
import { ChunkPool, fileStorage, type ChunkPoolOptions } from '../src/index.js';
import {
  decodeSegment,
  FrameKind,
  parseRecords,
  type Frame,
} from '../src/storage/segment-format.js';
import { R, records, tempDir, takeAll } from './support.js';

function openFile(dir: string, options: Partial<ChunkPoolOptions> = {}) {
  return ChunkPool.open({
    outputs: ['a', 'b'],
    // Ten records of 100 bytes a chunk (each costs R bytes of memory: payload and overhead).
    chunkBytes: 10 * R,
    maxBytesUp: 60 * R,
    reservePerOutput: 10 * R,
    storage: fileStorage({ dir, fsync: 'batch' }),
    ...options,
  });
}

const segmentFiles = (dir: string) =>
  readdirSync(join(dir, 'segments'))
    .sort()
    .map((name) => join(dir, 'segments', name));

/** The prototype of `FileHandle` (a class Node does not export), to spy on its methods. */
async function fileHandlePrototype(dir: string) {
  const probe = await open(join(dir, 'probe'), 'w');
  await probe.close();
  return Object.getPrototypeOf(probe) as {
    datasync: () => Promise<void>;
    sync: () => Promise<void>;
  };
}

/** Flips a byte `fromEnd` bytes before the end of `file`. */
function flipByte(file: string, fromEnd: number): void {
  const bytes = readFileSync(file);
  const at = bytes.length - fromEnd;
  bytes.writeUInt8(bytes.readUInt8(at) ^ 0xff, at);
  writeFileSync(file, bytes);
}

describe('file storage', () => {
  test('a flushed backlog survives a restart and is delivered to each route still pending', async () => {
    const dir = tempDir();
    const first = await openFile(dir);
    for (const record of records(30)) await first.append('app', record);
    await first.flush();
    expect(await takeAll(first, 'a')).toHaveLength(30); // 'a' is done before the restart
    await first.close();

    const second = await openFile(dir);
    expect(second.stats().recovered).toEqual({ chunks: 3, records: 30 });
    expect(second.stats().outputs.a?.pendingRecords).toBe(0);
    expect(await takeAll(second, 'b')).toEqual(records(30).map((_, i) => `r-${i}`));
    await second.close();
    expect(segmentFiles(dir)).toEqual([]);
  });

  test('at open, the oldest chunks are read back within recoveryBytesUp; the rest stay down', async () => {
    const dir = tempDir();
    const first = await openFile(dir, { outputs: ['a'] });
    for (const record of records(30)) await first.append('app', record);
    await first.close();

    const second = await openFile(dir, { outputs: ['a'], recoveryBytesUp: 25 * R });
    expect(second.stats().input.bytesUp).toBe(20 * R); // two chunks of ten records fit, not three
    expect(second.stats().down).toEqual({ bytes: 1000, chunks: 1 });
    expect(await takeAll(second, 'a')).toEqual(records(30).map((_, i) => `r-${i}`));
    await second.close();
  });

  test('files are created with mode 0600 and the folders with 0700', async () => {
    const dir = tempDir();
    const pool = await openFile(dir);
    await pool.append('app', 'x');
    await pool.flush();
    for (const file of segmentFiles(dir)) expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'segments')).mode & 0o777).toBe(0o700);
    await pool.close();
  });

  test('a flipped byte leads to quarantine, counted, and the rest is still delivered', async () => {
    const dir = tempDir();
    const first = await openFile(dir);
    for (const record of records(30)) await first.append('app', record);
    await first.close();
    const [segment] = segmentFiles(dir); // three chunks of ten records, all in one segment
    flipByte(segment as string, 50); // in the records of the last chunk

    const second = await openFile(dir, { outputs: ['a'] });
    expect(second.stats().quarantined).toBe(1);
    expect(readdirSync(join(dir, 'quarantine')).some((name) => name.endsWith('.seg'))).toBe(true);
    expect(await takeAll(second, 'a')).toEqual(records(20).map((_, i) => `r-${i}`));
    await second.close();
  });

  test('a damaged segment header costs nothing: every record behind it is delivered', async () => {
    const dir = tempDir();
    const first = await openFile(dir, { outputs: ['a'] });
    for (const record of records(100)) await first.append('app', record);
    await first.close();
    const [segment] = segmentFiles(dir);
    for (const at of [0, 4]) {
      // the magic, then the version byte
      const bytes = readFileSync(segment as string);
      bytes.writeUInt8(bytes.readUInt8(at) ^ 0x20, at);
      writeFileSync(segment as string, bytes);
      const second = await openFile(dir, { outputs: ['a'] });
      expect(second.stats().quarantined).toBe(1);
      expect(second.stats().lost).toEqual({ records: 0, bytes: 0 });
      expect(second.stats().recovered).toEqual({ chunks: 10, records: 100 });
      await second.close(); // nothing acked: the repaired segment holds all of it again
    }
    const third = await openFile(dir, { outputs: ['a'] });
    expect(await takeAll(third, 'a')).toEqual(records(100).map((_, i) => `r-${i}`));
    await third.close();
  });

  test("a damaged frame length costs that frame's records only, counted in stats().lost", async () => {
    const dir = tempDir();
    const first = await openFile(dir, { outputs: ['a'] });
    for (const record of records(100)) await first.append('app', record);
    await first.close();
    const [segment] = segmentFiles(dir);
    const bytes = readFileSync(segment as string);
    const frameLength = bytes.readUInt32BE(5) + 16;
    bytes.writeUInt8(bytes.readUInt8(7) ^ 0x01, 7); // the first frame's length (chunk r-0..r-9)
    writeFileSync(segment as string, bytes);

    const second = await openFile(dir, { outputs: ['a'] });
    expect(second.stats().quarantined).toBe(1);
    expect(second.stats().lost).toEqual({ records: 10, bytes: frameLength });
    expect(await takeAll(second, 'a')).toEqual(
      records(100)
        .slice(10)
        .map((_, i) => `r-${i + 10}`),
    );
    await second.close();
  });

  test('a torn tail keeps every complete frame; the torn file goes to quarantine', async () => {
    const dir = tempDir();
    const first = await openFile(dir, {
      outputs: ['a'],
      storage: fileStorage({ dir, fsync: 'always' }),
    });
    for (const record of records(5)) await first.append('app', record);
    await first.close();
    const [file] = segmentFiles(dir);
    const bytes = readFileSync(file as string);
    writeFileSync(file as string, bytes.subarray(0, bytes.length - 30)); // half of the last append

    const second = await openFile(dir, { outputs: ['a'] });
    expect(second.stats().quarantined).toBe(1);
    expect(await takeAll(second, 'a')).toEqual(['r-0', 'r-1', 'r-2', 'r-3']);
    await second.close();
  });

  test('chunks share a segment; a chunk done before a restart does not come back', async () => {
    const dir = tempDir();
    const first = await openFile(dir, { outputs: ['a'] });
    for (const record of records(30)) await first.append('app', record);
    await first.flush();
    expect(segmentFiles(dir)).toHaveLength(1);
    await (await first.take('a')).ack(); // r-0..r-9; the segment stays for the other two chunks
    expect(segmentFiles(dir)).toHaveLength(1);
    await first.close();

    const second = await openFile(dir, { outputs: ['a'] });
    expect(second.stats().recovered).toEqual({ chunks: 2, records: 20 });
    expect(await takeAll(second, 'a')).toEqual(
      records(30)
        .slice(10)
        .map((_, i) => `r-${i + 10}`),
    );
    expect(segmentFiles(dir)).toEqual([]); // removed with its last chunk, before close
    await second.close();
  });

  test('new chunks go to the next segment once one holds segmentBytes', async () => {
    const dir = tempDir();
    const pool = await openFile(dir, {
      outputs: ['a'],
      storage: fileStorage({ dir, fsync: 'batch', segmentBytes: 2500 }),
    });
    for (const record of records(60)) await pool.append('app', record);
    await pool.flush();
    // About 1,100 bytes a chunk on disk: three chunks a segment, six chunks.
    expect(segmentFiles(dir)).toHaveLength(2);
    expect(await takeAll(pool, 'a')).toHaveLength(60);
    expect(segmentFiles(dir)).toEqual([]);
    await pool.close();
  });

  test('a background fsync that fails is reported by the next flush, not retried into silence', async () => {
    const dir = tempDir();
    const pool = await openFile(dir, {
      outputs: ['a'],
      storage: fileStorage({ dir, fsync: 'batch', segmentBytes: 2500 }),
    });
    const datasync = vi.spyOn(await fileHandlePrototype(dir), 'datasync');
    datasync.mockRejectedValueOnce(Object.assign(new Error('EIO: i/o error'), { code: 'EIO' }));
    try {
      // The fourth chunk starts a second segment: the first one is fsynced in the background.
      for (const record of records(40)) await pool.append('app', record);
      await expect(pool.flush()).rejects.toMatchObject({
        code: 'STORAGE_ERROR',
        cause: { code: 'EIO' },
      });
      await expect(pool.flush()).resolves.toBeUndefined(); // reported once
    } finally {
      datasync.mockRestore();
    }
    expect(await takeAll(pool, 'a')).toHaveLength(40);
    await pool.close();
  });

  test('a flush after a new segment file also fsyncs the folder, so the name survives a power loss', async () => {
    const dir = tempDir();
    const pool = await openFile(dir, { outputs: ['a'] });
    const sync = vi.spyOn(await fileHandlePrototype(dir), 'sync');
    try {
      for (const record of records(10)) await pool.append('app', record);
      await pool.flush(); // the chunk started a segment file
      expect(sync).toHaveBeenCalledTimes(1);
      for (const record of records(10)) await pool.append('app', record);
      await pool.flush(); // same segment: its data is fdatasynced, the folder is unchanged
      expect(sync).toHaveBeenCalledTimes(1);
    } finally {
      sync.mockRestore();
    }
    await pool.close();
  });

  test('a chunk damaged on disk while the pool runs is quarantined when read, and dropped as corrupt', async () => {
    const dir = tempDir();
    const pool = await openFile(dir, { outputs: ['a'], retry: { minDelay: 0, maxDelay: 0 } });
    for (const record of records(10)) await pool.append('app', record);
    await pool.flush();
    await (await pool.take('a')).retry(); // the chunk goes down
    flipByte(segmentFiles(dir)[0] as string, 50);
    const quarantined = new Promise((resolve) => pool.once('quarantined', resolve));
    const taking = pool.take('a').catch((error: unknown) => error); // nothing left to lease
    await expect(quarantined).resolves.toMatchObject({ reason: expect.stringMatching(/checksum/) });
    expect(pool.stats().outputs.a?.dropped).toMatchObject({ records: 10 });
    expect(pool.stats().quarantined).toBe(1);
    await vi.waitFor(() => expect(segmentFiles(dir)).toEqual([]));
    expect(readdirSync(join(dir, 'quarantine')).sort()).toEqual([
      expect.stringMatching(/\.seg$/),
      expect.stringMatching(/\.seg\.reason$/),
    ]);
    await pool.close();
    expect(await taking).toMatchObject({ code: 'POOL_CLOSED' });
  });

  test('a repair that a crash interrupted leaves nothing behind on the next open', async () => {
    const dir = tempDir();
    const first = await openFile(dir);
    await first.close();
    writeFileSync(join(dir, 'segments', 'x.seg.tmp'), 'half a repair');
    const second = await openFile(dir);
    expect(readdirSync(join(dir, 'segments'))).toEqual([]);
    await second.close();
  });

  test('a retried chunk goes down, and comes back up inside the output reserve', async () => {
    const dir = tempDir();
    const pool = await openFile(dir, { outputs: ['a'], retry: { minDelay: 0, maxDelay: 0 } });
    for (const record of records(10)) await pool.append('app', record);
    await pool.flush();
    const lease = await pool.take('a');
    await lease.retry();
    expect(pool.stats().down).toEqual({ bytes: 1000, chunks: 1 });
    expect(pool.stats().bytesUp).toBe(0);
    const again = await pool.take('a');
    expect(pool.stats().outputs.a?.reserve).toMatchObject({ bytesUp: 10 * R, chunksUp: 1 });
    expect(pool.stats().input.bytesUp).toBe(0);
    await again.ack();
    expect(pool.stats().bytesUp).toBe(0);
    await pool.close();
  });

  test('memory pressure moves stored chunks down instead of blocking inputs', async () => {
    const dir = tempDir();
    const pool = await openFile(dir, { outputs: ['a'], maxBytesUp: 40 * R }); // inputs: 30 records
    for (const record of records(100)) await pool.append('app', record);
    const stats = pool.stats();
    expect(stats.input.bytesUp).toBeLessThanOrEqual(30 * R);
    expect(stats.down.chunks).toBeGreaterThanOrEqual(7);
    expect(await takeAll(pool, 'a')).toHaveLength(100);
    await pool.close();
  });

  test('dead letters of a file pool are kept under rejected/<output>', async () => {
    const dir = tempDir();
    const pool = await openFile(dir, { outputs: ['a'], retry: { maxAttempts: 1 } });
    await pool.append('app', 'poison');
    await pool.flush();
    await (await pool.take('a')).retry();
    const [file] = readdirSync(join(dir, 'rejected', 'a'));
    // A segment of its own: the chunk, its records, and why it was rejected.
    const { frames, damage } = decodeSegment(readFileSync(join(dir, 'rejected', 'a', file ?? '')));
    expect(damage).toBeUndefined();
    expect(frames.map((frame) => frame.kind)).toEqual([FrameKind.Records, FrameKind.DeadLetter]);
    expect(parseRecords(frames[0] as Frame)?.records.map(String)).toEqual(['poison']);
    expect((frames[1] as Frame).rest.toString()).toMatch(/attempt/);
    await pool.close();
  });

  test('segmentBytes must be a positive integer', () => {
    for (const segmentBytes of [0, -1, 1.5, Number.NaN]) {
      expect(() => fileStorage({ dir: tempDir(), segmentBytes })).toThrow(/segmentBytes/);
    }
  });

  test('chunk ids that would escape the folder are refused by the storage', async () => {
    const storage = fileStorage({ dir: tempDir() });
    await storage.open();
    await expect(storage.read('../../etc/passwd')).rejects.toMatchObject({
      code: 'INVALID_OPTION',
    });
    await expect(
      storage.append({ id: '../x', tag: 't', createdAt: 0, routes: ['a'] }, []),
    ).rejects.toThrow(/not a safe file name/);
  });
});
