/**
 * The watch marker: while a child runs, the supervisor keeps a small file in
 * `spoolDir/running/` saying which child it watches. Its exit removes it. When the child and the
 * supervisor die together (a SIGKILL of the process group, a cgroup OOM kill of the whole group,
 * a lost node), nobody is left to report — but the marker is, and the next supervisor of the same
 * spool turns it into a report: the death is never silent. When only the supervisor died, the
 * report says so: the child still runs, unsupervised (told by its pid and start time).
 *
 * Invariants: a marker is written whole (a `.tmp` renamed into place); its name carries the
 * supervisor's pid and start time (`/proc/<pid>/stat`), so a marker of a supervisor still running
 * (another one sharing the folder) is never taken; its mtime is refreshed while the child runs, so
 * the child's uptime is known to within {@link TOUCH_EVERY_MS}. The folder has no `.json` suffix:
 * the spool's own reader never sees it.
 */
import { readFileSync, renameSync, rmSync, utimesSync, mkdirSync, writeFileSync } from 'node:fs';
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** The folder of the markers, inside the spool folder. */
const RUNNING_FOLDER = 'running';
/** How often the marker of a running child is touched, in ms. */
export const TOUCH_EVERY_MS = 1_000;

/** What the supervisor knew of the child it was watching. */
export interface WatchFacts {
  readonly service: string;
  readonly metadata: Readonly<Record<string, string | number | boolean>>;
  readonly supervisorPid: number;
  readonly childPid: number;
  /** Milliseconds since the epoch. */
  readonly startedAt: number;
  readonly restarts: number;
  readonly command: string;
  /**
   * The child's start time in clock ticks (/proc), written by the marker: with the pid, it tells
   * the child itself from a later process that reuses its pid. Absent in markers of older versions.
   */
  readonly childStartTicks?: string;
}

/** A marker whose supervisor is gone: the facts, and when the child was last seen alive. */
export interface LostChild {
  readonly facts: WatchFacts;
  /** Milliseconds since the epoch (the marker's last touch). */
  readonly lastSeenAt: number;
  /**
   * The child itself still runs (its pid and start time match): only the supervisor died, and the
   * child is no longer supervised. `false`: it died with its supervisor (or cannot be told).
   */
  readonly childRunning: boolean;
}

/**
 * The start time of a live process in clock ticks since boot (field 22 of /proc/<pid>/stat);
 * undefined when it is gone or a zombie (dead, not yet reaped).
 */
function startTicks(pid: number | 'self'): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[0] === 'Z' || fields[0] === 'X' ? undefined : fields[19];
  } catch {
    return undefined;
  }
}

const MARKER_NAME = /^(\d{1,10})-(\d{1,20})-(\d{1,10})\.json$/;

/** The marker of one running child. Every method is synchronous and never throws. */
export class WatchMarker {
  readonly #path: string;
  constructor(spoolDir: string, facts: WatchFacts) {
    const folder = join(spoolDir, RUNNING_FOLDER);
    this.#path = join(
      folder,
      `${facts.supervisorPid}-${startTicks('self') ?? 0}-${facts.childPid}.json`,
    );
    try {
      mkdirSync(folder, { recursive: true, mode: 0o700 });
      const childStartTicks = startTicks(facts.childPid);
      writeFileSync(`${this.#path}.tmp`, JSON.stringify({ ...facts, childStartTicks }), {
        mode: 0o600,
      });
      renameSync(`${this.#path}.tmp`, this.#path);
    } catch {
      // A spool that cannot be written costs this safety net, never the child or its exit status.
    }
  }

  touch(): void {
    try {
      const now = new Date();
      utimesSync(this.#path, now, now);
    } catch {
      // as above
    }
  }

  remove(): void {
    try {
      rmSync(this.#path, { force: true });
    } catch {
      // as above (a spool path under a file: ENOTDIR)
    }
  }
}

const isFacts = (v: unknown): v is WatchFacts => {
  const f = v as Partial<WatchFacts> | null;
  return (
    typeof f === 'object' &&
    f !== null &&
    typeof f.service === 'string' &&
    f.service !== '' &&
    typeof f.metadata === 'object' &&
    f.metadata !== null &&
    Object.values(f.metadata).every((m) => ['string', 'number', 'boolean'].includes(typeof m)) &&
    [f.supervisorPid, f.childPid, f.startedAt, f.restarts].every(Number.isSafeInteger) &&
    typeof f.command === 'string' &&
    (f.childStartTicks === undefined || typeof f.childStartTicks === 'string')
  );
};

/**
 * Takes the markers of supervisors that are gone (removes them) and returns what they knew. A
 * marker that cannot be read back as one costs only itself: it is handed to `reject` with the
 * reason (the spool moves it aside and counts it).
 */
export async function takeLost(
  spoolDir: string,
  reject: (path: string, reason: string) => Promise<void>,
): Promise<LostChild[]> {
  const folder = join(spoolDir, RUNNING_FOLDER);
  let names: string[];
  try {
    names = await readdir(folder);
  } catch {
    return []; // no folder: nothing was ever watched here
  }
  const lost: LostChild[] = [];
  for (const name of names) {
    const match = MARKER_NAME.exec(name);
    if (match === null) continue; // a `.tmp` being written, or not ours
    const [, pid, ticks] = match;
    if (startTicks(Number(pid)) === ticks) continue; // its supervisor still runs
    const path = join(folder, name);
    try {
      const [text, info] = await Promise.all([readFile(path, 'utf8'), stat(path)]);
      const facts = JSON.parse(text) as unknown;
      if (!isFacts(facts)) {
        await reject(path, 'not a watch marker (a field is missing or of the wrong type)');
        continue;
      }
      const childRunning =
        facts.childStartTicks !== undefined && startTicks(facts.childPid) === facts.childStartTicks;
      lost.push({ facts, lastSeenAt: Math.round(info.mtimeMs), childRunning });
      await rm(path, { force: true });
    } catch (error) {
      await reject(path, `not a watch marker: ${(error as Error).message}`);
    }
  }
  return lost;
}
