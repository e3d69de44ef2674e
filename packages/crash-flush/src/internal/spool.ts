/**
 * The spool: reports that could not be delivered, one file each, sent at the next start. The
 * guard and the supervisor share it (and may share one folder).
 *
 * Invariants: an entry is written whole or not at all (a `.tmp` file renamed into place); the
 * folder holds at most `maxReports` entries and `maxBytes` of them (the oldest are evicted, and
 * counted, to make room); a file read back that is not a report costs only itself — it is moved
 * to `rejected/` next to a `.reason` file, and counted; resending is asynchronous, oldest first,
 * `concurrency` entries at a time, each read only when its turn comes (memory: `concurrency`
 * entries, whatever the spool holds).
 */
import { mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { CrashReport } from '../report.js';
import { asReport } from './report-shape.js';

/** Bounds of a spool folder. */
export interface SpoolLimits {
  readonly maxReports: number;
  readonly maxBytes: number;
}

/** What the spool counts (the guard's stats and the supervisor's share these fields). */
export interface SpoolCounts {
  spooled: number;
  recovered: number;
  evicted: number;
  rejected: number;
  lost: number;
}

/** `<time>-<id>-<bytes>b.json`; entries from before ids were `<time>-<pid>-<fingerprint>.json`. */
const ENTRY_NAME = /^(\d{1,16})-([\w-]{1,80}?)(?:-(\d{1,12})b)?\.json$/;
/** Where rejected entries go, with their reasons. */
export const REJECTED_FOLDER = 'rejected';
/** Rejected entries kept (the oldest are removed): the folder a human reads stays small. */
const MAX_REJECTED = 100;
/** A `.tmp` file older than this is a torn write of a dead process, not one being written now. */
const TORN_AFTER_MS = 60_000;

interface Entry {
  readonly name: string;
  readonly time: number;
  bytes: number | undefined;
}

const byAge = (a: Entry, b: Entry) => a.time - b.time || (a.name < b.name ? -1 : 1);

function parseName(name: string): Entry | undefined {
  const match = ENTRY_NAME.exec(name);
  if (match === null) return undefined;
  return {
    name,
    time: Number(match[1]),
    bytes: match[3] === undefined ? undefined : Number(match[3]),
  };
}

const safeId = (id: string) => (/^[\w-]{1,64}$/.test(id) ? id : 'x');

export class Spool {
  constructor(
    readonly dir: string,
    readonly limits: SpoolLimits,
    readonly counts: SpoolCounts,
  ) {}

  /**
   * Writes a report synchronously (crash time), evicting the oldest entries to stay within the
   * limits. Never throws: a failing disk counts the report `lost`.
   */
  write(report: CrashReport): boolean {
    try {
      const body = JSON.stringify(report);
      const bytes = Buffer.byteLength(body);
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      this.#makeRoomSync(bytes);
      const name = `${report.time}-${safeId(report.id)}-${bytes}b.json`;
      const path = join(this.dir, name);
      writeFileSync(`${path}.tmp`, body, { mode: 0o600 });
      renameSync(`${path}.tmp`, path);
      this.counts.spooled += 1;
      return true;
    } catch {
      this.counts.lost += 1;
      return false;
    }
  }

  /**
   * What the folder holds now: reports waiting to be sent and their bytes (from the entry names;
   * an old-style name is stat'ed). One `readdirSync` of a folder bounded by `maxSpooledReports`;
   * a folder that cannot be read holds nothing.
   */
  sizeSync(): { reports: number; bytes: number } {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return { reports: 0, bytes: 0 };
    }
    let reports = 0;
    let bytes = 0;
    for (const name of names) {
      const entry = parseName(name);
      if (entry === undefined) continue;
      reports += 1;
      bytes += entry.bytes ?? sizeSync(join(this.dir, name));
    }
    return { reports, bytes };
  }

  #makeRoomSync(bytes: number): void {
    const entries: Entry[] = [];
    for (const name of readdirSync(this.dir)) {
      const entry = parseName(name);
      if (entry === undefined) continue;
      entry.bytes ??= sizeSync(join(this.dir, name));
      entries.push(entry);
    }
    entries.sort(byAge);
    let total = entries.reduce((sum, e) => sum + (e.bytes ?? 0), 0);
    let count = entries.length;
    for (const oldest of entries) {
      if (count + 1 <= this.limits.maxReports && total + bytes <= this.limits.maxBytes) break;
      rmSync(join(this.dir, oldest.name), { force: true });
      this.counts.evicted += 1;
      count -= 1;
      total -= oldest.bytes ?? 0;
    }
  }

  /**
   * Sends what the folder holds, oldest first, `concurrency` at a time; deletes what was
   * delivered. Stops when `stopped()` says so, or after `concurrency` failures in a row (the
   * sink is down: the rest waits for the next start). Never rejects.
   */
  async resend(
    send: (report: CrashReport) => Promise<void>,
    options: { concurrency: number; maxEntryBytes: number; stopped: () => boolean },
  ): Promise<void> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return; // no folder yet: nothing spooled
    }
    const entries: Entry[] = [];
    for (const name of names) {
      if (name.endsWith('.json')) {
        const entry = parseName(name);
        if (entry === undefined) await this.#reject(name, 'not a spool entry name');
        else entries.push(entry);
      } else if (name.endsWith('.json.tmp')) {
        const since = await stat(join(this.dir, name)).then(
          (s) => Date.now() - s.mtimeMs,
          () => 0,
        );
        if (since > TORN_AFTER_MS) await this.#reject(name, 'a torn write (never completed)');
      }
    }
    for (const entry of entries)
      entry.bytes ??= await stat(join(this.dir, entry.name)).then(
        (s) => s.size,
        () => 0,
      );
    entries.sort(byAge);
    await this.#evictBeyondLimits(entries);

    let next = 0;
    let failuresInARow = 0;
    // Sends start strictly oldest first: each waits for the previous entry's turn (its send
    // started, or it was settled without one), whichever lane read it first.
    let previousTurn: Promise<void> = Promise.resolve();
    const lane = async () => {
      while (!options.stopped() && failuresInARow < options.concurrency && next < entries.length) {
        const entry = entries[next]!;
        next += 1;
        const myTurn = previousTurn;
        let endTurn!: () => void;
        previousTurn = new Promise<void>((resolve) => (endTurn = resolve));
        const settled = await this.#resendOne(entry, send, options.maxEntryBytes, myTurn, endTurn);
        if (settled) failuresInARow = 0;
        else failuresInARow += 1;
      }
    };
    await Promise.all(Array.from({ length: options.concurrency }, lane));
  }

  async #evictBeyondLimits(entries: Entry[]): Promise<void> {
    let total = entries.reduce((sum, e) => sum + (e.bytes ?? 0), 0);
    while (
      entries.length > 0 &&
      (entries.length > this.limits.maxReports || total > this.limits.maxBytes)
    ) {
      const oldest = entries.shift()!;
      await rm(join(this.dir, oldest.name), { force: true }).catch(() => undefined);
      this.counts.evicted += 1;
      total -= oldest.bytes ?? 0;
    }
  }

  /** True when the entry is settled (delivered, rejected or gone); false when the send failed. */
  async #resendOne(
    entry: Entry,
    send: (report: CrashReport) => Promise<void>,
    maxEntryBytes: number,
    myTurn: Promise<void>,
    endTurn: () => void,
  ): Promise<boolean> {
    try {
      return await this.#readAndSend(entry, send, maxEntryBytes, async () => {
        await myTurn;
        endTurn();
      });
    } finally {
      // Settled without a send (rejected, gone): the next entry's turn, once this one's came.
      myTurn.then(endTurn, endTurn);
    }
  }

  async #readAndSend(
    entry: Entry,
    send: (report: CrashReport) => Promise<void>,
    maxEntryBytes: number,
    waitTurn: () => Promise<void>,
  ): Promise<boolean> {
    const path = join(this.dir, entry.name);
    if ((entry.bytes ?? 0) > maxEntryBytes) {
      await this.#reject(entry.name, `larger than ${maxEntryBytes} bytes (${entry.bytes} bytes)`);
      return true;
    }
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch {
      return true; // gone: another process of this folder took it
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text) as unknown;
    } catch (error) {
      await this.#reject(entry.name, `not JSON: ${(error as Error).message}`);
      return true;
    }
    const report = asReport(parsed, entry.name.replace(/\.json$/, ''));
    if (typeof report === 'string') {
      await this.#reject(entry.name, report);
      return true;
    }
    await waitTurn();
    try {
      await send(report);
    } catch {
      return false; // stays spooled for the next start (the failure is counted by `send`)
    }
    await rm(path, { force: true }).catch(() => undefined);
    this.counts.recovered += 1;
    return true;
  }

  /** Moves an entry aside to `rejected/`, with a `.reason` file; the folder keeps the newest. */
  #reject(name: string, reason: string): Promise<void> {
    return this.reject(join(this.dir, name), reason);
  }

  /**
   * Moves a file of this folder (or of a folder inside it: a watch marker) to `rejected/`, with a
   * `.reason` file, and counts it; the folder keeps the newest. Never rejects.
   */
  async reject(path: string, reason: string): Promise<void> {
    this.counts.rejected += 1;
    const folder = join(this.dir, REJECTED_FOLDER);
    const name = basename(path);
    try {
      await mkdir(folder, { recursive: true, mode: 0o700 });
      await rename(path, join(folder, name));
      await writeFile(join(folder, `${name}.reason`), `${reason}\n`, { mode: 0o600 });
      const kept = (await readdir(folder)).filter((n) => !n.endsWith('.reason')).sort();
      for (const old of kept.slice(0, Math.max(0, kept.length - MAX_REJECTED))) {
        await rm(join(folder, old), { force: true });
        await rm(join(folder, `${old}.reason`), { force: true });
      }
    } catch {
      // Cannot move it aside (read-only folder): remove it, so it costs no later start either.
      await rm(path, { force: true }).catch(() => undefined);
    }
  }
}

function sizeSync(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}
