/**
 * The file-system calls file storage makes, as one seam: the real `node:fs/promises` in use, a
 * model in the crash-point test (test/file-storage-crash.prop.test.ts), which keeps what is
 * durable apart from what a power loss takes. Internal: not exported from the package.
 *
 * @module
 */
import {
  link,
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  writeFile,
} from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

/** An open file (a folder too, opened `'r'` to fsync it): the `FileHandle` methods used. */
export interface StorageFile {
  write(
    buffer: Buffer,
    offset: number,
    length: number,
    position: number,
  ): Promise<{ bytesWritten: number }>;
  writev(buffers: readonly Buffer[], position: number): Promise<{ bytesWritten: number }>;
  read(
    buffer: Buffer,
    offset: number,
    length: number,
    position: number,
  ): Promise<{ bytesRead: number }>;
  /** Writes the whole file from its start (after an `open(path, 'w')`). */
  writeFile(data: Buffer): Promise<void>;
  datasync(): Promise<void>;
  sync(): Promise<void>;
  truncate(length: number): Promise<void>;
  stat(): Promise<{ nlink: number }>;
  utimes(atime: Date, mtime: Date): Promise<void>;
  close(): Promise<void>;
}

/** The `node:fs/promises` functions used. */
export interface StorageFileSystem {
  /** Resolves with the first folder it created (`undefined`: there was nothing to create). */
  mkdir(path: string, options: { recursive: true; mode: number }): Promise<string | undefined>;
  /** `flags`: `'r'`, `'r+'`, `'w'`, or `O_*` constants. */
  open(path: string, flags: string | number, mode?: number): Promise<StorageFile>;
  readdir(path: string): Promise<string[]>;
  readFile(path: string): Promise<Buffer>;
  rename(from: string, to: string): Promise<void>;
  rm(path: string, options: { force: true }): Promise<void>;
  link(existing: string, newPath: string): Promise<void>;
  stat(path: string): Promise<{ mtimeMs: number }>;
  /** `flush`: fsynced before it resolves. */
  writeFile(path: string, data: string, options: { mode: number; flush: boolean }): Promise<void>;
}

/** The real file system. */
export const nodeFileSystem: StorageFileSystem = {
  mkdir: (path, options) => mkdir(path, options),
  open: (path, flags, mode) => open(path, flags, mode),
  readdir: (path) => readdir(path),
  readFile: (path) => readFile(path),
  rename: (from, to) => rename(from, to),
  rm: (path, options) => rm(path, options),
  link: (existing, newPath) => link(existing, newPath),
  stat: (path) => stat(path),
  writeFile: (path, data, options) => writeFile(path, data, options),
};

/**
 * Fsyncs a folder, which makes the names in it durable (a file's own fsync does not: a file whose
 * name a power loss takes is lost with its data). A no-op on Windows, which cannot open a folder
 * to fsync it (and whose file system journals names itself).
 */
export async function syncFolder(fs: StorageFileSystem, path: string): Promise<void> {
  if (process.platform === 'win32') return;
  const handle = await fs.open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * `mkdir -p` whose result survives a power loss: the folder holding each created folder's name
 * is fsynced (from the first folder created down to `path`'s parent).
 */
export async function makeFolder(fs: StorageFileSystem, path: string, mode: number): Promise<void> {
  const first = await fs.mkdir(path, { recursive: true, mode });
  if (first === undefined) return;
  const top = resolve(first);
  for (let folder = resolve(path); dirname(folder) !== folder; folder = dirname(folder)) {
    await syncFolder(fs, dirname(folder));
    if (folder === top) break;
  }
}
