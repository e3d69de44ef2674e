/**
 * The segment log (src/storage/segment-log.ts) on the model file system of test/fs-model.ts,
 * which keeps what a power loss spares apart from what it takes: where each write lands, what
 * `sync()` makes durable (and that it fsyncs nothing twice), the background fsync of a full
 * segment, a failed write leaving the file as it was, and the two reused write buffers never
 * handing the disk bytes that the next write is already overwriting.
 */
import { fc, test as propertyTest } from '@fast-check/vitest';
import { describe, expect, test } from 'vitest';
import { ChunkPoolError } from '../src/errors.js';
import type { StorageFile, StorageFileSystem } from '../src/storage/fs.js';
import {
  decodeSegment,
  encodeHeader,
  FrameKind,
  markerFrame,
  parseRecords,
  PREAMBLE,
  recordsFrameLength,
} from '../src/storage/segment-format.js';
import { SegmentLog, type RecordsPart, type Segment } from '../src/storage/segment-log.js';
import { ModelDisk } from './fs-model.js';

const DIR = '/pool/segments';

/** The model disk seen through a view that counts fsyncs by path and can fail calls. */
async function setup(options: { segmentBytes?: number; syncInBackground?: boolean } = {}) {
  const disk = new ModelDisk();
  const base = disk.view();
  await base.mkdir(DIR, { recursive: true, mode: 0o700 });
  // The pool's folders are durable already (file storage fsyncs them at open): only what the
  // log does to its own folder is in question here.
  for (const folder of ['/', '/pool']) await (await base.open(folder, 'r')).sync();
  const fsyncs = new Map<string, number>();
  const failing = new Set<'open' | 'write' | 'datasync' | 'sync' | 'close' | 'rm'>();
  const closed: string[] = [];
  const fail = (call: 'open' | 'write' | 'datasync' | 'sync' | 'close' | 'rm', path: string) => {
    if (failing.has(call)) throw Object.assign(new Error(`EIO: ${call} ${path}`), { code: 'EIO' });
  };
  /** `true`: each write writes half its bytes (at least one), as a filling disk may. */
  const short = { writes: false };
  const count = (path: string) => fsyncs.set(path, (fsyncs.get(path) ?? 0) + 1);
  const wrap = (path: string, file: StorageFile): StorageFile => {
    // A closed handle fails every call, as a real one does (EBADF).
    let open = true;
    const live = () => {
      if (!open) throw Object.assign(new Error(`EBADF: ${path} is closed`), { code: 'EBADF' });
    };
    const write = async (buffer: Buffer, offset: number, length: number, position: number) => {
      live();
      fail('write', path);
      const part = short.writes && length > 1 ? Math.floor(length / 2) : length;
      return file.write(buffer, offset, part, position);
    };
    return {
      ...file,
      write,
      writev: async (buffers, position) => {
        const joined = Buffer.concat(buffers);
        return write(joined, 0, joined.length, position);
      },
      truncate: async (length) => (live(), file.truncate(length)),
      datasync: async () => (live(), fail('datasync', path), count(path), file.datasync()),
      sync: async () => (live(), fail('sync', path), count(path), file.sync()),
      close: async () => {
        live();
        open = false;
        closed.push(path);
        fail('close', path);
        return file.close();
      },
    };
  };
  const fs: StorageFileSystem = {
    ...base,
    open: async (path, flags, mode) => {
      fail('open', path);
      return wrap(path, await base.open(path, flags, mode));
    },
    // The model's rm is always forced; a real one without `force` fails on a missing file.
    rm: async (path, options) => {
      fail('rm', path);
      if (options?.force !== true) await base.stat(path);
      return base.rm(path, options);
    },
  };
  const log = new SegmentLog(fs, DIR, {
    segmentBytes: options.segmentBytes ?? 1 << 20,
    syncInBackground: options.syncInBackground ?? true,
  });
  const fsyncsOf = (path: string) => fsyncs.get(path) ?? 0;
  return { disk, fs, log, failing, short, fsyncs, fsyncsOf, closed };
}

function records(id: string, ...texts: string[]): RecordsPart {
  const header = encodeHeader({ id, tag: 'app', createdAt: 1, routes: ['out'] });
  const list = texts.map((text) => Buffer.from(text));
  return { id, header, records: list, frameLength: recordsFrameLength(id, header, list) };
}
const done = (id: string) => markerFrame(FrameKind.RouteDone, id, 'out');

/** A log whose segments hold one chunk (`part`) each: the first segment written, and full. */
async function firstSegmentFull(options: { syncInBackground?: boolean } = {}) {
  const part = records('c1', 'x'.repeat(50));
  const context = await setup({ segmentBytes: part.frameLength, ...options });
  const first = context.log.segmentForNewChunk();
  await context.log.write(first, [], part, false);
  return { ...context, part, first };
}

/** The records of each records frame of a segment file, in order. */
function recordsIn(bytes: Buffer): string[][] {
  return decodeSegment(bytes).frames.flatMap((frame) => {
    const parsed = parseRecords(frame);
    return parsed === undefined ? [] : [parsed.records.map(String)];
  });
}

describe('writes', () => {
  test('each lands at the end of its segment, the first after the preamble, at the position it resolves with', async () => {
    const { log, disk } = await setup();
    const segment = log.segmentForNewChunk();
    const first = records('c1', 'a', 'bb');
    const at = await log.write(segment, [], first, false);
    expect(at).toBe(PREAMBLE.length);
    const marker = done('c1');
    const second = records('c1', 'ccc');
    const next = await log.write(segment, [marker], second, false);
    expect(next).toBe(PREAMBLE.length + first.frameLength);
    const bytes = disk.read(segment.path);
    expect(bytes.length).toBe(
      PREAMBLE.length + first.frameLength + marker.length + second.frameLength,
    );
    expect(segment).toMatchObject({ size: bytes.length, reserved: bytes.length, writes: 2 });
    const { frames, damage } = decodeSegment(bytes);
    expect(damage).toBeUndefined();
    expect(frames.map((f) => [f.kind, f.offset])).toEqual([
      [FrameKind.Records, at],
      [FrameKind.RouteDone, next],
      [FrameKind.Records, next + marker.length],
    ]);
    expect(recordsIn(bytes)).toEqual([['a', 'bb'], ['ccc']]);
  });

  test('writes queued at once are each written whole: the next one is prepared in the other buffer', async () => {
    // The model copies a write's bytes a turn after the call, as the thread pool would: a write
    // prepared into the buffer still being written would overwrite it first.
    const { log, disk } = await setup();
    const segment = log.segmentForNewChunk();
    const texts = ['one', 'two-two', 'three', 'four-four-four', 'five'];
    await Promise.all(
      texts.map((text, i) => log.write(segment, [], records(`c${i}`, text), false)),
    );
    expect(recordsIn(disk.read(segment.path))).toEqual(texts.map((text) => [text]));
  });

  test('a new chunk starts in the active segment until its writes, queued ones too, reach segmentBytes', async () => {
    const part = records('c1', 'x'.repeat(100));
    const { log } = await setup({ segmentBytes: 2 * part.frameLength });
    const first = log.segmentForNewChunk();
    const writing = log.write(first, [], part, false); // reserved at once, written later
    expect(log.segmentForNewChunk()).toBe(first);
    const second = log.write(first, [], records('c2', 'x'.repeat(100)), false);
    expect(first.reserved).toBe(2 * part.frameLength);
    const next = log.segmentForNewChunk();
    expect(next).not.toBe(first);
    expect(first.retired).toBe(false); // until the retire, queued after the writes, has run
    await Promise.all([writing, second]);
    await log.sync();
    expect(first.retired).toBe(true);
    expect(log.segmentForNewChunk()).toBe(next);
  });

  test('a failed write is cut back to the last complete one; it reserves nothing; the next write goes on', async () => {
    const { log, disk, failing } = await setup();
    const segment = log.segmentForNewChunk();
    await log.write(segment, [], records('c1', 'kept'), false);
    const size = disk.read(segment.path).length;
    failing.add('datasync'); // the write itself lands, its fsync fails: undone
    await expect(log.write(segment, [], records('c1', 'undone'), true)).rejects.toThrow(/EIO/);
    failing.clear();
    expect(disk.read(segment.path).length).toBe(size);
    expect(segment).toMatchObject({ size, reserved: size, writes: 1 });
    await log.write(segment, [], records('c1', 'after'), false);
    expect(recordsIn(disk.read(segment.path))).toEqual([['kept'], ['after']]);
  });

  test('the write that was to create a segment failing leaves no file; the next write creates it', async () => {
    const { log, disk, failing } = await setup();
    const segment = log.segmentForNewChunk();
    failing.add('write');
    await expect(log.write(segment, [], records('c1', 'lost'), false)).rejects.toThrow(/EIO/);
    failing.clear();
    expect(disk.list(DIR)).toEqual([]);
    expect(segment).toMatchObject({ size: 0, reserved: 0, writes: 0 });
    expect(await log.write(segment, [], records('c1', 'new'), false)).toBe(PREAMBLE.length);
    expect(recordsIn(disk.read(segment.path))).toEqual([['new']]);
  });

  test('a write whose bytes cannot be prepared fails alone, reserving nothing', async () => {
    const { log, disk } = await setup();
    const segment = log.segmentForNewChunk();
    const wrong = { ...records('c1', 'abc'), frameLength: 3 }; // too short to hold the frame
    const results = await Promise.allSettled([
      log.write(segment, [], wrong, false),
      log.write(segment, [], records('c2', 'fine'), false),
    ]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled']);
    expect(segment.reserved).toBe(segment.size);
    expect(recordsIn(disk.read(segment.path))).toEqual([['fine']]);
  });
});

describe('a failure while cleaning up', () => {
  test('a file that fails to close after its write costs no later write: each settles', async () => {
    const { log, fs, failing, disk } = await setup();
    const handle = await fs.open(`${DIR}/old.seg`, 'w');
    await handle.writeFile(PREAMBLE);
    await handle.close();
    const old = log.adopt('old.seg', PREAMBLE.length); // written with a file of its own, closed after
    const active = log.segmentForNewChunk();
    failing.add('close');
    const settled: string[] = [];
    const note = (name: string, write: Promise<number>) =>
      write.then(
        () => settled.push(`${name} written`),
        () => settled.push(`${name} failed`),
      );
    const writes = [
      // A write before them, so that the pump has the records write prepared while the marker runs.
      note('first', log.write(active, [], records('c0', 'x'), false)),
      // The marker's file is closed (and fails) right after the marker resolves.
      note('marker', log.write(old, [done('c1')], undefined, false)).then(() => failing.clear()),
      note('records', log.write(active, [], records('c2', 'y'), false)),
    ];
    await writes[1];
    await log.sync(); // runs after them all, whatever became of them
    expect(settled).toEqual(['first written', 'marker written', 'records written']);
    await Promise.all(writes);
    expect(recordsIn(disk.read(active.path))).toEqual([['x'], ['y']]);
  });

  test('a file that cannot be opened to fsync it fails that sync() only: it is not taken as gone', async () => {
    const { log, failing, disk, first } = await firstSegmentFull({ syncInBackground: false });
    const next = log.segmentForNewChunk(); // retired: sync() opens it anew
    failing.add('open');
    await expect(log.sync()).rejects.toThrow(/EIO: open/);
    failing.clear();
    await log.sync();
    await log.write(next, [], records('c2', 'y'), false);
    expect(disk.afterCrash('power').read(first.path)).toEqual(disk.read(first.path));
  });

  test('removing a segment whose file was never created resolves', async () => {
    const { log, failing, disk } = await setup();
    const segment = log.segmentForNewChunk();
    failing.add('write');
    await expect(log.write(segment, [], records('c1', 'lost'), false)).rejects.toThrow(/EIO/);
    failing.clear();
    await log.remove(segment);
    expect(disk.list(DIR)).toEqual([]);
  });

  test('a first write whose file could not even be opened leaves the segment active', async () => {
    const { log, failing } = await setup();
    const segment = log.segmentForNewChunk();
    failing.add('open');
    await expect(log.write(segment, [], records('c1', 'lost'), false)).rejects.toThrow(/EIO/);
    failing.clear();
    expect(log.segmentForNewChunk()).toBe(segment);
  });

  test('a full segment whose first write fails and stays on disk does not end the active one', async () => {
    const part = records('c1', 'x'.repeat(50));
    const { log, failing } = await setup({ segmentBytes: part.frameLength });
    const full = log.segmentForNewChunk();
    failing.add('write').add('rm');
    const failed = log.write(full, [], part, false);
    const active = log.segmentForNewChunk(); // the first one is full (reserved) before it is written
    await expect(failed).rejects.toThrow(/EIO/);
    failing.clear();
    expect(log.segmentForNewChunk()).toBe(active);
  });

  test('writing to a full segment opens its file without making the folder dirty', async () => {
    const { log, fsyncsOf, first } = await firstSegmentFull();
    log.segmentForNewChunk();
    await log.sync();
    const folderSyncs = fsyncsOf(DIR);
    await log.write(first, [done('c1')], undefined, false);
    await log.sync();
    expect(fsyncsOf(DIR)).toBe(folderSyncs);
  });

  test('a segment whose file fails to close is still removed (its chunks would come back)', async () => {
    const { log, failing, disk } = await setup();
    const segment = log.segmentForNewChunk();
    await log.write(segment, [], records('c1', 'done with'), false);
    failing.add('close');
    await log.remove(segment);
    failing.clear();
    expect(disk.list(DIR)).toEqual([]);
  });

  test('a first write that fails and whose file cannot be removed rejects; new chunks go elsewhere', async () => {
    const { log, failing, disk } = await setup();
    const segment = log.segmentForNewChunk();
    failing.add('write').add('rm');
    await expect(log.write(segment, [], records('c1', 'lost'), false)).rejects.toThrow(
      /EIO: write/,
    );
    failing.clear();
    // The file is left behind (empty or torn): no new chunk starts in it.
    const next = log.segmentForNewChunk();
    expect(next).not.toBe(segment);
    await log.write(next, [], records('c2', 'kept'), false);
    expect(recordsIn(disk.read(next.path))).toEqual([['kept']]);
  });
});

describe('a disk that takes writes in parts', () => {
  test('a write taken in halves is finished by more writes and lands whole', async () => {
    const { log, disk, short } = await setup();
    const segment = log.segmentForNewChunk();
    short.writes = true;
    await log.write(segment, [done('c0')], records('c1', 'x'.repeat(300)), false);
    await log.write(segment, [], records('c2', 'y'), false);
    expect(recordsIn(disk.read(segment.path))).toEqual([['x'.repeat(300)], ['y']]);
    expect(segment.size).toBe(disk.read(segment.path).length);
  });
});

describe('durability', () => {
  test('a durable write is on the disk when it resolves: its bytes and the segment’s name', async () => {
    const { log, disk } = await setup();
    const segment = log.segmentForNewChunk();
    await log.write(segment, [], records('c1', 'durable'), true);
    const crashed = disk.afterCrash('power');
    expect(crashed.list(DIR)).toEqual([segment.name]);
    expect(crashed.read(segment.path)).toEqual(disk.read(segment.path));
    expect(segment.syncedWrites).toBe(1);
  });

  test('sync() makes every write durable, once: a second sync with nothing new fsyncs nothing', async () => {
    const { log, disk, fsyncs } = await setup({ syncInBackground: false });
    const a = log.segmentForNewChunk();
    await log.write(a, [], records('c1', 'a'), false);
    expect(disk.afterCrash('power').list(DIR)).toEqual([]); // neither name nor bytes yet
    await log.sync();
    expect(disk.afterCrash('power').read(a.path)).toEqual(disk.read(a.path));
    expect(Object.fromEntries(fsyncs)).toEqual({ [DIR]: 1, [a.path]: 1 });
    await log.sync();
    expect(Object.fromEntries(fsyncs)).toEqual({ [DIR]: 1, [a.path]: 1 });
    await log.write(a, [done('c1')], undefined, false);
    await log.sync();
    // The file again (it grew), not the folder (no name changed).
    expect(Object.fromEntries(fsyncs)).toEqual({ [DIR]: 1, [a.path]: 2 });
  });

  test('a full segment is fsynced in the background: sync() then has nothing left to do for it', async () => {
    const { log, disk, fsyncsOf, closed, first } = await firstSegmentFull();
    const second = log.segmentForNewChunk(); // retires the first
    await log.write(second, [], records('c2', 'y'), false);
    await first.syncing;
    expect(fsyncsOf(first.path)).toBe(1);
    expect(first.syncedWrites).toBe(1);
    expect(closed).toContain(first.path);
    await log.sync(); // the names (the folder), and the second segment
    expect([fsyncsOf(first.path), fsyncsOf(second.path)]).toEqual([1, 1]);
    expect(disk.afterCrash('power').read(first.path)).toEqual(disk.read(first.path));
  });

  test("without background fsyncs (fsync 'never'/'always'), a full segment is closed, not fsynced", async () => {
    const { log, fsyncsOf, closed, first } = await firstSegmentFull({ syncInBackground: false });
    log.segmentForNewChunk();
    await log.close();
    expect(first.syncing).toBeUndefined();
    expect(fsyncsOf(first.path)).toBe(0);
    expect(closed).toContain(first.path);
  });

  test('a failed background fsync is reported by the next sync(), once; the one after fsyncs again', async () => {
    const { log, failing, fsyncsOf, first } = await firstSegmentFull();
    failing.add('datasync');
    log.segmentForNewChunk();
    await expect(log.sync()).rejects.toThrow(/EIO: datasync/);
    failing.clear();
    expect(first.syncFailure).toBeUndefined();
    expect(first.syncedWrites).toBe(0); // never covered: the kernel may have dropped the pages
    await log.sync();
    expect(first.syncedWrites).toBe(1);
    expect(fsyncsOf(first.path)).toBeGreaterThanOrEqual(1);
  });

  test('a segment a previous run left is fsynced by the first sync(); an empty one is not', async () => {
    const { log, fs, fsyncsOf } = await setup();
    for (const name of ['old.seg', 'empty.seg']) {
      const handle = await fs.open(`${DIR}/${name}`, 'w');
      await handle.writeFile(name === 'old.seg' ? PREAMBLE : Buffer.alloc(0));
      await handle.close();
    }
    const old = log.adopt('old.seg', PREAMBLE.length);
    const empty = log.adopt('empty.seg', 0);
    expect([old.retired, old.writes, empty.writes]).toEqual([true, 1, 0]);
    await log.sync();
    expect([fsyncsOf(old.path), fsyncsOf(empty.path)]).toEqual([1, 0]);
    // A new chunk never starts in an adopted segment.
    expect(log.segmentForNewChunk()).not.toBe(old);
  });
});

describe('removing and closing', () => {
  test('remove() runs after the writes queued before it; the next sync() makes the removal durable', async () => {
    const { log, disk, fsyncsOf } = await setup();
    const segment = log.segmentForNewChunk();
    await log.write(segment, [], records('c1', 'a'), false);
    await log.sync();
    const late = log.write(segment, [done('c1')], undefined, false);
    const removed = log.remove(segment);
    await late;
    await removed;
    expect(disk.list(DIR)).toEqual([]);
    expect(disk.afterCrash('power').list(DIR)).toEqual([segment.name]); // not durable yet
    await log.sync();
    expect(disk.afterCrash('power').list(DIR)).toEqual([]);
    expect(fsyncsOf(DIR)).toBe(2);
    // The removed segment was active: a new chunk starts a new one.
    expect(log.segmentForNewChunk()).not.toBe(segment);
  });

  test('removing a segment that is not the active one leaves the active one active', async () => {
    const { log, first } = await firstSegmentFull();
    const active = log.segmentForNewChunk();
    await log.remove(first);
    expect(log.segmentForNewChunk()).toBe(active);
  });

  test('a segment a previous run left is written with a file of its own, closed at once', async () => {
    const { log, fs, closed, disk } = await setup();
    const handle = await fs.open(`${DIR}/old.seg`, 'w');
    await handle.writeFile(PREAMBLE);
    await handle.close();
    closed.length = 0;
    const old = log.adopt('old.seg', PREAMBLE.length);
    expect(await log.write(old, [done('c1')], undefined, false)).toBe(PREAMBLE.length);
    expect(closed).toEqual([old.path]);
    expect(decodeSegment(disk.read(old.path)).frames.map((f) => f.kind)).toEqual([
      FrameKind.RouteDone,
    ]);
  });

  test('a full segment whose file fails to close costs nothing (no unhandled rejection)', async () => {
    const { log, failing, disk } = await firstSegmentFull({ syncInBackground: false });
    failing.add('close');
    const next = log.segmentForNewChunk(); // the retire, which closes the file, is queued
    failing.add('write');
    await expect(log.write(next, [], records('c2', 'lost'), false)).rejects.toThrow(/EIO/);
    failing.clear(); // the retire ran before that write
    await log.write(next, [], records('c2', 'y'), false);
    await log.sync();
    expect(recordsIn(disk.read(next.path))).toEqual([['y']]);
  });

  test('a full segment removed behind the log’s back fails sync() and a write to it, naming it', async () => {
    const { log, fs, closed, first, part } = await firstSegmentFull({ syncInBackground: false });
    log.segmentForNewChunk(); // retires it: its file is no longer kept open
    await log.sync();
    expect(closed.filter((path) => path === first.path)).toHaveLength(2); // retire, then sync's
    await fs.rm(first.path, { force: true });
    await expect(log.write(first, [done('c1')], undefined, false)).rejects.toMatchObject({
      code: 'ENOENT',
    });
    expect(first).toMatchObject({ size: part.frameLength + PREAMBLE.length, writes: 1 });
    // A write it holds not yet fsynced: the next sync() finds the file gone.
    first.writes += 1;
    await expect(log.sync()).rejects.toThrow(
      `segment file ${first.path} is no longer in its folder`,
    );
  });

  test('close() closes every file it kept open and waits for the background fsyncs', async () => {
    const { log, closed, first, part } = await firstSegmentFull();
    const second = log.segmentForNewChunk();
    await log.write(second, [], part, false);
    await log.close();
    expect(closed.filter((path) => path === second.path)).toHaveLength(1);
    expect(first.syncedWrites).toBe(1);
  });

  test('a segment file removed behind the log’s back fails sync() and every later write, naming it', async () => {
    const { log, disk, fs } = await setup();
    const segment = log.segmentForNewChunk();
    await log.write(segment, [], records('c1', 'a'), false);
    await fs.rm(segment.path, { force: true });
    const error = await log.sync().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ChunkPoolError);
    expect((error as ChunkPoolError).code).toBe('STORAGE_ERROR');
    expect((error as Error).message).toBe(
      `segment file ${segment.path} is no longer in its folder (was ${DIR} deleted or replaced ` +
        'while the pool ran?); records written since the last flush are not stored',
    );
    const other = log.segmentForNewChunk();
    await expect(log.write(other, [], records('c2', 'b'), false)).rejects.toBe(error);
    expect(disk.list(DIR)).toEqual([]);
  });
});

describe('what sync() resolved is what a power loss keeps', () => {
  type Step =
    | { kind: 'chunk'; bytes: number }
    | { kind: 'mark'; pick: number }
    | { kind: 'durable'; pick: number }
    | { kind: 'remove'; pick: number }
    | { kind: 'sync' };
  const step: fc.Arbitrary<Step> = fc.oneof(
    fc.record({ kind: fc.constant('chunk' as const), bytes: fc.integer({ min: 0, max: 120 }) }),
    fc.record({ kind: fc.constant('mark' as const), pick: fc.nat() }),
    fc.record({ kind: fc.constant('durable' as const), pick: fc.nat() }),
    fc.record({ kind: fc.constant('remove' as const), pick: fc.nat() }),
    fc.record({ kind: fc.constant('sync' as const) }),
  );

  propertyTest.prop([fc.array(step, { maxLength: 40 }), fc.boolean()], { numRuns: 60 })(
    'after each sync() and each durable write, the crash image holds every live segment as it is',
    async (steps, syncInBackground) => {
      const { log, disk } = await setup({ segmentBytes: 200, syncInBackground });
      const live: Segment[] = [];
      const removed: Segment[] = [];
      let n = 0;
      const check = (segments: readonly Segment[]) => {
        const crashed = disk.afterCrash('power');
        for (const segment of segments.filter((s) => s.size > 0)) {
          expect(crashed.read(segment.path)).toEqual(disk.read(segment.path));
        }
        return crashed;
      };
      for (const s of [...steps, { kind: 'sync' } as const]) {
        const picked =
          live.length === 0 ? undefined : live[('pick' in s ? s.pick : 0) % live.length];
        if (s.kind === 'chunk') {
          const segment = log.segmentForNewChunk();
          if (!live.includes(segment)) live.push(segment);
          await log.write(segment, [], records(`c${(n += 1)}`, 'x'.repeat(s.bytes)), false);
        } else if (s.kind === 'mark' && picked !== undefined && picked.size > 0) {
          await log.write(picked, [done('c')], undefined, false);
        } else if (s.kind === 'durable' && picked !== undefined && picked.size > 0) {
          await log.write(picked, [done('c')], undefined, true);
          check([picked]);
        } else if (s.kind === 'remove' && picked !== undefined) {
          await log.remove(picked);
          live.splice(live.indexOf(picked), 1);
          removed.push(picked);
        } else if (s.kind === 'sync') {
          await log.sync();
          const crashed = check(live);
          for (const segment of removed) expect(crashed.list(DIR)).not.toContain(segment.name);
        }
      }
      await log.close();
    },
  );
});
