/**
 * The ledger of the crash-point model test (file-storage-crash.prop.test.ts): what the storage
 * calls of one run promised and when, and the check of the disk a crash leaves against it (the
 * contract is stated at the top of the test).
 *
 * @module
 */
import type { FsyncPolicy } from '../src/storage/file-storage.js';
import { fileStorageOn } from '../src/storage/file-storage.js';
import { decodeSegment, FrameKind, parseRecords } from '../src/storage/segment-format.js';
import type { ChunkHeader } from '../src/storage/storage.js';
import type { CrashKind, ModelDisk } from './fs-model.js';

export const DIR = '/srv/agent/buffer';
export const ROUTES = ['a', 'b'] as const;
export type Route = (typeof ROUTES)[number];

/** A point in the run: the model's step count then, and the order of events at one step. */
export interface Moment {
  readonly step: number;
  readonly seq: number;
}

export interface RecordEntry {
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
export interface Finish {
  readonly chunk: string;
  readonly route: Route;
  readonly dead: boolean;
  readonly deletion: boolean;
  issued?: Moment;
  resolved?: Moment;
  /** A power loss of the run itself kept it (the route stayed done): durable from then on. */
  kept?: Moment;
}

export interface Sync {
  readonly called: Moment;
  resolved?: Moment;
}

export interface LiveChunk {
  readonly header: ChunkHeader;
  readonly names: string[];
  /** Records appended and not yet written (`'batch'`/`'never'` write a chunk at seal). */
  unwritten: string[];
  sealed: boolean;
  readonly pending: Set<Route>;
  chain: Promise<void>;
}

/** What the calls of one run promised, and when. */
export class Ledger {
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

export const startedBy = (moment: Moment | undefined, k: number): boolean =>
  moment !== undefined && moment.step < k;

/** What a crash of `kind` after step `k` writes of each file's unsynced tail (`'torn'`). */
export const tearAt =
  (k: number) =>
  (path: string): number =>
    ((k * 31 + path.length * 7) % 11) / 10;

/** What a reopened storage holds: per route, how often each record is pending or dead-lettered. */
export interface Found {
  readonly pending: Map<Route, Map<string, number>>;
  readonly deadLetters: Map<Route, Map<string, number>>;
  readonly problems: string[];
}

export const count = (counts: Map<string, number>, name: string): void => {
  counts.set(name, (counts.get(name) ?? 0) + 1);
};

export async function recover(
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
export async function checkCrash(
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
