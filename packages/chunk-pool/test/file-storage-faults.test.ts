/**
 * File storage called directly, on a file system that fails the calls a test names: every
 * failure reaches the caller as a `ChunkPoolError` saying what was being done to which chunk,
 * a failed first write leaves no half chunk behind (a failed later one keeps what was written),
 * each fsync policy syncs exactly what it promises, and bad options are named.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { fileStorage, type ChunkHeader } from '../src/index.js';
import { fileStorageOn, type FsyncPolicy } from '../src/storage/file-storage.js';
import { nodeFileSystem, type StorageFile, type StorageFileSystem } from '../src/storage/fs.js';
import {
  encodeHeader,
  fillChecksums,
  FrameKind,
  markerFrame,
  PREAMBLE,
  recordsFrameLength,
  writeRecordsFrame,
} from '../src/storage/segment-format.js';
import { tempDir } from './support.js';

type FileCall = 'write' | 'datasync' | 'sync' | 'read';
type FolderCall = 'readdir' | 'writeFile' | 'rm';

/** Node's file system, with a count of each file call and the calls a test makes fail. */
function faultyFs() {
  const failing = new Map<FileCall | FolderCall, string>();
  const calls = { write: 0, datasync: 0, sync: 0, read: 0 };
  /** `'half'`: each write writes half its bytes (at least one); `'none'`: none. */
  const short: { writes: 'half' | 'none' | undefined } = { writes: undefined };
  const shortWrite = async (file: StorageFile, bytes: Buffer, position: number) => {
    const length = short.writes === 'none' ? 0 : Math.max(1, Math.floor(bytes.length / 2));
    if (length > 0) await file.write(bytes, 0, length, position);
    return { bytesWritten: length };
  };
  const fail = (call: FileCall | FolderCall) => {
    const code = failing.get(call);
    if (code !== undefined) throw Object.assign(new Error(`${code}: injected ${call}`), { code });
  };
  const wrapFile = (file: StorageFile): StorageFile => ({
    write: async (buffer, offset, length, position) => {
      calls.write += 1;
      fail('write');
      if (short.writes !== undefined) {
        return shortWrite(file, buffer.subarray(offset, offset + length), position);
      }
      return file.write(buffer, offset, length, position);
    },
    writev: async (buffers, position) => {
      calls.write += 1;
      fail('write');
      if (short.writes !== undefined) return shortWrite(file, Buffer.concat(buffers), position);
      return file.writev(buffers, position);
    },
    read: async (...args) => {
      calls.read += 1;
      fail('read');
      return file.read(...args);
    },
    writeFile: async (data) => {
      fail('writeFile');
      return file.writeFile(data);
    },
    datasync: async () => {
      calls.datasync += 1;
      fail('datasync');
      return file.datasync();
    },
    sync: async () => {
      calls.sync += 1;
      fail('sync');
      return file.sync();
    },
    truncate: (length) => file.truncate(length),
    stat: () => file.stat(),
    utimes: (atime, mtime) => file.utimes(atime, mtime),
    close: () => file.close(),
  });
  const fs: StorageFileSystem = {
    ...nodeFileSystem,
    open: async (path, flags, mode) => wrapFile(await nodeFileSystem.open(path, flags, mode)),
    // Names come back in reverse order: the storage may not rely on the folder's own order.
    readdir: async (path) => {
      fail('readdir');
      return (await nodeFileSystem.readdir(path)).sort().reverse();
    },
    writeFile: async (path, data, options) => {
      fail('writeFile');
      return nodeFileSystem.writeFile(path, data, options);
    },
    rm: async (path, options) => {
      fail('rm');
      return nodeFileSystem.rm(path, options);
    },
  };
  return { fs, failing, calls, short };
}

const header = (id: string): ChunkHeader => ({ id, tag: 'app', createdAt: 1, routes: ['out'] });
const buffers = (...texts: string[]) => texts.map((text) => Buffer.from(text));

async function opened(fsync: FsyncPolicy = 'batch') {
  const faults = faultyFs();
  const dir = tempDir();
  const storage = fileStorageOn(faults.fs, { dir, fsync });
  await storage.open();
  return { ...faults, dir, storage };
}

describe('a failing call names what it was doing, and to which chunk', () => {
  test('each call: its verb and chunk in a STORAGE_ERROR, ENOSPC as STORAGE_FULL', async () => {
    const { storage, failing } = await opened('batch');
    await storage.append(header('c1'), buffers('a'));
    const cases: [FileCall | FolderCall, () => Promise<unknown>, string][] = [
      ['write', () => storage.append(header('c1'), buffers('b')), 'writing chunk c1 failed'],
      [
        'write',
        () => storage.markRouteDone('c1', 'out'),
        'marking a route done on chunk c1 failed',
      ],
      ['write', () => storage.reroute('c1', 'out', 'other'), 'rerouting chunk c1 failed'],
      ['read', () => storage.read('c1'), 'reading chunk c1 failed'],
      ['datasync', () => storage.sync(), 'making the segments durable failed'],
      [
        'writeFile',
        () => storage.deadLetter(header('c1'), 'out', 'gave up', buffers('a')),
        'writing the dead letter of chunk c1 failed',
      ],
      ['writeFile', () => storage.quarantine('c9', 'unreadable'), 'quarantining chunk c9 failed'],
    ];
    for (const [call, run, message] of cases) {
      failing.set(call, 'EIO');
      await expect(run(), message).rejects.toMatchObject({
        code: 'STORAGE_ERROR',
        message: expect.stringContaining(`${message}: EIO: injected ${call}`) as string,
        cause: { code: 'EIO' },
      });
      failing.delete(call);
    }
    failing.set('write', 'ENOSPC');
    await expect(storage.append(header('c1'), buffers('c'))).rejects.toMatchObject({
      code: 'STORAGE_FULL',
      message: 'writing chunk c1: no space left (ENOSPC: injected write)',
    });
    failing.clear();
    expect(await storage.read('c1')).toEqual(buffers('a')); // the failed appends added nothing
    await storage.append(header('c2'), buffers('b'));
    failing.set('datasync', 'EIO');
    await expect(storage.close()).rejects.toMatchObject({
      code: 'STORAGE_ERROR',
      message: 'closing the storage failed: EIO: injected datasync',
    });
  });

  test('opening: a folder that cannot be listed', async () => {
    const { fs, failing } = faultyFs();
    const storage = fileStorageOn(fs, { dir: tempDir() });
    failing.set('readdir', 'EACCES');
    await expect(storage.open()).rejects.toMatchObject({
      code: 'STORAGE_ERROR',
      message: 'opening the storage failed: EACCES: injected readdir',
    });
  });

  test('ids that are not safe file names are refused by every call that takes one', async () => {
    const { storage } = await opened();
    for (const [name, run] of [
      ['append', () => storage.append(header('../x'), buffers('a'))],
      ['seal', () => storage.seal('../x')],
      ['delete', () => storage.delete('../x')],
    ] as const) {
      await expect(run(), name).rejects.toMatchObject({
        code: 'INVALID_OPTION',
        message: 'chunk id "../x" is not a safe file name',
      });
    }
    await expect(
      storage.deadLetter(header('c1'), '../out', 'gave up', buffers('a')),
    ).rejects.toMatchObject({ message: 'output "../out" is not a safe file name' });
    await storage.close();
  });
});

describe('a failed write', () => {
  test('the first write of a chunk failing leaves no chunk: the next append starts it afresh', async () => {
    const { storage, failing } = await opened();
    failing.set('write', 'EIO');
    await expect(storage.append(header('c1'), buffers('lost'))).rejects.toThrow(/writing chunk c1/);
    failing.clear();
    await storage.append(header('c1'), buffers('kept'));
    expect(await storage.read('c1')).toEqual(buffers('kept'));
    await storage.close();
  });

  test('a chunk whose first write failed holds no segment: the segment goes with its last real chunk', async () => {
    const { storage, failing, dir } = await opened();
    failing.set('write', 'EIO');
    await expect(storage.append(header('c1'), buffers('lost'))).rejects.toThrow(/writing chunk c1/);
    failing.clear();
    await storage.append(header('c2'), buffers('kept'));
    await storage.delete('c2');
    // A leftover entry for c1 would keep its segment live, on disk for ever.
    expect(readdirSync(join(dir, 'segments'))).toEqual([]);
    await storage.close();
  });

  test('a later write failing keeps the chunk and what was written before it', async () => {
    const { storage, failing } = await opened();
    await storage.append(header('c1'), buffers('one'));
    failing.set('write', 'EIO');
    await expect(storage.append(header('c1'), buffers('two'))).rejects.toThrow(/writing chunk c1/);
    failing.clear();
    await storage.append(header('c1'), buffers('three'));
    expect(await storage.read('c1')).toEqual(buffers('one', 'three'));
    await storage.close();
  });

  test('deleting a chunk that was never written (or is gone already) is a no-op', async () => {
    const { storage } = await opened();
    await expect(storage.delete('never-written')).resolves.toBeUndefined();
    await storage.append(header('c1'), buffers('a'));
    await storage.delete('c1');
    await expect(storage.delete('c1')).resolves.toBeUndefined();
    await storage.close();
  });
});

describe('short writes', () => {
  test('a write that writes part of its bytes is finished by more writes: nothing is torn', async () => {
    const { storage, short } = await opened();
    short.writes = 'half';
    await storage.append(header('c1'), buffers('first record', 'second'));
    await storage.markRouteDone('c1', 'out');
    short.writes = undefined;
    expect(await storage.read('c1')).toEqual(buffers('first record', 'second'));
    await storage.close();
  });

  test('a write that writes nothing fails the append (it would loop forever)', async () => {
    const { storage, short } = await opened();
    short.writes = 'none';
    await expect(storage.append(header('c1'), buffers('a'))).rejects.toMatchObject({
      code: 'STORAGE_ERROR',
      message: expect.stringMatching(
        /^writing chunk c1 failed: short write: 0 of \d+ bytes$/,
      ) as string,
    });
    await storage.close();
  });
});

describe('the folder is fsynced when a segment was created', () => {
  test('a failed folder fsync fails sync(), and the next sync() fsyncs the folder again', async () => {
    const { storage, failing, calls } = await opened('batch');
    await storage.append(header('c1'), buffers('a')); // creates the first segment
    failing.set('sync', 'EIO');
    await expect(storage.sync()).rejects.toMatchObject({
      code: 'STORAGE_ERROR',
      message: 'making the segments durable failed: EIO: injected sync',
    });
    failing.clear();
    const before = calls.sync;
    await storage.sync();
    expect(calls.sync).toBe(before + 1); // still owed: the folder's name entries
    await storage.sync();
    expect(calls.sync).toBe(before + 1); // and then no more
    await storage.close();
  });
});

describe('each fsync policy syncs what it promises, no more', () => {
  test.each([
    // Nothing is left for sync() to do under 'always': every write was synced as it was made.
    ['always', { append: true, mark: true, sync: false, deadLetter: true }],
    ['batch', { append: false, mark: false, sync: true, deadLetter: true }],
    ['never', { append: false, mark: false, sync: false, deadLetter: false }],
  ] as const)('%s', async (fsync, synced) => {
    const { storage, calls } = await opened(fsync);
    const syncs = () => calls.datasync + calls.sync;
    const step = async (run: () => Promise<unknown>) => {
      const before = syncs();
      await run();
      return syncs() > before;
    };
    expect(await step(() => storage.append(header('c1'), buffers('a'))), 'append').toBe(
      synced.append,
    );
    expect(await step(() => storage.markRouteDone('c1', 'out')), 'mark').toBe(synced.mark);
    expect(await step(() => storage.sync()), 'sync').toBe(synced.sync);
    // The first dead letter of an output also makes its folder; the second is the file alone.
    await storage.deadLetter(header('c2'), 'out', 'gave up', buffers('b'));
    expect(
      await step(() => storage.deadLetter(header('c3'), 'out', 'gave up', buffers('c'))),
      'dead letter',
    ).toBe(synced.deadLetter);
    await storage.close();
  });

  test("fsync 'never': sync() syncs nothing, so before open() too it resolves", async () => {
    const { fs, calls } = faultyFs();
    await expect(
      fileStorageOn(fs, { dir: tempDir(), fsync: 'never' }).sync(),
    ).resolves.toBeUndefined();
    expect(calls.datasync + calls.sync).toBe(0);
  });
});

describe('reading back frames that are whole but not the chunk’s', () => {
  /** Two chunks of one frame each, the same length, written to the segment, and that file. */
  async function twoChunks() {
    const { storage, dir } = await opened();
    await storage.append(header('c1'), buffers('one'));
    await storage.append(header('c2'), buffers('two'));
    await storage.sync();
    const folder = join(dir, 'segments');
    const [name] = readdirSync(folder).filter((file) => file.endsWith('.seg'));
    const path = join(folder, name!);
    const bytes = readFileSync(path);
    const frameLength = (bytes.length - PREAMBLE.length) / 2;
    return { storage, path, bytes, frameLength };
  }

  test('another chunk’s frame where this one’s was (checksums hold): CORRUPT_CHUNK', async () => {
    const { storage, path, bytes, frameLength } = await twoChunks();
    const first = bytes.subarray(PREAMBLE.length, PREAMBLE.length + frameLength);
    const second = bytes.subarray(PREAMBLE.length + frameLength);
    writeFileSync(path, Buffer.concat([PREAMBLE, Buffer.from(second), Buffer.from(first)]));
    await expect(storage.read('c1')).rejects.toMatchObject({
      code: 'CORRUPT_CHUNK',
      message: 'chunk c1: a records frame is malformed',
    });
    await storage.close();
  });

  test('a frame of another kind where its records were, even one whose body parses: CORRUPT_CHUNK', async () => {
    const { storage, path, bytes } = await twoChunks();
    // c1's own records frame, its kind byte (after the 16-byte head) made a done mark's, its
    // checksums made good again: only the kind tells it is not a records frame.
    bytes[PREAMBLE.length + 16] = FrameKind.RouteDone;
    fillChecksums(bytes, PREAMBLE.length);
    writeFileSync(path, bytes);
    await expect(storage.read('c1')).rejects.toMatchObject({
      code: 'CORRUPT_CHUNK',
      message: 'chunk c1: a records frame is malformed',
    });
    expect(await storage.read('c2')).toEqual(buffers('two'));
    await storage.close();
  });
});

describe('recovery', () => {
  /** A closed storage in a fresh folder holding chunks of `bytes`-byte records, in this order. */
  async function storedChunks(chunks: { id: string; createdAt: number; records: string[] }[]) {
    const dir = tempDir();
    const storage = fileStorage({ dir });
    await storage.open();
    for (const { id, createdAt, records } of chunks) {
      await storage.append({ ...header(id), createdAt }, buffers(...records));
      await storage.seal(id);
    }
    await storage.close();
    return dir;
  }

  test('chunks come back oldest first (ties by id), the oldest within recordBytes with their records', async () => {
    const dir = await storedChunks([
      { id: 'late', createdAt: 30, records: ['0123456789'] },
      { id: 'b-tie', createdAt: 10, records: ['0123456789'] },
      { id: 'a-tie', createdAt: 10, records: ['0123456789'] },
      { id: 'mid', createdAt: 20, records: ['0123456789'] },
    ]);
    const storage = fileStorage({ dir });
    // 25 bytes: room for two 10-byte chunks, not three.
    const { chunks } = await storage.open({ recordBytes: 25 });
    expect(chunks.map((chunk) => [chunk.id, chunk.records?.length])).toEqual([
      ['a-tie', 1],
      ['b-tie', 1],
      ['mid', undefined],
      ['late', undefined],
    ]);
    await storage.close();
    const exact = fileStorage({ dir });
    const loaded = (await exact.open({ recordBytes: 20 })).chunks.filter((c) => c.records);
    expect(loaded.map((chunk) => chunk.id)).toEqual(['a-tie', 'b-tie']); // exactly full fits
    await exact.close();
  });

  test('quarantine keeps the chunk’s frames and the reason beside them, and forgets the chunk', async () => {
    const { storage, dir } = await opened();
    await storage.append(header('c1'), buffers('a', 'b'));
    await storage.quarantine('c1', 'it would not parse');
    const target = join(dir, 'quarantine', 'c1.seg');
    const kept = readFileSync(target);
    expect(kept.subarray(0, PREAMBLE.length)).toEqual(PREAMBLE);
    expect(kept.length).toBeGreaterThan(PREAMBLE.length + 2); // the chunk's frame, not just a preamble
    expect(readFileSync(`${target}.reason`, 'utf8')).toBe('it would not parse\n');
    await expect(storage.read('c1')).rejects.toMatchObject({
      code: 'CORRUPT_CHUNK',
      message: 'chunk c1 is not in storage',
    });
    await storage.close();
  });

  test('close() makes the segments durable, except with fsync never', async () => {
    for (const [fsync, synced] of [
      ['batch', true],
      ['never', false],
    ] as const) {
      const { storage, calls } = await opened(fsync);
      await storage.append(header('c1'), buffers('a'));
      const before = calls.datasync + calls.sync;
      await storage.close();
      expect(calls.datasync + calls.sync > before, fsync).toBe(synced);
    }
  });

  test('a chunk id found in two segments is taken from the older one (names in order)', async () => {
    const dir = tempDir();
    const folder = join(dir, 'segments');
    const make = fileStorage({ dir });
    await make.open();
    await make.close();
    const segmentOf = (text: string) => {
      const headerBytes = encodeHeader(header('dup'));
      const records = buffers(text);
      const frame = Buffer.alloc(recordsFrameLength('dup', headerBytes, records));
      writeRecordsFrame(frame, 0, 'dup', headerBytes, records);
      fillChecksums(frame, 0);
      return Buffer.concat([PREAMBLE, frame]);
    };
    writeFileSync(join(folder, 'a-older.seg'), segmentOf('older'));
    writeFileSync(join(folder, 'b-newer.seg'), segmentOf('newer'));
    const { fs } = faultyFs(); // lists the folder newest name first
    const storage = fileStorageOn(fs, { dir });
    await storage.open();
    expect(await storage.read('dup')).toEqual(buffers('older'));
    await storage.close();
  });

  test('a segment that holds no live chunk is removed at open; one that does is kept', async () => {
    const dir = await storedChunks([{ id: 'alive', createdAt: 1, records: ['a'] }]);
    const folder = join(dir, 'segments');
    // What a crash between a chunk's deletion and its segment's removal leaves behind.
    writeFileSync(
      join(folder, 'emptied.seg'),
      Buffer.concat([PREAMBLE, markerFrame(FrameKind.Deleted, 'gone')]),
    );
    const storage = fileStorage({ dir });
    expect((await storage.open()).chunks.map((chunk) => chunk.id)).toEqual(['alive']);
    await storage.close();
    const left = readdirSync(folder).filter((file) => file.endsWith('.seg'));
    expect(left).toHaveLength(1);
    expect(left).not.toContain('emptied.seg');
  });

  test('a repair file left by a crash is removed at open; the segment it was for is kept', async () => {
    const dir = tempDir();
    const first = fileStorage({ dir });
    await first.open();
    await first.append(header('c1'), buffers('a', 'b'));
    await first.seal('c1');
    await first.sync();
    await first.close();
    writeFileSync(join(dir, 'segments', 'interrupted.seg.tmp'), 'half a repair');
    const { fs } = faultyFs();
    const again = fileStorageOn(fs, { dir });
    const scan = await again.open();
    expect(scan.chunks.map((chunk) => chunk.id)).toEqual(['c1']);
    expect(await again.read('c1')).toEqual(buffers('a', 'b'));
    expect(await nodeFileSystem.readdir(join(dir, 'segments'))).not.toContain(
      'interrupted.seg.tmp',
    );
    await again.close();
  });
});

describe('options', () => {
  test.each([
    ['null', null, 'options: expected an object { dir, fsync, segmentBytes }, got null'],
    ['no dir', {}, 'dir: expected a folder path (string), got undefined'],
    ['an empty dir', { dir: '' }, 'dir: expected a folder path (string), got "" (string)'],
    [
      'an unknown fsync',
      { dir: '/tmp/x', fsync: 'sometimes' },
      `fsync: expected 'always', 'batch' or 'never', got "sometimes" (string)`,
    ],
    ['segmentBytes 0', { dir: '/tmp/x', segmentBytes: 0 }, 'segmentBytes: expected'],
    [
      'segmentBytes as a string',
      { dir: '/tmp/x', segmentBytes: '65536' },
      'segmentBytes: expected',
    ],
    [
      'a misspelt key',
      { dir: '/tmp/x', fsnyc: 'always' },
      'unknown option `fsnyc` (did you mean `fsync`?)',
    ],
  ])('%s is a TypeError naming it', (_, options, message) => {
    expect(() => fileStorage(options as never)).toThrow(TypeError);
    expect(() => fileStorage(options as never)).toThrow(message);
  });
});
