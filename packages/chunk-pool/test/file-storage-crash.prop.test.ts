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
 * CRASH_MODEL_RUNS (default 20) sets the number of sequences; CRASH_MODEL_SEED replays one.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { fileStorageOn, type FsyncPolicy } from '../src/storage/file-storage.js';
import type { StorageFile, StorageFileSystem } from '../src/storage/fs.js';
import { decodeSegment, FrameKind, parseRecords } from '../src/storage/segment-format.js';
import type { ChunkHeader, ChunkStorage } from '../src/storage/storage.js';
import { ModelDisk, type CrashKind } from './fs-model.js';

const DIR = '/srv/agent/buffer';
const ROUTES = ['a', 'b'] as const;
type Route = (typeof ROUTES)[number];

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

/** A point in the run: the model's step count then, and the order of events at one step. */
interface Moment {
  readonly step: number;
  readonly seq: number;
}

interface RecordEntry {
  readonly name: string;
  readonly chunk: string;
  readonly index: number;
  /** When its `append` was called, and when it resolved. */
  issued?: Moment;
  resolved?: Moment;
  /** A power loss of the run itself left it on disk: durable from then on. */
  kept?: Moment;
}

/** How a route of a chunk was finished: a done mark, or the chunk's deletion (its last route). */
interface Finish {
  readonly chunk: string;
  readonly route: Route;
  readonly dead: boolean;
  readonly deletion: boolean;
  issued?: Moment;
  resolved?: Moment;
  /** A power loss of the run itself kept it (the route stayed done): durable from then on. */
  kept?: Moment;
}

interface Sync {
  readonly called: Moment;
  resolved?: Moment;
}

interface LiveChunk {
  readonly header: ChunkHeader;
  readonly names: string[];
  /** Records appended and not yet written (`'batch'`/`'never'` write a chunk at seal). */
  unwritten: string[];
  sealed: boolean;
  readonly pending: Set<Route>;
  chain: Promise<void>;
}

/** What the calls of one run promised, and when. */
class Ledger {
  readonly records = new Map<string, RecordEntry>();
  readonly headers = new Map<string, ChunkHeader>();
  readonly finishes: Finish[] = [];
  readonly syncs: Sync[] = [];
  /** When a dead letter was first written for `chunk/route` (it may outlive an undone finish). */
  readonly letters = new Map<string, Moment>();
  #seq = 0;

  constructor(
    readonly disk: ModelDisk,
    readonly fsync: FsyncPolicy,
  ) {}

  /**
   * The run itself crashed (`kind`) and a new one recovered `chunks`: what the crash took is
   * forgotten (were it promised, the check of that crash point has already said so), what a
   * power loss left is durable from now on, and finishes it undid can be done again.
   */
  recovered(kind: CrashKind, chunks: ReadonlyMap<string, LiveChunk>): void {
    const now = this.now();
    const held = new Set([...chunks.values()].flatMap((chunk) => chunk.names));
    // After a kill -9 the page cache still holds what was written and not synced: a later power
    // loss may yet take it, or bring back what was deleted, so nothing is forgotten or kept.
    if (kind === 'process') {
      for (let i = this.finishes.length - 1; i >= 0; i--) {
        const finish = this.finishes[i] as Finish;
        if (chunks.get(finish.chunk)?.pending.has(finish.route) === true)
          this.finishes.splice(i, 1);
      }
      return;
    }
    for (const [name, entry] of this.records) {
      if (held.has(name)) entry.kept = now;
      else this.records.delete(name);
    }
    for (let i = this.finishes.length - 1; i >= 0; i--) {
      const finish = this.finishes[i] as Finish;
      if (chunks.get(finish.chunk)?.pending.has(finish.route) === true) {
        this.finishes.splice(i, 1);
      } else {
        finish.kept = now;
      }
    }
  }

  now(): Moment {
    return { step: this.disk.steps, seq: ++this.#seq };
  }

  /** Whether a `sync()`/`close()` called after `moment` had resolved by step `k`. */
  covered(moment: Moment | undefined, k: number): boolean {
    if (moment === undefined || this.fsync === 'never') return false;
    return this.syncs.some(
      (sync) =>
        sync.called.seq > moment.seq && sync.resolved !== undefined && sync.resolved.step <= k,
    );
  }

  recordPromised(entry: RecordEntry, k: number, kind: CrashKind): boolean {
    if (entry.kept !== undefined && entry.kept.step <= k) return true;
    const done = entry.resolved !== undefined && entry.resolved.step <= k;
    if (kind === 'process' || this.fsync === 'always') return done;
    return this.covered(entry.resolved, k);
  }

  finishPromised(finish: Finish, k: number, kind: CrashKind): boolean {
    if (finish.kept !== undefined && finish.kept.step <= k) return true;
    const done = finish.resolved !== undefined && finish.resolved.step <= k;
    if (kind === 'process' || (this.fsync === 'always' && !finish.deletion)) return done;
    return this.covered(finish.resolved, k);
  }
}

const startedBy = (moment: Moment | undefined, k: number): boolean =>
  moment !== undefined && moment.step < k;

/** What the storage under test sees of the model (the controls break it). */
type FsWrap = (fs: StorageFileSystem) => StorageFileSystem;

/** A crash image: the disk a crash right after step `k` leaves (all kinds derive from it). */
interface Image {
  readonly k: number;
  readonly disk: ModelDisk;
}

/** What a crash of `kind` after step `k` writes of each file's unsynced tail (`'torn'`). */
const tearAt =
  (k: number) =>
  (path: string): number =>
    ((k * 31 + path.length * 7) % 11) / 10;

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

/** What a reopened storage holds: per route, how often each record is pending or dead-lettered. */
interface Found {
  readonly pending: Map<Route, Map<string, number>>;
  readonly deadLetters: Map<Route, Map<string, number>>;
  readonly problems: string[];
}

const count = (counts: Map<string, number>, name: string): void => {
  counts.set(name, (counts.get(name) ?? 0) + 1);
};

async function recover(
  ledger: Ledger,
  disk: ModelDisk,
  fsync: FsyncPolicy,
  segmentBytes: number,
  k: number,
): Promise<Found> {
  const found: Found = {
    pending: new Map(ROUTES.map((r) => [r, new Map()])),
    deadLetters: new Map(ROUTES.map((r) => [r, new Map()])),
    problems: [],
  };
  const storage = fileStorageOn(disk.view(), { dir: DIR, fsync, segmentBytes });
  let scan;
  try {
    scan = await storage.open({ recordBytes: Number.MAX_SAFE_INTEGER });
  } catch (error) {
    found.problems.push(`reopening failed: ${String(error)}`);
    return found;
  }
  try {
    for (const chunk of scan.chunks) {
      const header = ledger.headers.get(chunk.id);
      if (
        header === undefined ||
        header.tag !== chunk.tag ||
        header.routes.join() !== chunk.routes.join()
      ) {
        found.problems.push(
          `recovered chunk ${chunk.id} (${chunk.tag} → ${chunk.routes.join()}) was never appended so`,
        );
        continue;
      }
      const names = (chunk.records ?? (await storage.read(chunk.id))).map(String);
      let last = -1;
      for (const name of names) {
        const entry = ledger.records.get(name);
        if (entry?.chunk !== chunk.id || !startedBy(entry.issued, k + 1)) {
          found.problems.push(`chunk ${chunk.id} holds ${name}, never appended to it`);
        } else if (entry.index < last) {
          found.problems.push(`chunk ${chunk.id} holds ${name} out of order`);
        }
        last = Math.max(last, entry?.index ?? last);
        for (const r of chunk.routes as Route[]) {
          if (!chunk.doneRoutes.includes(r))
            count(found.pending.get(r) as Map<string, number>, name);
        }
      }
    }
  } finally {
    await storage.close();
  }
  for (const r of ROUTES) {
    const folder = `${DIR}/rejected/${r}`;
    for (const file of disk.list(folder).filter((name) => name.endsWith('.seg'))) {
      for (const frame of decodeSegment(disk.read(`${folder}/${file}`)).frames) {
        if (frame.kind !== FrameKind.Records) continue;
        for (const record of parseRecords(frame)?.records ?? []) {
          count(found.deadLetters.get(r) as Map<string, number>, String(record));
        }
      }
    }
  }
  return found;
}

/** The problems of the disk a crash of `kind` after step `k` leaves. */
async function checkCrash(
  ledger: Ledger,
  image: ModelDisk,
  k: number,
  kind: CrashKind,
  segmentBytes: number,
): Promise<string[]> {
  const found = await recover(
    ledger,
    image.afterCrash(kind, tearAt(k)),
    ledger.fsync,
    segmentBytes,
    k,
  );
  const problems = found.problems;
  for (const entry of ledger.records.values()) {
    const header = ledger.headers.get(entry.chunk) as ChunkHeader;
    for (const r of header.routes as Route[]) {
      const pending = found.pending.get(r)?.get(entry.name) ?? 0;
      const dead = found.deadLetters.get(r)?.get(entry.name) ?? 0;
      const finish = ledger.finishes.find((f) => f.chunk === entry.chunk && f.route === r);
      const finishing = finish !== undefined && startedBy(finish.issued, k);
      const say = (what: string): void => {
        problems.push(
          `${entry.name} (chunk ${entry.chunk}) for ${r}: ${what} (pending ${pending}, dead letters ${dead})`,
        );
      };
      if (pending > 1) say('pending more than once');
      if (dead > 1) say('in more than one dead letter');
      if (dead > 0 && !startedBy(ledger.letters.get(`${entry.chunk}/${r}`), k)) {
        say('in a dead letter never written');
      }
      if (!ledger.recordPromised(entry, k, kind)) continue;
      if (!finishing) {
        if (pending !== 1) say('promised and not finished, but not pending exactly once');
      } else if (ledger.finishPromised(finish, k, kind)) {
        if (pending !== 0)
          say(`its ${finish.dead ? 'dead letter' : 'ack'} was promised, yet it is pending again`);
        if (finish.dead && dead !== 1)
          say('its dead letter was promised, but the record is not in it');
      } else if (finish.dead && pending + dead === 0) {
        say('lost between its dead letter and its done mark');
      }
    }
  }
  return problems;
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
