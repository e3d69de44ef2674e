/**
 * File storage: chunks in append-only, checksummed segment files under `dir/segments` (many
 * chunks per file, see segment-log.ts), dead letters under `dir/rejected/<output>`, damaged
 * segments under `dir/quarantine`.
 *
 * Over 300 lines: one method per `ChunkStorage` call, each a few lines, plus recovery (read,
 * repair, adopt) which shares their private state; the format, the log, the lock and the reading
 * of a segment's chunks live in their own files.
 *
 * @module
 */
import { join } from 'node:path';
import * as zlib from 'node:zlib';
import { countOption, invalidOption, rejectUnknownKeys } from '@holdfast/internal';
import {
  dropDeadLetterFile,
  listDeadLetters,
  reviveDeadLetterFile,
  type DeadLetter,
  type DeadLetterSelection,
} from '../dead-letters.js';
import { ChunkPoolError, isChunkPoolError } from '../errors.js';
import { DirLock } from './dir-lock.js';
import { safeName, storageFolders } from './names.js';
import { makeFolder, nodeFileSystem, syncFolder, type StorageFileSystem } from './fs.js';
import { chunksOfSegment, type Extent } from './segment-chunks.js';
import {
  decodeFrame,
  decodeSegment,
  encodeHeader,
  fillChecksums,
  FrameKind,
  markerFrame,
  parseRecords,
  PREAMBLE,
  recordsFrameLength,
  writeRecordsFrame,
  type Frame,
  type Loss,
} from './segment-format.js';
import { FILE_MODE, SEGMENT_SUFFIX, SegmentLog, type Segment } from './segment-log.js';
import type {
  ChunkHeader,
  ChunkStorage,
  RecoveredChunk,
  RecoveryOptions,
  RecoveryScan,
} from './storage.js';

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
  /**
   * Bytes a segment file holds before new chunks start in the next one (default 16 MiB). A
   * segment is removed when every chunk in it is done, so a chunk that waits long (a dead
   * output's retries) keeps its whole segment on disk: smaller segments waste less disk then,
   * larger ones mean fewer files and fsyncs.
   */
  readonly segmentBytes?: number;
}

const DIR_MODE = 0o700;
const DEFAULT_SEGMENT_BYTES = 16 << 20;

/**
 * Keeps chunks in files under `dir`, so a backlog survives restarts and waiting retries leave
 * memory. Every frame of a file is checksummed with CRC32 (`zlib.crc32`); files are created with
 * mode 0600.
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
  return fileStorageOn(nodeFileSystem, options);
}

/**
 * {@link fileStorage} on another file system (the crash-point test's model). Internal: not
 * exported from the package.
 */
export function fileStorageOn(fs: StorageFileSystem, options: FileStorageOptions): ChunkStorage {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw invalidOption('options', 'an object { dir, fsync, segmentBytes }', options);
  }
  rejectUnknownKeys(options, ['dir', 'fsync', 'segmentBytes'], 'options');
  if (typeof options.dir !== 'string' || options.dir === '') {
    throw invalidOption('dir', 'a folder path (string)', options.dir);
  }
  const fsync = options.fsync ?? 'batch';
  if (fsync !== 'always' && fsync !== 'batch' && fsync !== 'never') {
    throw invalidOption('fsync', "'always', 'batch' or 'never'", fsync);
  }
  const segmentBytes =
    options.segmentBytes === undefined
      ? DEFAULT_SEGMENT_BYTES
      : countOption(options.segmentBytes, 'segmentBytes', { min: 1, unit: 'bytes' });
  if (typeof zlib.crc32 !== 'function') {
    throw new ChunkPoolError(
      'INVALID_OPTION',
      `fileStorage needs zlib.crc32 (Node 20.15 or newer); this is Node ${process.versions.node}`,
    );
  }
  return new FileStorage(fs, options.dir, fsync, segmentBytes);
}

/** Where a chunk's frames are. */
interface StoredChunk {
  readonly header: ChunkHeader;
  /** The header as each records frame carries it (see segment-format.ts). */
  readonly headerBytes: Buffer;
  readonly segment: Segment;
  /** Position and length of each records frame of the chunk in its segment. */
  readonly extents: Extent[];
}

class FileStorage implements ChunkStorage {
  readonly persistent = true;
  readonly syncEachAppend: boolean;
  readonly #fs: StorageFileSystem;
  readonly #dir: string;
  readonly #segmentsDir: string;
  readonly #rejectedDir: string;
  readonly #quarantineDir: string;
  readonly #fsync: FsyncPolicy;
  readonly #log: SegmentLog;
  readonly #chunks = new Map<string, StoredChunk>();
  #lock: DirLock | undefined;

  constructor(fs: StorageFileSystem, dir: string, fsync: FsyncPolicy, segmentBytes: number) {
    this.#fs = fs;
    this.#dir = dir;
    const folders = storageFolders(dir);
    this.#segmentsDir = folders.segments;
    this.#rejectedDir = folders.rejected;
    this.#quarantineDir = folders.quarantine;
    this.#fsync = fsync;
    this.syncEachAppend = fsync === 'always';
    this.#log = new SegmentLog(fs, this.#segmentsDir, {
      segmentBytes,
      syncInBackground: fsync === 'batch',
    });
  }

  open(options: RecoveryOptions = {}): Promise<RecoveryScan> {
    return guard('opening the storage', undefined, () => this.#open(options));
  }

  async #open(options: RecoveryOptions): Promise<RecoveryScan> {
    await makeFolder(this.#fs, this.#dir, DIR_MODE);
    this.#lock = await DirLock.acquire(this.#dir, this.#fs);
    try {
      return await this.#recover(options);
    } catch (error) {
      await this.#lock.release().catch(() => undefined); // `error` is what the caller needs.
      throw error;
    }
  }

  async #recover(options: RecoveryOptions): Promise<RecoveryScan> {
    for (const folder of [this.#segmentsDir, this.#rejectedDir, this.#quarantineDir]) {
      await makeFolder(this.#fs, folder, DIR_MODE);
    }
    const names = (await this.#fs.readdir(this.#segmentsDir)).sort();
    const found: RecoveredChunk[] = [];
    const lost: Loss = { frames: 0, records: 0, bytes: 0 };
    let quarantined = 0;
    for (const name of names) {
      const path = join(this.#segmentsDir, name);
      // A repair that a crash interrupted; the segment it was for is still there, unrepaired.
      if (name.endsWith('.tmp')) await this.#fs.rm(path, { force: true });
      if (!name.endsWith(SEGMENT_SUFFIX)) continue;
      let bytes: Buffer = await this.#fs.readFile(path);
      const decoded = decodeSegment(bytes);
      let { frames } = decoded;
      if (decoded.damage !== undefined) {
        bytes = await this.#repair(name, bytes, frames, decoded.damage);
        frames = decodeSegment(bytes).frames;
        quarantined += 1;
        lost.records += decoded.lost.records;
        lost.bytes += decoded.lost.bytes;
      }
      found.push(...this.#adopt(this.#log.adopt(name, bytes.length), frames));
    }
    const chunks = await this.#loadOldest(found, options.recordBytes ?? 0);
    return { chunks, quarantined, lost: { records: lost.records, bytes: lost.bytes } };
  }

  append(header: ChunkHeader, records: readonly Buffer[]): Promise<void> {
    return guard('writing', header.id, async () => {
      const { id } = header;
      safeName(id, 'chunk id');
      let chunk = this.#chunks.get(id);
      const starting = chunk === undefined;
      if (chunk === undefined) {
        const segment = this.#log.segmentForNewChunk();
        chunk = { header, headerBytes: encodeHeader(header), segment, extents: [] };
        chunk.segment.live += 1;
        this.#chunks.set(id, chunk);
      }
      const { headerBytes } = chunk;
      const frameLength = recordsFrameLength(id, headerBytes, records);
      try {
        const position = await this.#log.write(
          chunk.segment,
          [],
          { id, header: headerBytes, records, frameLength },
          this.#fsync === 'always',
        );
        chunk.extents.push({ position, length: frameLength });
      } catch (error) {
        if (starting) await this.#forget(chunk).catch(() => undefined); // `error` says it all.
        throw error;
      }
    });
  }

  seal(id: string): Promise<void> {
    // Every append is already written; what durability remains is `sync()`'s.
    return guard('sealing', id, () => {
      safeName(id, 'chunk id');
      return Promise.resolve();
    });
  }

  sync(): Promise<void> {
    return guard('making the segments durable', undefined, async () => {
      // Under 'always' appends and done marks are durable already; deletions are not (one fsync
      // per ack would be), so a flush covers them too.
      if (this.#fsync !== 'never') await this.#log.sync();
      await this.#lock?.check();
    });
  }

  read(id: string): Promise<Buffer[]> {
    return guard('reading', id, async () => {
      const chunk = this.#stored(id);
      const records: Buffer[] = [];
      for (const frame of await this.#readFrames(chunk)) {
        if (typeof frame === 'string') {
          throw new ChunkPoolError('CORRUPT_CHUNK', `chunk ${id}: ${frame}`);
        }
        const parsed = frame.id === id ? parseRecords(frame) : undefined;
        if (frame.kind !== FrameKind.Records || parsed === undefined) {
          throw new ChunkPoolError('CORRUPT_CHUNK', `chunk ${id}: a records frame is malformed`);
        }
        records.push(...parsed.records);
      }
      return records;
    });
  }

  markRouteDone(id: string, output: string): Promise<void> {
    return guard('marking a route done on', id, () =>
      this.#mark(id, markerFrame(FrameKind.RouteDone, id, output)),
    );
  }

  reroute(id: string, from: string, to: string): Promise<void> {
    return guard('rerouting', id, () =>
      this.#mark(id, markerFrame(FrameKind.Rerouted, id, JSON.stringify([from, to]))),
    );
  }

  async #mark(id: string, frame: Buffer): Promise<void> {
    const chunk = this.#stored(id);
    await this.#log.write(chunk.segment, [frame], undefined, this.#fsync === 'always');
  }

  delete(id: string): Promise<void> {
    return guard('deleting', id, async () => {
      safeName(id, 'chunk id');
      const chunk = this.#chunks.get(id);
      if (chunk === undefined) return; // Never written (its first write failed), or deleted.
      await this.#forget(chunk);
    });
  }

  deadLetter(
    header: ChunkHeader,
    output: string,
    reason: string,
    records: readonly Buffer[],
  ): Promise<void> {
    return guard('writing the dead letter of', header.id, async () => {
      const folder = join(this.#rejectedDir, safeName(output, 'output'));
      await makeFolder(this.#fs, folder, DIR_MODE);
      // A segment of its own, holding just this chunk under an id of its own (see deadLetterId):
      // the same format, readable by the same code.
      const id = deadLetterId(header.id, output);
      const headerBytes = encodeHeader({ ...header, id, routes: [output] });
      const recordsFrame = Buffer.allocUnsafe(recordsFrameLength(id, headerBytes, records));
      writeRecordsFrame(recordsFrame, 0, id, headerBytes, records);
      fillChecksums(recordsFrame, 0);
      // Written aside and renamed: a crash mid-write leaves a `.tmp` (the chunk is still in its
      // segment, delivered again after the restart), never a torn dead letter to replay.
      const path = join(folder, `${safeName(id, 'chunk id')}${SEGMENT_SUFFIX}`);
      await writeWholeFile(
        this.#fs,
        `${path}.tmp`,
        [PREAMBLE, recordsFrame, markerFrame(FrameKind.DeadLetter, id, reason)],
        this.#fsync !== 'never',
      );
      await this.#fs.rename(`${path}.tmp`, path);
      // The pool marks the route done next: the dead letter's name must be as durable as that.
      if (this.#fsync !== 'never') await syncFolder(this.#fs, folder);
    });
  }

  /** Copies what the chunk's frames hold now to the quarantine folder, then deletes the chunk. */
  deadLetters(selection: DeadLetterSelection): Promise<DeadLetter[]> {
    return listDeadLetters(this.#dir, selection);
  }

  reviveDeadLetter(output: string, id: string, into: string | undefined): Promise<RecoveredChunk> {
    return guard('replaying the dead letter', id, async () => {
      const name = await reviveDeadLetterFile(this.#dir, output, id, into);
      const bytes = await this.#fs.readFile(join(this.#segmentsDir, name));
      const [chunk] = this.#adopt(this.#log.adopt(name, bytes.length), decodeSegment(bytes).frames);
      if (chunk === undefined) throw new Error(`${name} holds no chunk that is not stored already`);
      return chunk;
    });
  }

  dropDeadLetter(output: string, id: string): Promise<DeadLetter> {
    return guard('dropping the dead letter', id, () => dropDeadLetterFile(this.#dir, output, id));
  }

  quarantine(id: string, reason: string): Promise<void> {
    return guard('quarantining', id, async () => {
      const target = join(this.#quarantineDir, `${safeName(id, 'chunk id')}${SEGMENT_SUFFIX}`);
      const chunk = this.#chunks.get(id);
      if (chunk !== undefined) {
        const raw = await this.#readExtents(chunk);
        await writeWholeFile(this.#fs, target, [PREAMBLE, ...raw], false);
        await this.#forget(chunk);
      }
      await writeWholeFile(this.#fs, `${target}.reason`, [Buffer.from(`${reason}\n`)], false);
    });
  }

  close(): Promise<void> {
    return guard('closing the storage', undefined, async () => {
      try {
        // A storage never opened (its `open` failed) has nothing to make durable.
        if (this.#fsync !== 'never' && this.#lock !== undefined) await this.#log.sync();
      } finally {
        try {
          await this.#log.close();
        } finally {
          await this.#lock?.release();
        }
      }
    });
  }

  /**
   * Registers the chunks a recovered segment holds and says what each is; a segment holding none
   * is removed.
   */
  #adopt(segment: Segment, frames: readonly Frame[]): RecoveredChunk[] {
    const recovered: RecoveredChunk[] = [];
    for (const [id, found] of chunksOfSegment(frames)) {
      if (this.#chunks.has(id)) continue; // The same id in two segments: the first one holds.
      const { header, extents, recordCount, bytes, doneRoutes } = found;
      this.#chunks.set(id, { header, headerBytes: encodeHeader(header), segment, extents });
      segment.live += 1;
      recovered.push({ ...header, recordCount, bytes, doneRoutes });
    }
    // Nothing in it to lose: if removing the file fails, the next open finds it empty again.
    if (segment.live === 0) this.#log.remove(segment).catch(() => undefined);
    return recovered;
  }

  /** Sorts recovered chunks oldest first, and reads the records of the first `recordBytes`. */
  async #loadOldest(chunks: RecoveredChunk[], recordBytes: number): Promise<RecoveredChunk[]> {
    chunks.sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1));
    let loaded = 0;
    const result: RecoveredChunk[] = [];
    for (const chunk of chunks) {
      if (chunk.recordCount === 0 || loaded + chunk.bytes > recordBytes) {
        result.push(chunk);
        continue;
      }
      loaded += chunk.bytes;
      result.push({ ...chunk, records: await this.read(chunk.id) });
    }
    return result;
  }

  /** Each of the chunk's records frames, or what is wrong with it. */
  async #readFrames(chunk: StoredChunk): Promise<(Frame | string)[]> {
    return (await this.#readExtents(chunk)).map((bytes) => decodeFrame(bytes, 0));
  }

  /** The bytes at each of the chunk's extents, as they are on disk (short if the file is). */
  async #readExtents(chunk: StoredChunk): Promise<Buffer[]> {
    const handle = await this.#fs.open(chunk.segment.path, 'r');
    try {
      const extents: Buffer[] = [];
      for (const { position, length } of chunk.extents) {
        const bytes = Buffer.allocUnsafe(length);
        const { bytesRead } = await handle.read(bytes, 0, length, position);
        extents.push(bytes.subarray(0, bytesRead));
      }
      return extents;
    } finally {
      await handle.close();
    }
  }

  /**
   * Keeps a copy of a damaged segment for an operator, then replaces the segment with its valid
   * frames (written aside and renamed over it, so a crash leaves one or the other).
   */
  async #repair(
    name: string,
    bytes: Buffer,
    frames: readonly Frame[],
    damage: string,
  ): Promise<Buffer> {
    const copy = join(this.#quarantineDir, name);
    await writeWholeFile(this.#fs, copy, [bytes], true);
    await writeWholeFile(this.#fs, `${copy}.reason`, [Buffer.from(`${damage}\n`)], true);
    const repaired = Buffer.concat([
      PREAMBLE,
      ...frames.map((frame) => bytes.subarray(frame.offset, frame.offset + frame.length)),
    ]);
    const path = join(this.#segmentsDir, name);
    await writeWholeFile(this.#fs, `${path}.tmp`, [repaired], true);
    await this.#fs.rename(`${path}.tmp`, path);
    // Done marks go into the new file from now on: its name must be durable before they are.
    await syncFolder(this.#fs, this.#segmentsDir);
    return repaired;
  }

  /** The chunk is gone: its segment is removed with its last chunk, else it records the deletion. */
  async #forget(chunk: StoredChunk): Promise<void> {
    const { id } = chunk.header;
    if (this.#chunks.get(id) !== chunk) return;
    this.#chunks.delete(id);
    chunk.segment.live -= 1;
    if (chunk.segment.live === 0) {
      await this.#log.remove(chunk.segment);
    } else if (chunk.extents.length > 0) {
      await this.#log.write(chunk.segment, [markerFrame(FrameKind.Deleted, id)], undefined, false);
    }
  }

  #stored(id: string): StoredChunk {
    const chunk = this.#chunks.get(safeName(id, 'chunk id'));
    if (chunk === undefined) {
      throw new ChunkPoolError('CORRUPT_CHUNK', `chunk ${id} is not in storage`);
    }
    return chunk;
  }
}

/**
 * Runs one storage call; whatever it throws reaches the pool as a `ChunkPoolError` (kept as it
 * is when it already is one), `STORAGE_FULL` for a full disk or quota, `STORAGE_ERROR`
 * otherwise, with the OS error as `cause`.
 */
async function guard<T>(what: string, id: string | undefined, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw storageError(error, id === undefined ? what : `${what} chunk ${id}`);
  }
}

function storageError(error: unknown, what: string): ChunkPoolError {
  if (isChunkPoolError(error)) return error;
  const { code, message } = error as NodeJS.ErrnoException;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new ChunkPoolError('STORAGE_FULL', `${what}: no space left (${message})`, {
      cause: error,
    });
  }
  return new ChunkPoolError('STORAGE_ERROR', `${what} failed: ${message}`, { cause: error });
}

/**
 * A dead letter's own chunk id: the chunk's id (without the suffix of an earlier dead letter) and
 * a hash of the chunk's id and the output. Never the chunk's own id: the chunk may still be stored
 * for its other routes, and a replayed dead letter with that id was taken for it at recovery (the
 * first of the two held; the other's records were lost). Distinct per chunk and output, short
 * whatever the history (a dead letter replayed and given up again gets a new one, not a longer one).
 */
export function deadLetterId(chunkId: string, output: string): string {
  const base = chunkId.replace(/-dl[0-9a-z]+$/, '');
  return `${base}-dl${(zlib.crc32(`${chunkId}>${output}`) >>> 0).toString(36)}`;
}

/** Writes a whole file (mode 0600), fsynced before it is closed when `fsync` is true. */
async function writeWholeFile(
  fs: StorageFileSystem,
  path: string,
  parts: readonly Buffer[],
  fsync: boolean,
): Promise<void> {
  const handle = await fs.open(path, 'w', FILE_MODE);
  try {
    await handle.writeFile(Buffer.concat(parts));
    if (fsync) await handle.datasync();
  } finally {
    await handle.close();
  }
}
