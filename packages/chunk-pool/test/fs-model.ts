/**
 * A model file system for crash-point tests, after Vector's disk buffer model
 * (`lib/vector-buffers/src/variants/disk_v2/tests/model/filesystem.rs`): it keeps what a power
 * loss spares apart from what it takes, in the strict POSIX reading.
 *
 * - A file's bytes are *volatile* until `fsync`/`fdatasync` of a handle on it copies them to its
 *   *durable* bytes (writes, truncations, `writeFile` alike).
 * - A folder's entries are volatile too: a create, `link`, `rename` or unlink changes the current
 *   entries only; `fsync` of a handle on the folder copies them to its durable entries. A file
 *   whose name is not durable is lost with its bytes, however often it was fsynced.
 *
 * Every call that changes anything is one *step*; `onStep` sees the disk after each, so a test
 * can take the state a crash at that point would leave ({@link ModelDisk.afterCrash}).
 * {@link ModelDisk.view} is what one process sees (file storage's `StorageFileSystem`).
 *
 * Over 300 lines: one class whose calls and crash images share one inode tree.
 */
import type { StorageFile, StorageFileSystem } from '../src/storage/fs.js';

const O_WRONLY = 1;
const O_RDWR = 2;
const O_CREAT = 64;
const O_EXCL = 128;
const O_TRUNC = 512;

interface Inode {
  readonly kind: 'file' | 'folder';
  /** Files: what reads see now, and what survives a power loss. */
  data: Buffer;
  durable: Buffer;
  /** Folders: entries now, and the entries a power loss leaves. */
  entries: Map<string, Inode>;
  durableEntries: Map<string, Inode>;
  /** Current entries naming it (its `nlink`). */
  links: number;
}

/** How a crash treats what was not made durable. */
export type CrashKind =
  /** Power loss: every volatile byte and folder entry is gone. */
  | 'power'
  /** Power loss that had written part of each file's unsynced tail (a torn write). */
  | 'torn'
  /** The process died (kill -9): the kernel keeps everything written. */
  | 'process';

function newInode(kind: Inode['kind']): Inode {
  return {
    kind,
    data: Buffer.alloc(0),
    durable: Buffer.alloc(0),
    entries: new Map(),
    durableEntries: new Map(),
    links: 0,
  };
}

function fsError(code: string, call: string, path: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: ${call} '${path}' (model file system)`), {
    code,
    syscall: call,
    path,
  });
}

export class ModelDisk {
  #root: Inode;
  /** Bumped by a crash: calls of the views of earlier ones fail (their process is dead). */
  #generation = 0;
  /** Changing calls made so far. */
  steps = 0;
  onStep: ((disk: ModelDisk) => void) | undefined;

  constructor(root: Inode = newInode('folder')) {
    this.#root = root;
  }

  /**
   * The disk a crash right now would leave, as a new disk (nothing volatile left but what
   * `kind` keeps). `tear(path)` is, for `'torn'`, the share (0..1) of a file's unsynced tail that
   * reached the disk.
   */
  afterCrash(kind: CrashKind, tear: (path: string) => number = () => 0.5): ModelDisk {
    const copies = new Map<Inode, Inode>();
    const copy = (inode: Inode, path: string): Inode => {
      const known = copies.get(inode);
      if (known !== undefined) return known;
      const next = newInode(inode.kind);
      copies.set(inode, next);
      if (inode.kind === 'file') {
        next.data = Buffer.from(
          kind === 'process' ? inode.data : survivingBytes(inode, kind, tear(path)),
        );
        next.durable = kind === 'process' ? Buffer.from(inode.durable) : next.data;
      }
      const entries = kind === 'process' ? inode.entries : inode.durableEntries;
      for (const [name, child] of entries) {
        const copied = copy(child, `${path}/${name}`);
        next.entries.set(name, copied);
        copied.links += 1;
      }
      if (kind === 'process') {
        for (const [name, child] of inode.durableEntries) {
          next.durableEntries.set(name, copy(child, `${path}/${name}`));
        }
      } else {
        next.durableEntries = new Map(next.entries);
      }
      return next;
    };
    return new ModelDisk(copy(this.#root, ''));
  }

  /** Crashes in place: the disk becomes {@link afterCrash}'s, and the views taken so far die. */
  crash(kind: CrashKind, tear?: (path: string) => number): void {
    this.#root = this.afterCrash(kind, tear).#root;
    this.#generation += 1;
  }

  /** The files under `folder` now (names), or `[]` if there is no such folder. */
  list(folder: string): string[] {
    const inode = this.#find(folder);
    return inode?.kind === 'folder' ? [...inode.entries.keys()].sort() : [];
  }

  /** A file's bytes now. */
  read(path: string): Buffer {
    const inode = this.#find(path);
    if (inode?.kind !== 'file') throw fsError('ENOENT', 'read', path);
    return Buffer.from(inode.data);
  }

  /** What one process sees: a new object each time (file storage keys per-process state on it). */
  view(): StorageFileSystem {
    const generation = this.#generation;
    const call = <T>(run: () => T): Promise<T> => this.#call(generation, run);
    return {
      mkdir: (path) => call(() => this.#mkdir(path)),
      open: (path, flags) => call(() => this.#open(path, flags, generation)),
      readdir: (path) => call(() => [...this.#folder(path, 'scandir').entries.keys()]),
      readFile: (path) => call(() => Buffer.from(this.#file(path, 'open').data)),
      rename: (from, to) => call(() => this.#rename(from, to)),
      rm: (path) => call(() => this.#rm(path)),
      link: (existing, newPath) => call(() => this.#link(existing, newPath)),
      stat: (path) => call(() => this.#stat(path)),
      writeFile: (path, data, { flush }) =>
        call(() => {
          const inode = this.#create(path, true);
          inode.data = Buffer.from(data);
          this.#step();
          if (flush) this.#sync(inode);
        }),
    };
  }

  /** Runs a call on the next tick (as the thread pool would), rejecting with its error. */
  #call<T>(generation: number, run: () => T): Promise<T> {
    return Promise.resolve().then(() => {
      if (generation !== this.#generation) throw fsError('EIO', 'call', '(the process crashed)');
      return run();
    });
  }

  #step(): void {
    this.steps += 1;
    this.onStep?.(this);
  }

  #find(path: string): Inode | undefined {
    let inode: Inode | undefined = this.#root;
    for (const part of path.split('/').filter((name) => name !== '')) {
      if (inode?.kind !== 'folder') return undefined;
      inode = inode.entries.get(part);
    }
    return inode;
  }

  #parent(path: string, call: string): { folder: Inode; name: string } {
    const at = path.lastIndexOf('/');
    const folder = this.#find(path.slice(0, at));
    if (folder === undefined) throw fsError('ENOENT', call, path);
    if (folder.kind !== 'folder') throw fsError('ENOTDIR', call, path);
    return { folder, name: path.slice(at + 1) };
  }

  #folder(path: string, call: string): Inode {
    const inode = this.#find(path);
    if (inode === undefined) throw fsError('ENOENT', call, path);
    if (inode.kind !== 'folder') throw fsError('ENOTDIR', call, path);
    return inode;
  }

  #file(path: string, call: string): Inode {
    const inode = this.#find(path);
    if (inode === undefined) throw fsError('ENOENT', call, path);
    if (inode.kind !== 'file') throw fsError('EISDIR', call, path);
    return inode;
  }

  #enter(folder: Inode, name: string, inode: Inode): void {
    const old = folder.entries.get(name);
    if (old !== undefined) old.links -= 1;
    folder.entries.set(name, inode);
    inode.links += 1;
  }

  #remove(folder: Inode, name: string): void {
    const old = folder.entries.get(name);
    if (old === undefined) return;
    old.links -= 1;
    folder.entries.delete(name);
  }

  /** `mkdir -p`; resolves with the first folder it created, as Node's does. */
  #mkdir(path: string): string | undefined {
    let inode = this.#root;
    let first: string | undefined;
    let at = '';
    for (const part of path.split('/').filter((name) => name !== '')) {
      at += `/${part}`;
      let next = inode.entries.get(part);
      if (next === undefined) {
        next = newInode('folder');
        this.#enter(inode, part, next);
        first ??= at;
        this.#step();
      } else if (next.kind !== 'folder') {
        throw fsError(part === path.split('/').at(-1) ? 'EEXIST' : 'ENOTDIR', 'mkdir', path);
      }
      inode = next;
    }
    return first;
  }

  #create(path: string, truncate: boolean, exclusive = false): Inode {
    const { folder, name } = this.#parent(path, 'open');
    const found = folder.entries.get(name);
    if (found !== undefined) {
      if (exclusive) throw fsError('EEXIST', 'open', path);
      if (found.kind !== 'file') throw fsError('EISDIR', 'open', path);
      if (truncate && found.data.length > 0) {
        found.data = Buffer.alloc(0);
        this.#step();
      }
      return found;
    }
    const inode = newInode('file');
    this.#enter(folder, name, inode);
    this.#step();
    return inode;
  }

  #open(path: string, flags: string | number, generation: number): StorageFile {
    const bits =
      typeof flags === 'number'
        ? flags
        : ({ r: 0, 'r+': O_RDWR, w: O_WRONLY | O_CREAT | O_TRUNC } as Record<string, number>)[
            flags
          ];
    if (bits === undefined) throw new Error(`model file system: flags ${String(flags)}`);
    let inode: Inode;
    if ((bits & O_CREAT) !== 0) {
      inode = this.#create(path, (bits & O_TRUNC) !== 0, (bits & O_EXCL) !== 0);
    } else {
      const found = this.#find(path);
      if (found === undefined) throw fsError('ENOENT', 'open', path);
      inode = found;
    }
    return this.#handle(inode, generation);
  }

  #handle(inode: Inode, generation: number): StorageFile {
    const call = <T>(run: () => T): Promise<T> => this.#call(generation, run);
    const writeAt = (bytes: Buffer, position: number): number => {
      const end = position + bytes.length;
      if (end > inode.data.length) {
        const grown = Buffer.alloc(end);
        inode.data.copy(grown);
        inode.data = grown;
      } else {
        inode.data = Buffer.from(inode.data);
      }
      bytes.copy(inode.data, position);
      this.#step();
      return bytes.length;
    };
    return {
      write: (buffer, offset, length, position) =>
        call(() => ({
          bytesWritten: writeAt(buffer.subarray(offset, offset + length), position),
        })),
      writev: (buffers, position) =>
        call(() => ({ bytesWritten: writeAt(Buffer.concat(buffers), position) })),
      read: (buffer, offset, length, position) =>
        call(() => ({
          bytesRead: inode.data.copy(
            buffer,
            offset,
            position,
            Math.min(position + length, inode.data.length),
          ),
        })),
      writeFile: (data) =>
        call(() => {
          inode.data = Buffer.from(data);
          this.#step();
        }),
      datasync: () => call(() => this.#sync(inode)),
      sync: () => call(() => this.#sync(inode)),
      truncate: (length) =>
        call(() => {
          inode.data = Buffer.from(inode.data.subarray(0, length));
          this.#step();
        }),
      stat: () => call(() => ({ nlink: inode.links })),
      utimes: () => Promise.resolve(),
      close: () => Promise.resolve(),
    };
  }

  #sync(inode: Inode): void {
    if (inode.kind === 'file') inode.durable = Buffer.from(inode.data);
    else inode.durableEntries = new Map(inode.entries);
    this.#step();
  }

  #rename(from: string, to: string): void {
    const source = this.#parent(from, 'rename');
    const inode = source.folder.entries.get(source.name);
    if (inode === undefined) throw fsError('ENOENT', 'rename', from);
    const target = this.#parent(to, 'rename');
    this.#remove(source.folder, source.name);
    this.#enter(target.folder, target.name, inode);
    this.#step();
  }

  #rm(path: string): void {
    const { folder, name } = this.#parent(path, 'rm');
    const inode = folder.entries.get(name);
    if (inode === undefined) return; // `force: true`
    if (inode.kind === 'folder') throw fsError('EISDIR', 'rm', path);
    this.#remove(folder, name);
    this.#step();
  }

  #link(existing: string, newPath: string): void {
    const inode = this.#file(existing, 'link');
    const { folder, name } = this.#parent(newPath, 'link');
    if (folder.entries.has(name)) throw fsError('EEXIST', 'link', newPath);
    this.#enter(folder, name, inode);
    this.#step();
  }

  #stat(path: string): { mtimeMs: number } {
    if (this.#find(path) === undefined) throw fsError('ENOENT', 'stat', path);
    return { mtimeMs: Date.now() };
  }
}

/**
 * A file's bytes after a power loss: its durable bytes, plus (`'torn'`) the share `tear` of the
 * unsynced bytes appended after them, when the file only grew since its last fsync.
 */
function survivingBytes(inode: Inode, kind: 'power' | 'torn', tear: number): Buffer {
  const { data, durable } = inode;
  const grewOnly = data.length > durable.length && data.subarray(0, durable.length).equals(durable);
  if (kind === 'power' || !grewOnly) return durable;
  return data.subarray(0, durable.length + Math.floor((data.length - durable.length) * tear));
}
