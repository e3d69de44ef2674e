/**
 * Crash-point model test of file storage: the real storage (file-storage.ts, segment-log.ts,
 * segment-format.ts, dir-lock.ts) runs generated call sequences on the model file system of
 * fs-model.ts, calling storage the way the pool does (per chunk in order, chunks concurrently).
 * After every step of the model (every write, fsync, create, rename, unlink) the disk a crash
 * would leave there is taken — a power loss (volatile bytes and folder entries gone), a torn one
 * (part of each unsynced tail written), a kill -9 (everything written kept) — reopened with a new
 * storage, and checked against what the calls had promised by then.
 *
 * The contract checked (docs/chunk-pool.md, "Delivery is at least once: duplicates happen only
 * after a retry, a lease timeout or a crash", and the `fsync` option), per record and route:
 *
 * - **Promised records are recovered exactly once.** A record is promised once its `append`
 *   resolved under `fsync: 'always'`, or once a `sync()` (`pool.flush()`) or `close()` called
 *   after its `append` resolved has resolved under `'batch'`; after a kill -9, once its `append`
 *   resolved under any policy. A promised record whose route was not yet finished (acked or
 *   dead-lettered) is pending for that route exactly once after the reopen.
 * - **A finish that was promised is not undone.** A done mark (`markRouteDone`, resolved under
 *   `'always'`; covered by a resolved `sync()`/`close()` under `'batch'`) or a deletion covered
 *   by a resolved `sync()`/`close()` means the record is not pending for that route again; and
 *   when the route finished by a dead letter, the dead letter holds the record.
 * - **A dead-lettered record is somewhere:** pending for its route, or in its dead letter.
 * - **Nothing is invented:** every recovered record was appended, to that chunk, in order; no
 *   record is pending twice for a route, or in two dead letters; a dead letter exists only
 *   where one was written. The crash duplicates the contract allows are a record redelivered
 *   after a crash whose finish was not yet promised.
 * - Reopening never fails.
 *
 * The ledger of promises and the check of a crash image are in crash-ledger.ts. Over 300 lines:
 * the command driver and the tests on it (the property, the sequences it found, the controls).
 *
 * CRASH_MODEL_RUNS (default 20) sets the number of sequences; CRASH_MODEL_SEED replays one.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { fileStorageOn, type FsyncPolicy } from '../src/storage/file-storage.js';
import type { StorageFile, StorageFileSystem } from '../src/storage/fs.js';
import type { ChunkHeader, ChunkStorage } from '../src/storage/storage.js';
import {
  checkCrash,
  DIR,
  Ledger,
  ROUTES,
  tearAt,
  type Finish,
  type LiveChunk,
  type RecordEntry,
  type Route,
  type Sync,
} from './crash-ledger.js';
import { ModelDisk, type CrashKind } from './fs-model.js';

type Command =
  | { kind: 'append'; slot: number; records: number; routes: Route[]; wait: boolean }
  | { kind: 'seal'; slot: number; wait: boolean }
  | { kind: 'ack' | 'dead'; pick: number; route: Route; wait: boolean }
  | { kind: 'flush'; wait: boolean }
  | { kind: 'reopen' }
  | { kind: 'crash'; crash: CrashKind };

const route = fc.constantFrom<Route>(...ROUTES);
const command: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('append' as const),
      slot: fc.nat(2),
      records: fc.integer({ min: 1, max: 3 }),
      routes: fc.constantFrom<Route[]>(['a'], ['b'], ['a', 'b']),
      wait: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('seal' as const),
      slot: fc.nat(2),
      wait: fc.boolean(),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constantFrom('ack' as const, 'dead' as const),
      pick: fc.nat(),
      route,
      wait: fc.boolean(),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('flush' as const), wait: fc.boolean() }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'reopen' as const }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('crash' as const),
      crash: fc.constantFrom<CrashKind>('power', 'torn', 'process'),
    }),
  },
);

/** What the storage under test sees of the model (the controls break it). */
type FsWrap = (fs: StorageFileSystem) => StorageFileSystem;

/** A crash image: the disk a crash right after step `k` leaves (all kinds derive from it). */
interface Image {
  readonly k: number;
  readonly disk: ModelDisk;
}

/**
 * One generated run. `check` sees the crash images taken since it was last called, with the
 * ledger as it stands (called before a crash of the run itself rewrites the ledger, and at the
 * end).
 */
async function runCommands(
  fsync: FsyncPolicy,
  segmentBytes: number,
  commands: readonly Command[],
  check: (ledger: Ledger, images: Image[]) => Promise<void>,
  wrap: FsWrap,
): Promise<void> {
  const disk = new ModelDisk();
  const ledger = new Ledger(disk, fsync);
  let images: Image[] = [];
  disk.onStep = (at) => images.push({ k: at.steps, disk: at.afterCrash('process') });
  const checkImages = async (): Promise<void> => {
    const taken = images;
    images = [];
    await check(ledger, taken);
  };
  const failures: unknown[] = [];
  // Calls of a run that crashed fail (its file system is gone); only the live run's count.
  let generation = 0;
  let inflight = new Set<Promise<unknown>>();
  const track = (promise: Promise<unknown>): void => {
    const mine = generation;
    const settled: Promise<unknown> = promise.then(
      () => inflight.delete(settled),
      (error: unknown) => {
        inflight.delete(settled);
        if (mine === generation) failures.push(error);
      },
    );
    inflight.add(settled);
  };
  const settle = async (): Promise<void> => {
    while (inflight.size > 0) await Promise.all([...inflight]);
  };
  const chunks = new Map<string, LiveChunk>();
  const slots = new Map<number, LiveChunk>();
  /** A new run on the disk: `chunks` become those it recovered, with their pending routes. */
  const reopen = async (): Promise<ChunkStorage> => {
    const next = fileStorageOn(wrap(disk.view()), { dir: DIR, fsync, segmentBytes });
    const scan = await next.open({ recordBytes: Number.MAX_SAFE_INTEGER });
    chunks.clear();
    slots.clear();
    for (const found of scan.chunks) {
      const { id, tag, createdAt, routes } = found;
      const records = found.records ?? (await next.read(id));
      const pending = new Set(routes.filter((r) => !found.doneRoutes.includes(r)) as Route[]);
      chunks.set(id, {
        header: { id, tag, createdAt, routes },
        names: records.map(String),
        unwritten: [],
        sealed: true,
        pending,
        chain: Promise.resolve(),
      });
    }
    return next;
  };
  const close = async (storage: ChunkStorage): Promise<void> => {
    const sync: Sync = { called: ledger.now() };
    ledger.syncs.push(sync);
    await storage.close();
    sync.resolved = ledger.now();
  };
  let storage = await reopen();
  let nextChunk = 0;
  let nextRecord = 0;
  const onChunk = (chunk: LiveChunk, step: () => Promise<void>): void => {
    chunk.chain = chunk.chain.then(step);
    track(chunk.chain);
  };
  const sealChunk = (chunk: LiveChunk): void => {
    chunk.sealed = true;
    const entries = chunk.unwritten.map((name) => ledger.records.get(name) as RecordEntry);
    chunk.unwritten = [];
    const { header } = chunk;
    onChunk(chunk, async () => {
      if (entries.length > 0) await write(storage, ledger, header, entries);
      await storage.seal(header.id);
    });
  };

  for (const cmd of commands) {
    if (cmd.kind === 'append') {
      let chunk = slots.get(cmd.slot);
      if (chunk === undefined) {
        const id = `c${nextChunk++}`;
        const header = { id, tag: `t${cmd.slot}`, createdAt: nextChunk, routes: cmd.routes };
        chunk = {
          header,
          names: [],
          unwritten: [],
          sealed: false,
          pending: new Set(cmd.routes),
          chain: Promise.resolve(),
        };
        ledger.headers.set(id, header);
        chunks.set(id, chunk);
        slots.set(cmd.slot, chunk);
      }
      const names = Array.from({ length: cmd.records }, () => `r${nextRecord++}`);
      const entries = names.map((name) => {
        const entry: RecordEntry = { name, chunk: chunk.header.id, index: nextRecord };
        ledger.records.set(name, entry);
        chunk.names.push(name);
        return entry;
      });
      if (fsync === 'always') {
        const { header } = chunk;
        onChunk(chunk, () => write(storage, ledger, header, entries));
      } else {
        chunk.unwritten.push(...names);
      }
    } else if (cmd.kind === 'seal') {
      const chunk = slots.get(cmd.slot);
      if (chunk === undefined) continue;
      slots.delete(cmd.slot);
      sealChunk(chunk);
    } else if (cmd.kind === 'ack' || cmd.kind === 'dead') {
      const candidates = [...chunks.values()].filter((c) => c.sealed && c.pending.has(cmd.route));
      if (candidates.length === 0) continue;
      const chunk = candidates[cmd.pick % candidates.length] as LiveChunk;
      chunk.pending.delete(cmd.route);
      const finish: Finish = {
        chunk: chunk.header.id,
        route: cmd.route,
        dead: cmd.kind === 'dead',
        deletion: chunk.pending.size === 0,
      };
      ledger.finishes.push(finish);
      if (finish.deletion) chunks.delete(chunk.header.id);
      const { header, names } = chunk;
      onChunk(chunk, async () => {
        finish.issued = ledger.now();
        if (finish.dead) {
          const key = `${header.id}/${cmd.route}`;
          if (!ledger.letters.has(key)) ledger.letters.set(key, finish.issued);
          const records = names.map((name) => Buffer.from(name));
          await storage.deadLetter(header, cmd.route, 'failed 4 attempts', records);
        }
        await (finish.deletion
          ? storage.delete(header.id)
          : storage.markRouteDone(header.id, cmd.route));
        finish.resolved = ledger.now();
      });
    } else if (cmd.kind === 'flush') {
      const sync: Sync = { called: ledger.now() };
      ledger.syncs.push(sync);
      track(storage.sync().then(() => (sync.resolved = ledger.now())));
    } else if (cmd.kind === 'reopen') {
      // A clean restart, as `pool.close()` makes one: open chunks sealed, everything settled.
      for (const chunk of [...slots.values()]) sealChunk(chunk);
      await settle();
      await close(storage);
      storage = await reopen();
    } else if (cmd.kind === 'crash') {
      // The run itself crashes, calls in flight, and the next one goes on from what is left.
      const kind = fsync === 'never' ? 'process' : cmd.crash;
      disk.crash(kind, tearAt(disk.steps));
      generation += 1;
      inflight = new Set();
      await checkImages();
      storage = await reopen();
      ledger.recovered(kind, chunks);
    }
    if ('wait' in cmd && cmd.wait) await settle();
  }
  await settle();
  await close(storage);
  disk.onStep = undefined;
  await checkImages();
  if (failures.length > 0) throw failures[0];
}

async function write(
  storage: ChunkStorage,
  ledger: Ledger,
  header: ChunkHeader,
  entries: RecordEntry[],
): Promise<void> {
  const issued = ledger.now();
  for (const entry of entries) entry.issued = issued;
  await storage.append(
    header,
    entries.map((entry) => Buffer.from(entry.name)),
  );
  const resolved = ledger.now();
  for (const entry of entries) entry.resolved = resolved;
}

async function crashEverywhere(
  fsync: FsyncPolicy,
  segmentBytes: number,
  commands: readonly Command[],
  wrap: FsWrap = (fs) => fs,
): Promise<number> {
  const kinds: CrashKind[] = fsync === 'never' ? ['process'] : ['power', 'torn', 'process'];
  let points = 0;
  await runCommands(
    fsync,
    segmentBytes,
    commands,
    async (ledger, images) => {
      points += images.length;
      for (const { k, disk } of images) {
        for (const kind of kinds) {
          const problems = await checkCrash(ledger, disk, k, kind, segmentBytes);
          if (problems.length > 0) {
            throw new Error(
              `${kind} crash after step ${k} (${fsync}):\n  ${problems.slice(0, 6).join('\n  ')}`,
            );
          }
        }
      }
    },
    wrap,
  );
  return points;
}

const runs = Number(process.env.CRASH_MODEL_RUNS ?? 20);
const seed =
  process.env.CRASH_MODEL_SEED === undefined ? undefined : Number(process.env.CRASH_MODEL_SEED);

describe('file storage under a crash at every step (model file system)', () => {
  test.each(['always', 'batch', 'never'] as const)(
    'fsync %s',
    async (fsync) => {
      let steps = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(120, 400, 1 << 16),
          fc.array(command, { minLength: 1, maxLength: 24 }),
          async (segmentBytes, commands) => {
            steps += await crashEverywhere(fsync, segmentBytes, commands);
          },
        ),
        { numRuns: runs, ...(seed === undefined ? {} : { seed }) },
      );
      expect(steps).toBeGreaterThan(runs);
    },
    Math.max(120_000, runs * 200), // a longer run (CRASH_MODEL_RUNS) gets the time it needs
  );
});

// The sequences in which the model found each bug, shrunk; each fails without its fix.
describe('crash points the model found', () => {
  const append = (slot: number, routes: Route[], wait = false): Command => ({
    kind: 'append',
    slot,
    records: 1,
    routes,
    wait,
  });
  const seal = (slot: number): Command => ({ kind: 'seal', slot, wait: false });
  const ack = (r: Route, wait = false): Command => ({ kind: 'ack', pick: 0, route: r, wait });
  const cases: [string, FsyncPolicy, Command[]][] = [
    [
      'the folders created at the first open are fsynced into their parents (else a power loss takes the whole store)',
      'always',
      [append(0, ['a'])],
    ],
    [
      "a flush makes a segment's removal durable (else acked chunks come back)",
      'batch',
      [append(0, ['a']), { kind: 'reopen' }, ack('a')],
    ],
    [
      "under 'always' too, close() makes deletions durable",
      'always',
      [append(0, ['a']), { kind: 'reopen' }, ack('a')],
    ],
    [
      'after a kill -9, the first flush fsyncs the segments the killed process left',
      'batch',
      [append(1, ['a']), seal(1), append(0, ['a'], true), { kind: 'crash', crash: 'process' }],
    ],
    [
      'after a kill -9, the first flush fsyncs the folder (removals the killed process left)',
      'always',
      [append(0, ['a']), seal(0), ack('a', true), { kind: 'crash', crash: 'process' }],
    ],
    [
      'a flush queued before a segment is removed still fsyncs the done marks written to it',
      'batch',
      [
        append(0, ['a', 'b']),
        { kind: 'reopen' },
        ack('b'),
        append(0, ['a'], true),
        ack('a'),
        { kind: 'flush', wait: false },
      ],
    ],
    [
      "a dead letter's name is durable before the route is marked done",
      'always',
      [append(0, ['a', 'b']), seal(0), { kind: 'dead', pick: 0, route: 'a', wait: false }],
    ],
  ];
  test.each(cases)('%s', async (_, fsync, commands) => {
    for (const segmentBytes of [120, 1 << 16]) {
      expect(await crashEverywhere(fsync, segmentBytes, commands)).toBeGreaterThan(0);
    }
  });

  // The first flush fsyncs the segments folder (what a killed process left): a storage whose open
  // failed (the pool closes it) has no folder, and nothing to make durable.
  test('close() of a storage that was never opened resolves', async () => {
    const storage = fileStorageOn(new ModelDisk().view(), { dir: DIR, fsync: 'batch' });
    await expect(storage.close()).resolves.toBeUndefined();
  });

  // A torn tail is repaired at open by writing the valid frames aside and renaming them over the
  // segment; a done mark then goes into the new file. Unless the rename is durable first, a power
  // loss brings back the old file, without the mark that `markRouteDone` said was durable.
  test('a repaired segment is in place durably before a done mark written to it resolves', async () => {
    const disk = new ModelDisk();
    const options = { dir: DIR, fsync: 'always', segmentBytes: 1 << 16 } as const;
    const first = fileStorageOn(disk.view(), options);
    await first.open();
    await first.append({ id: 'c0', tag: 't', createdAt: 1, routes: ['a', 'b'] }, [
      Buffer.from('r0'),
    ]);
    await first.append({ id: 'c1', tag: 't', createdAt: 2, routes: ['a'] }, [Buffer.from('r1')]);
    await first.delete('c1'); // a deletion marker, not fsynced under 'always'
    disk.crash('torn', () => 0.5); // half of it reached the disk
    const second = fileStorageOn(disk.view(), options);
    expect((await second.open()).quarantined).toBe(1);
    await second.markRouteDone('c0', 'b');
    const third = fileStorageOn(disk.afterCrash('power').view(), options);
    const { chunks } = await third.open();
    expect(chunks.find((chunk) => chunk.id === 'c0')?.doneRoutes).toEqual(['b']);
    await third.close();
  });
});

/** A file system whose handles on `path`s that `skips` matches make `fsync`/`fdatasync` no-ops. */
function skippingFsync(skips: (path: string) => boolean): FsWrap {
  return (fs) => ({
    ...fs,
    open: async (path, flags, mode) => {
      const file = await fs.open(path, flags, mode);
      if (!skips(path)) return file;
      const skipped: StorageFile = {
        ...file,
        datasync: () => Promise.resolve(),
        sync: () => Promise.resolve(),
      };
      return skipped;
    },
  });
}

// The model is only worth something if it catches a storage that breaks durability: the real
// storage on a file system that drops one kind of fsync, checked by a correct storage reopening.
describe('the crash-point model catches (controls)', () => {
  const caught = async (fsync: FsyncPolicy, wrap: FsWrap): Promise<string> => {
    const result = await fc.check(
      fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: 24 }), async (commands) => {
        await crashEverywhere(fsync, 400, commands, wrap);
      }),
      { numRuns: 200, seed: 17 },
    );
    expect(result.failed).toBe(true);
    return String((result.errorInstance as Error | undefined)?.message);
  };

  test("a storage that skips the fsync of its segment files ('always')", async () => {
    const message = await caught(
      'always',
      skippingFsync((path) => path.endsWith('.seg')),
    );
    expect(message).toMatch(
      /power crash after step \d+ \(always\):\n.*promised and not finished, but not pending exactly once/,
    );
  });

  test("a storage that forgets the fsync of the segments folder ('batch')", async () => {
    const message = await caught(
      'batch',
      skippingFsync((path) => path === `${DIR}/segments`),
    );
    expect(message).toMatch(
      /power crash after step \d+ \(batch\):\n.*promised and not finished, but not pending exactly once/,
    );
  });
});
