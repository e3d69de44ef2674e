/**
 * One writer per storage folder. Two pools on one folder (a rollout that briefly runs two pods on
 * one volume) would adopt and delete each other's segments, so the second is refused while the
 * first lives; the lock of a process that died (kill -9) is taken over.
 *
 * The lock is a file `lock.<n>` holding its holder (pid, host, boot id, process start time). The
 * holder is the file with the highest `n`. A newcomer that finds it released (empty) or stale
 * creates `lock.<n+1>` with `link()`, which fails if the name exists: of two processes taking
 * over the same stale lock at once, exactly one gets `n+1`, and the other finds a live holder
 * there. The winner then removes the lower-numbered files, which is how a holder that was wrongly
 * judged dead notices it lost the lock ({@link DirLock.check}: its file's link count is 0).
 *
 * Stale means: on this host and boot, the pid is gone or now belongs to a process that started at
 * another time (pid reuse, a container restarted in a new PID namespace); on another host, where
 * no pid can be checked, the holder stopped refreshing the file's mtime for `STALE_MS` (the
 * holder touches it every `REFRESH_MS`). mtimes are wall-clock times: hosts sharing a folder need
 * clocks within `STALE_MS` of each other.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ChunkPoolError } from '../errors.js';
import { nodeFileSystem, type StorageFile, type StorageFileSystem } from './fs.js';

const LOCK_NAME = /^lock\.(\d{1,15})$/;
const STALE_MS = 60_000;
const REFRESH_MS = 10_000;
const ATTEMPTS = 20;
const FILE_MODE = 0o600;

/** What a lock file says about its holder. */
export interface LockHolder {
  readonly pid: number;
  readonly host: string;
  readonly bootId: string | undefined;
  /** The process's start time in clock ticks since boot (Linux), against pid reuse. */
  readonly startTime: string | undefined;
  /** Unique per acquisition. */
  readonly token: string;
}

/**
 * Tokens of the locks this process holds (a second pool in the same process is refused too), per
 * file system: the crash-point test runs each simulated process on a view of its own.
 */
const heldPerFs = new WeakMap<StorageFileSystem, Set<string>>();

function heldOn(fs: StorageFileSystem): Set<string> {
  let held = heldPerFs.get(fs);
  if (held === undefined) heldPerFs.set(fs, (held = new Set()));
  return held;
}

/** A held lock on a folder. */
export class DirLock {
  readonly #path: string;
  readonly #handle: StorageFile;
  readonly #token: string;
  readonly #held: Set<string>;
  readonly #refresh: ReturnType<typeof setInterval>;
  #released = false;

  private constructor(path: string, handle: StorageFile, token: string, held: Set<string>) {
    this.#held = held;
    this.#path = path;
    this.#handle = handle;
    this.#token = token;
    // The heartbeat other hosts judge staleness by; a failure here shows at the next check().
    this.#refresh = setInterval(() => {
      const now = new Date();
      this.#handle.utimes(now, now).catch(() => undefined);
    }, REFRESH_MS);
    this.#refresh.unref();
  }

  /**
   * Takes the lock of `dir`, taking over a stale one.
   *
   * @throws {ChunkPoolError} `STORAGE_LOCKED` naming the live holder.
   */
  static async acquire(dir: string, fs: StorageFileSystem = nodeFileSystem): Promise<DirLock> {
    const me = currentProcess();
    const heldHere = heldOn(fs);
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const current = await highestLock(fs, dir);
      if (current !== undefined) {
        const holder = await readHolder(fs, join(dir, `lock.${current}`));
        if (holder === 'gone') continue; // Taken over and removed meanwhile: look again.
        if (
          holder !== 'released' &&
          (await isAlive(fs, heldHere, holder, join(dir, `lock.${current}`)))
        ) {
          throw new ChunkPoolError(
            'STORAGE_LOCKED',
            `${dir} is in use by process ${holder.pid} on ${holder.host}; one pool per folder ` +
              `(if that process is gone for good, remove ${join(dir, `lock.${current}`)})`,
          );
        }
      }
      const next = (current ?? 0) + 1;
      const path = join(dir, `lock.${next}`);
      // Held from before the link, so a second pool of this process never judges it stale.
      heldHere.add(me.token);
      try {
        if (!(await linkNew(fs, dir, path, me))) {
          heldHere.delete(me.token);
          continue; // Another process got `next` first.
        }
        const lock = new DirLock(path, await fs.open(path, 'r+'), me.token, heldHere);
        await removeLowerLocks(fs, dir, next);
        return lock;
      } catch (error) {
        heldHere.delete(me.token);
        throw error;
      }
    }
    throw new ChunkPoolError('STORAGE_LOCKED', `${dir}: the lock kept changing hands; try again`);
  }

  /**
   * Throws if the lock is no longer this process's: its file was removed (the folder was deleted,
   * or another process took the lock over).
   */
  async check(): Promise<void> {
    const { nlink } = await this.#handle.stat();
    if (nlink === 0) {
      throw new ChunkPoolError(
        'STORAGE_ERROR',
        `the lock file ${this.#path} was removed (the folder was deleted or taken over by ` +
          'another process); this pool no longer owns its storage',
      );
    }
  }

  /** Releases the lock (its file is emptied: "released"). */
  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    clearInterval(this.#refresh);
    this.#held.delete(this.#token);
    try {
      await this.#handle.truncate(0);
    } finally {
      await this.#handle.close();
    }
  }
}

function currentProcess(): LockHolder {
  return {
    pid: process.pid,
    host: hostname(),
    bootId: readOptional('/proc/sys/kernel/random/boot_id'),
    startTime: processStartTime(process.pid),
    token: randomBytes(8).toString('hex'),
  };
}

async function highestLock(fs: StorageFileSystem, dir: string): Promise<number | undefined> {
  let highest: number | undefined;
  for (const name of await fs.readdir(dir)) {
    const match = LOCK_NAME.exec(name);
    if (match !== null) highest = Math.max(highest ?? 0, Number(match[1]));
  }
  return highest;
}

async function readHolder(
  fs: StorageFileSystem,
  path: string,
): Promise<LockHolder | 'released' | 'gone'> {
  let text: string;
  try {
    text = (await fs.readFile(path)).toString('utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
    throw error;
  }
  if (text === '') return 'released';
  try {
    const value = JSON.parse(text) as Partial<LockHolder>;
    if (typeof value.pid === 'number' && typeof value.host === 'string') {
      return {
        pid: value.pid,
        host: value.host,
        bootId: typeof value.bootId === 'string' ? value.bootId : undefined,
        startTime: typeof value.startTime === 'string' ? value.startTime : undefined,
        token: typeof value.token === 'string' ? value.token : '',
      };
    }
  } catch {
    // Falls through: a lock file that is not ours to read is judged by its mtime alone.
  }
  return {
    pid: -1,
    host: '(unreadable lock file)',
    bootId: undefined,
    startTime: undefined,
    token: '',
  };
}

async function isAlive(
  fs: StorageFileSystem,
  heldHere: ReadonlySet<string>,
  holder: LockHolder,
  path: string,
): Promise<boolean> {
  if (heldHere.has(holder.token)) return true;
  const me = currentProcess();
  if (holder.host === me.host && holder.pid > 0) {
    // Rebooted since: every process of that boot is gone.
    if (holder.bootId !== me.bootId) return false;
    // Our own pid but not a lock we hold: a previous life of this process (PID namespaces).
    if (holder.pid === process.pid) return false;
    if (!processExists(holder.pid)) return false;
    const startTime = processStartTime(holder.pid);
    return (
      holder.startTime === undefined || startTime === undefined || startTime === holder.startTime
    );
  }
  let mtimeMs: number;
  try {
    ({ mtimeMs } = await fs.stat(path));
  } catch {
    return false;
  }
  return Date.now() - mtimeMs < STALE_MS;
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Field 22 of /proc/<pid>/stat (after the parenthesised command name, which may hold spaces). */
function processStartTime(pid: number): string | undefined {
  const stat = readOptional(`/proc/${pid}/stat`);
  if (stat === undefined) return undefined;
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
}

function readOptional(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** Creates `path` with `holder` in it, whole, only if no such name exists. */
async function linkNew(
  fs: StorageFileSystem,
  dir: string,
  path: string,
  holder: LockHolder,
): Promise<boolean> {
  const draft = join(dir, `lock-draft.${holder.token}`);
  await fs.writeFile(draft, JSON.stringify(holder), { mode: FILE_MODE, flush: true });
  try {
    await fs.link(draft, path);
    return true;
  } catch (error) {
    const { code } = error as NodeJS.ErrnoException;
    // EEXIST: another process has that name. ENOENT: our draft was cleaned up as a leftover.
    if (code === 'EEXIST' || code === 'ENOENT') return false;
    throw error;
  } finally {
    await fs.rm(draft, { force: true });
  }
}

/** Removes the locks below ours, and drafts that a crash left behind (older than STALE_MS). */
async function removeLowerLocks(fs: StorageFileSystem, dir: string, held: number): Promise<void> {
  for (const name of await fs.readdir(dir)) {
    const path = join(dir, name);
    const match = LOCK_NAME.exec(name);
    if (match !== null && Number(match[1]) < held) await fs.rm(path, { force: true });
    if (name.startsWith('lock-draft.')) {
      const { mtimeMs } = await fs.stat(path).catch(() => ({ mtimeMs: Date.now() }));
      if (Date.now() - mtimeMs > STALE_MS) await fs.rm(path, { force: true });
    }
  }
}
