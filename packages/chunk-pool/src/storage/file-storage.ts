/**
 * File storage: one append-only, checksummed file per chunk under `dir/chunks`, dead letters
 * under `dir/rejected/<output>`, damaged files under `dir/quarantine`.
 *
 * @module
 */
import { constants } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import * as zlib from 'node:zlib';
import { ChunkPoolError } from '../errors.js';
import {
  decodeChunkFile,
  encodePreamble,
  encodeRecords,
  encodeRouteDone,
} from './chunk-file-format.js';
import type { ChunkHeader, ChunkStorage, RecoveredChunk, RecoveryScan } from './storage.js';

/** When file storage calls `fsync`. */
export type FsyncPolicy = 'always' | 'batch' | 'never';

/** Options of {@link fileStorage}. */
export interface FileStorageOptions {
  /** The folder that holds the pool's files; created (mode 0700) if missing. */
  readonly dir: string;
  /**
   * - `'always'`: every `append` is written and `fdatasync`ed before it resolves (safest, slowest).
   * - `'batch'` (default): a chunk is written once, when it is sealed; `pool.flush()` and
   *   `pool.close()` fsync everything written since the last flush. Call `flush()` on your own
   *   cadence (every second, every N records) to bound what a power loss can take.
   * - `'never'`: written at seal, never fsynced; survives a process crash, not a power loss.
   */
  readonly fsync?: FsyncPolicy;
}

// Ids come from the pool, but a storage must not trust a name it turns into a path.
const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const CHUNK_SUFFIX = '.chunk';
const FILE_MODE = 0o600;
const DIR_MODE = 0o700;
// Files fsynced at once by `sync()`: enough to keep the thread pool busy (the disk commits
// concurrent fsyncs together), few enough not to run out of file descriptors on a large backlog.
const SYNC_CONCURRENCY = 8;

/** A chunk file still being appended to. */
interface OpenChunkFile {
  readonly handle: FileHandle;
  /** Bytes in the file after its last complete append: a failed write is cut back to this. */
  size: number;
}

/**
 * Keeps chunks in files under `dir`, so a backlog survives restarts and waiting retries leave
 * memory. Each file is checksummed with CRC32 (`zlib.crc32`); files are created with mode 0600.
 *
 * **When to use:** an agent that must not lose buffered data across restarts, or whose backlog
 * during an outage is larger than the memory it may use.
 *
 * @example
 * ```ts
 * const pool = await ChunkPool.open({
 *   outputs: ['otlp'],
 *   storage: fileStorage({ dir: '/var/lib/agent/buffer', fsync: 'batch' }),
 * });
 * ```
 */
export function fileStorage(options: FileStorageOptions): ChunkStorage {
  if (typeof options !== 'object' || options === null || typeof options.dir !== 'string') {
    throw new ChunkPoolError('INVALID_OPTION', 'fileStorage: `dir` must be a folder path (string)');
  }
  const fsync = options.fsync ?? 'batch';
  if (fsync !== 'always' && fsync !== 'batch' && fsync !== 'never') {
    throw new ChunkPoolError(
      'INVALID_OPTION',
      `fileStorage: \`fsync\` must be 'always', 'batch' or 'never', got ${String(fsync)}`,
    );
  }
  if (typeof zlib.crc32 !== 'function') {
    throw new ChunkPoolError(
      'INVALID_OPTION',
      `fileStorage needs zlib.crc32 (Node 20.15 or newer); this is Node ${process.versions.node}`,
    );
  }
  return new FileStorage(options.dir, fsync);
}

class FileStorage implements ChunkStorage {
  readonly persistent = true;
  readonly syncEachAppend: boolean;
  readonly #chunksDir: string;
  readonly #rejectedDir: string;
  readonly #quarantineDir: string;
  readonly #fsync: FsyncPolicy;
  // Chunks still being appended to (with `fsync: 'always'` or before seal).
  readonly #open = new Map<string, OpenChunkFile>();
  // Sealed chunks written since the last flush that still need an fsync (`fsync: 'batch'`).
  readonly #unsynced = new Set<string>();

  constructor(dir: string, fsync: FsyncPolicy) {
    this.#chunksDir = join(dir, 'chunks');
    this.#rejectedDir = join(dir, 'rejected');
    this.#quarantineDir = join(dir, 'quarantine');
    this.#fsync = fsync;
    this.syncEachAppend = fsync === 'always';
  }

  async open(): Promise<RecoveryScan> {
    for (const folder of [this.#chunksDir, this.#rejectedDir, this.#quarantineDir]) {
      await mkdir(folder, { recursive: true, mode: DIR_MODE });
    }
    const names = (await readdir(this.#chunksDir)).filter((name) => name.endsWith(CHUNK_SUFFIX));
    const chunks: RecoveredChunk[] = [];
    let quarantined = 0;
    for (const name of names) {
      const id = name.slice(0, -CHUNK_SUFFIX.length);
      const decoded = decodeChunkFile(await readFile(join(this.#chunksDir, name)));
      if (decoded.damage === undefined && decoded.header !== undefined) {
        chunks.push(recovered(decoded.header, decoded.records, decoded.doneRoutes));
        continue;
      }
      // Damaged: keep what is readable under a new id, then move the file aside.
      if (decoded.header !== undefined && decoded.records.length > 0) {
        const header = { ...decoded.header, id: `${id}-r` };
        // A crash during an earlier recovery may have left a partial copy under this id.
        await rm(this.#chunkPath(header.id), { force: true });
        await this.append(header, decoded.records);
        for (const output of decoded.doneRoutes) await this.markRouteDone(header.id, output);
        await this.seal(header.id);
        chunks.push(recovered(header, decoded.records, decoded.doneRoutes));
      }
      await this.quarantine(id, decoded.damage ?? 'unreadable');
      quarantined += 1;
    }
    chunks.sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1));
    return { chunks, quarantined };
  }

  async append(header: ChunkHeader, records: readonly Buffer[]): Promise<void> {
    let file = this.#open.get(header.id);
    const parts = encodeRecords(records);
    if (file === undefined) {
      const handle = await open(
        this.#chunkPath(header.id),
        constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL,
        FILE_MODE,
      );
      // A new file (O_EXCL): its size is known, so a failed write needs no `stat` to undo.
      file = { handle, size: 0 };
      this.#open.set(header.id, file);
      parts.unshift(encodePreamble(header));
    }
    await this.#write(header.id, file, parts);
    if (this.#fsync === 'always') await file.handle.datasync();
  }

  async seal(id: string): Promise<void> {
    const file = this.#open.get(id);
    if (file === undefined) return;
    this.#open.delete(id);
    await file.handle.close();
    if (this.#fsync === 'batch') this.#unsynced.add(id);
  }

  /**
   * Fsyncs every chunk sealed since the last call (`fsync: 'batch'`), several files at once.
   * Every file is tried even if one fails; then the first failure is thrown.
   */
  async sync(): Promise<void> {
    const ids = [...this.#unsynced];
    this.#unsynced.clear();
    const failures: unknown[] = [];
    const syncNext = async (): Promise<void> => {
      for (let id = ids.shift(); id !== undefined; id = ids.shift()) {
        await this.#syncFile(id).catch((error: unknown) => void failures.push(error));
      }
    };
    await Promise.all(Array.from({ length: SYNC_CONCURRENCY }, syncNext));
    if (failures.length > 0) throw failures[0];
  }

  async #syncFile(id: string): Promise<void> {
    const handle = await open(this.#chunkPath(id), 'r').catch(() => undefined);
    if (handle === undefined) return; // Deleted meanwhile: nothing left to make durable.
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  async read(id: string): Promise<Buffer[]> {
    const decoded = decodeChunkFile(await readFile(this.#chunkPath(id)));
    if (decoded.damage !== undefined) {
      throw new ChunkPoolError('CORRUPT_CHUNK', `chunk ${id}: ${decoded.damage}`);
    }
    return decoded.records;
  }

  async markRouteDone(id: string, output: string): Promise<void> {
    const handle = await open(this.#chunkPath(id), 'a', FILE_MODE);
    try {
      await handle.write(encodeRouteDone(output));
      if (this.#fsync === 'always') await handle.datasync();
    } finally {
      await handle.close();
    }
  }

  async delete(id: string): Promise<void> {
    this.#unsynced.delete(id);
    await rm(this.#chunkPath(id), { force: true });
  }

  async deadLetter(
    header: ChunkHeader,
    output: string,
    reason: string,
    records: readonly Buffer[],
  ): Promise<void> {
    const folder = join(this.#rejectedDir, safeName(output, 'output'));
    await mkdir(folder, { recursive: true, mode: DIR_MODE });
    const handle = await open(
      join(folder, `${safeName(header.id, 'chunk id')}${CHUNK_SUFFIX}`),
      'w',
      FILE_MODE,
    );
    try {
      const body = [encodePreamble({ ...header, routes: [output] }), ...encodeRecords(records)];
      body.push(encodeRouteDone(`dead letter: ${reason}`));
      await handle.writev(body);
      if (this.#fsync !== 'never') await handle.datasync();
    } finally {
      await handle.close();
    }
  }

  async quarantine(id: string, reason: string): Promise<void> {
    const file = this.#open.get(id);
    this.#open.delete(id);
    await file?.handle.close();
    const target = join(this.#quarantineDir, `${safeName(id, 'chunk id')}${CHUNK_SUFFIX}`);
    await rename(this.#chunkPath(id), target).catch(async (error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
    await writeReason(`${target}.reason`, reason);
  }

  async close(): Promise<void> {
    for (const [id, file] of this.#open) {
      this.#open.delete(id);
      await file.handle.close();
    }
    if (this.#fsync === 'batch') await this.sync();
  }

  async #write(id: string, file: OpenChunkFile, parts: Buffer[]): Promise<void> {
    const { handle, size } = file;
    try {
      file.size += await writeAll(handle, parts, size);
    } catch (error) {
      // Leave no torn frame behind: the file stays valid up to its last complete append.
      await handle.truncate(size).catch(() => undefined);
      if (size === 0) {
        this.#open.delete(id);
        await handle.close().catch(() => undefined);
        await rm(this.#chunkPath(id), { force: true });
      }
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOSPC' || code === 'EDQUOT') {
        throw new ChunkPoolError('STORAGE_FULL', `no space left for chunk ${id}`, { cause: error });
      }
      throw new ChunkPoolError('STORAGE_ERROR', `writing chunk ${id} failed`, { cause: error });
    }
  }

  #chunkPath(id: string): string {
    return join(this.#chunksDir, `${safeName(id, 'chunk id')}${CHUNK_SUFFIX}`);
  }
}

/**
 * Writes every byte of `parts` at `position`, continuing after a short write (which a disk
 * filling up can cause before it fails with ENOSPC); returns the bytes written. Positional, so
 * that an append after a failed (and truncated) one starts right after the last complete frame.
 */
async function writeAll(
  handle: FileHandle,
  parts: readonly Buffer[],
  position: number,
): Promise<number> {
  let total = 0;
  for (const part of parts) total += part.length;
  let written = (await handle.writev(parts, position)).bytesWritten;
  if (written === total) return total;
  const bytes = Buffer.concat(parts, total);
  while (written < total) {
    const { bytesWritten } = await handle.write(
      bytes,
      written,
      total - written,
      position + written,
    );
    if (bytesWritten === 0) throw new Error(`short write: ${written} of ${total} bytes`);
    written += bytesWritten;
  }
  return total;
}

function recovered(header: ChunkHeader, records: Buffer[], doneRoutes: string[]): RecoveredChunk {
  let bytes = 0;
  for (const record of records) bytes += record.length;
  return { ...header, records, recordCount: records.length, bytes, doneRoutes };
}

function safeName(name: string, what: string): string {
  if (!SAFE_NAME.test(name)) {
    throw new ChunkPoolError(
      'INVALID_OPTION',
      `${what} ${JSON.stringify(name)} is not a safe file name`,
    );
  }
  return name;
}

async function writeReason(path: string, reason: string): Promise<void> {
  const handle = await open(path, 'w', FILE_MODE);
  try {
    await handle.write(`${reason}\n`);
  } finally {
    await handle.close();
  }
}
