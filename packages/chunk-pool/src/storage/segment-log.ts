/**
 * The segment files of a file storage, and the one queue every write to them goes through.
 *
 * New chunks start in the *active* segment until it holds `segmentBytes`; then a new one becomes
 * active, and the full one is fsynced in the background (`fsync: 'batch'`), so `flush()` has
 * little left to do. Writes are serialised, each at its segment's end: while one is on its way
 * to the disk (on libuv's thread pool) the next is already copied and checksummed into the other
 * of two reused buffers, so the CPU work and the disk work overlap and no per-chunk buffer is
 * allocated.
 *
 * Over 300 lines: the write queue, its two-buffer pipeline and the fsync bookkeeping share one
 * state (segments, handles, the queue) that would only be passed around if split.
 *
 * @module
 */
import { constants } from 'node:fs';
import { join } from 'node:path';
import { ChunkPoolError } from '../errors.js';
import type { StorageFile, StorageFileSystem } from './fs.js';
import { fillChecksums, PREAMBLE, writeRecordsFrame } from './segment-format.js';

export const SEGMENT_SUFFIX = '.seg';
export const FILE_MODE = 0o600;

/** One segment file. */
export interface Segment {
  readonly name: string;
  readonly path: string;
  /** Bytes in the file after its last complete write: a failed write is cut back to this. */
  size: number;
  /** No longer active, and every write queued while it was has run. */
  retired: boolean;
  /** `size` plus the writes still queued: decides when the active segment is full. */
  reserved: number;
  /** Chunks that started here and are not deleted. At zero the file is removed. */
  live: number;
  /** Completed writes, and how many of them an fsync is known to cover. */
  writes: number;
  syncedWrites: number;
  /** A background fsync started when the segment stopped being active. */
  syncing: Promise<void> | undefined;
  /**
   * Why that fsync failed, until `sync()` reports it: after a failed fsync the kernel may have
   * dropped the dirty pages, so trying again could succeed with the data gone.
   */
  syncFailure: unknown;
}

/** The records of one chunk to write as a records frame. */
export interface RecordsPart {
  readonly id: string;
  /** The chunk's header, as `encodeHeader` makes it (every records frame carries it). */
  readonly header: Buffer;
  readonly records: readonly Buffer[];
  /** The frame's length, `recordsFrameLength(id, header, records)`, which the caller needs too. */
  readonly frameLength: number;
}

interface WriteOperation {
  readonly kind: 'write';
  readonly segment: Segment;
  /** Small frames (markers) written before the records frame. */
  readonly frames: readonly Buffer[];
  readonly records: RecordsPart | undefined;
  readonly length: number;
  /** `fdatasync` before resolving. */
  readonly durable: boolean;
  readonly resolve: (position: number) => void;
  readonly reject: (error: unknown) => void;
}

interface TaskOperation {
  readonly kind: 'task';
  readonly run: () => Promise<void>;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

type Operation = WriteOperation | TaskOperation;

/** A write operation with its bytes ready in one of the two scratch buffers. */
interface PreparedWrite {
  readonly kind: 'prepared';
  readonly operation: WriteOperation;
  readonly bytes: Buffer;
}

export class SegmentLog {
  readonly #fs: StorageFileSystem;
  readonly #dir: string;
  readonly #segmentBytes: number;
  readonly #syncInBackground: boolean;
  readonly #runId: string;
  #sequence = 0;
  #active: Segment | undefined;
  // Files kept open from a segment's first write until its retire task runs (new chunks start
  // there meanwhile); later writes to it (markers, `fsync: 'always'` appends) open their own.
  readonly #handles = new Map<Segment, StorageFile>();
  readonly #segments = new Set<Segment>();
  readonly #queue: Operation[] = [];
  #pumping = false;
  // A segment file was created or removed since the folder was last fsynced. True at first: a
  // killed process may have left creations and removals in the page cache only.
  #folderDirty = true;
  // Two buffers reused for every write: one being written, one being filled (see the module doc).
  readonly #scratch: [Buffer, Buffer] = [Buffer.alloc(0), Buffer.alloc(0)];
  #nextScratch: 0 | 1 = 0;
  /**
   * Set once a segment file is found gone from the folder (the folder deleted or replaced under
   * the running pool): writes into unlinked files would resolve and be lost, so every later write
   * and sync fails with this.
   */
  #vanished: ChunkPoolError | undefined;

  constructor(
    fs: StorageFileSystem,
    dir: string,
    options: { segmentBytes: number; syncInBackground: boolean },
  ) {
    this.#fs = fs;
    this.#dir = dir;
    this.#segmentBytes = options.segmentBytes;
    this.#syncInBackground = options.syncInBackground;
    this.#runId = Math.floor(Math.random() * 36 ** 4)
      .toString(36)
      .padStart(4, '0');
  }

  /** Takes over a segment a previous run left, `size` bytes long. */
  adopt(name: string, size: number): Segment {
    const segment = newSegment(join(this.#dir, name), name);
    segment.size = segment.reserved = size;
    segment.retired = true;
    // What a killed process wrote may still be only in the page cache: the next `sync()` fsyncs
    // the segment once, or what it holds is lost to a power loss after a flush that said it was
    // durable.
    segment.writes = size > 0 ? 1 : 0;
    this.#segments.add(segment);
    return segment;
  }

  /** The segment a new chunk starts in: the active one, or a new one when that is full. */
  segmentForNewChunk(): Segment {
    if (this.#active !== undefined && this.#active.reserved < this.#segmentBytes) {
      return this.#active;
    }
    if (this.#active !== undefined) this.#retire(this.#active);
    const id = `${Date.now().toString(36)}-${this.#runId}-${(this.#sequence++).toString(36)}`;
    const name = `${id}${SEGMENT_SUFFIX}`;
    const segment = newSegment(join(this.#dir, name), name);
    this.#segments.add(segment);
    this.#active = segment;
    return segment;
  }

  /**
   * Appends `frames` and then a records frame of `records` (if given) at the end of `segment`;
   * resolves with the file position where the first of them starts. A failed write leaves the
   * file as it was before it.
   */
  write(
    segment: Segment,
    frames: readonly Buffer[],
    records: RecordsPart | undefined,
    durable: boolean,
  ): Promise<number> {
    let length = 0;
    for (const frame of frames) length += frame.length;
    if (records !== undefined) length += records.frameLength;
    segment.reserved += length;
    return new Promise<number>((resolve, reject) => {
      this.#enqueue({ kind: 'write', segment, frames, records, length, durable, resolve, reject });
    });
  }

  /** Removes the segment's file once every write queued before has finished. */
  remove(segment: Segment): Promise<void> {
    if (this.#active === segment) this.#active = undefined;
    return this.#task(async () => {
      // Listed until the file is gone: a `sync()` queued before this still fsyncs what was
      // written to it (a done mark the caller was told is durable once that sync resolves).
      try {
        // A file that fails to close is still removed: left, its chunks would come back.
        await this.#release(segment)
          ?.close()
          .catch(() => undefined);
        await segment.syncing;
        await this.#fs.rm(segment.path, { force: true });
      } finally {
        this.#segments.delete(segment);
      }
      // An unlink is a change of the folder too: until it is fsynced, a power loss can bring the
      // segment back, and with it chunks whose routes were done (delivered again).
      this.#folderDirty = true;
    });
  }

  /** Fsyncs every segment written since its last fsync, several at once. */
  async sync(): Promise<void> {
    await this.#task(async () => {
      const failures: unknown[] = [];
      await Promise.all(
        [...this.#segments].map((segment) =>
          this.#syncSegment(segment).catch((error: unknown) => {
            failures.push(error);
          }),
        ),
      );
      await this.#syncFolder().catch((error: unknown) => {
        failures.push(error);
      });
      if (failures.length > 0) throw failures[0];
      for (const [segment, handle] of this.#handles) await this.#checkLinked(segment, handle);
    });
  }

  /**
   * Fsyncs the folder if a segment was created or removed since the last time: a file's own
   * fsync does not make its name durable, and a file that vanishes in a power loss loses its
   * data with it (one that comes back brings back chunks already done).
   */
  async #syncFolder(): Promise<void> {
    // Windows cannot open a folder to fsync it (and its file system journals names itself).
    if (!this.#folderDirty || process.platform === 'win32') return;
    this.#folderDirty = false;
    try {
      const handle = await this.#fs.open(this.#dir, 'r');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
    } catch (error) {
      // Not fsynced (not even opened): the next sync() tries again, or a name is never durable.
      this.#folderDirty = true;
      throw error;
    }
  }

  /** Waits for queued writes and background fsyncs, then closes the files kept open. */
  async close(): Promise<void> {
    this.#active = undefined;
    await this.#task(async () => {
      const handles = [...this.#handles.values()];
      this.#handles.clear();
      await Promise.all(handles.map((handle) => handle.close()));
      for (const segment of this.#segments) await segment.syncing;
    });
  }

  #retire(segment: Segment): void {
    this.#active = undefined;
    const retiring = this.#task(async () => {
      segment.retired = true;
      const handle = this.#release(segment);
      if (handle === undefined) return;
      if (!this.#syncInBackground) return handle.close();
      // Not awaited: the fsync runs while later writes go on to the next segment.
      const writes = segment.writes;
      segment.syncing = handle
        .datasync()
        .then(
          () => {
            segment.syncedWrites = Math.max(segment.syncedWrites, writes);
          },
          // `sync()` reports it.
          (error: unknown) => {
            segment.syncFailure = error;
          },
        )
        .finally(() => handle.close().catch(() => undefined));
    });
    // Nobody waits for a retire; a file that fails to close has nothing left to lose.
    retiring.catch(() => undefined);
  }

  async #syncSegment(segment: Segment): Promise<void> {
    await segment.syncing;
    if (segment.syncFailure !== undefined) {
      const failure = segment.syncFailure;
      segment.syncFailure = undefined;
      throw failure;
    }
    if (segment.writes === segment.syncedWrites || !this.#segments.has(segment)) return;
    const writes = segment.writes;
    const kept = this.#handles.get(segment);
    if (kept !== undefined) {
      await kept.datasync();
    } else {
      // Segments this log removes leave `#segments` as their file goes (see remove(), which
      // runs in the same queue): one still listed but not on disk was removed by someone else.
      const handle = await this.#fs.open(segment.path, 'r').catch((error: unknown) => {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw this.#vanish(segment);
        throw error;
      });
      try {
        await handle.datasync();
      } finally {
        await handle.close();
      }
    }
    segment.syncedWrites = Math.max(segment.syncedWrites, writes);
  }

  #task(run: () => Promise<void>): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#enqueue({ kind: 'task', run, resolve, reject });
    });
  }

  #enqueue(operation: Operation): void {
    this.#queue.push(operation);
    if (this.#pumping) return;
    this.#pumping = true;
    // Never rejects: each operation's failure goes to its own promise (see #runWrite, #runTask,
    // and #prepare's catch below), so there is nothing left here to report.
    this.#pump().catch(() => undefined);
  }

  /** Runs queued operations in order, preparing the next write while the current one runs. */
  async #pump(): Promise<void> {
    try {
      let next = this.#prepare();
      while (next !== undefined) {
        const running = next.kind === 'task' ? this.#runTask(next) : this.#runWrite(next);
        const following = this.#prepare();
        await running;
        next = following ?? this.#prepare();
      }
    } finally {
      // Cleared in the same tick the queue was found empty, so no operation is left waiting.
      this.#pumping = false;
    }
  }

  /** The next operation, with its bytes ready if it is a write; one that cannot be is rejected. */
  #prepare(): TaskOperation | PreparedWrite | undefined {
    for (;;) {
      const operation = this.#queue.shift();
      if (operation === undefined || operation.kind === 'task') return operation;
      try {
        return this.#prepareWrite(operation);
      } catch (error) {
        operation.segment.reserved -= operation.length;
        operation.reject(error);
      }
    }
  }

  #prepareWrite(operation: WriteOperation): PreparedWrite {
    const index = this.#nextScratch;
    this.#nextScratch = index === 0 ? 1 : 0;
    let scratch = this.#scratch[index];
    if (scratch.length < operation.length) {
      scratch = this.#scratch[index] = Buffer.allocUnsafe(operation.length);
    }
    const bytes = scratch.subarray(0, operation.length);
    let offset = 0;
    for (const frame of operation.frames) {
      bytes.set(frame, offset);
      offset += frame.length;
    }
    const { records } = operation;
    if (records !== undefined) {
      writeRecordsFrame(bytes, offset, records.id, records.header, records.records);
      fillChecksums(bytes, offset);
    }
    return { kind: 'prepared', operation, bytes };
  }

  async #runTask(task: TaskOperation): Promise<void> {
    try {
      await task.run();
      task.resolve();
    } catch (error) {
      task.reject(error);
    }
  }

  async #runWrite({ operation, bytes }: PreparedWrite): Promise<void> {
    const { segment } = operation;
    const { size, writes } = segment; // what a failure puts back, the file cut back to `size`
    const creating = size === 0;
    // A kept handle is taken without an `await`, so that the write below is submitted before
    // the pump goes on to prepare the next one (which is what makes the two overlap).
    let handle = this.#handles.get(segment);
    try {
      if (this.#vanished !== undefined) throw this.#vanished;
      handle ??= await this.#open(segment, creating);
      const parts = creating ? [PREAMBLE, bytes] : [bytes];
      const position = size + (creating ? PREAMBLE.length : 0);
      const written = await writeAll(handle, parts, size);
      segment.size += written;
      segment.writes += 1;
      if (operation.durable) {
        // A write whose fsync fails is undone like one that failed itself: its caller is told
        // it failed, so recovery must not find it (an append retried would be stored twice).
        await handle.datasync();
        await this.#syncFolder();
        await this.#checkLinked(segment, handle);
        segment.syncedWrites = segment.writes;
      }
      segment.reserved += written - operation.length;
      operation.resolve(position);
    } catch (error) {
      segment.size = size;
      segment.writes = writes;
      segment.reserved -= operation.length;
      await this.#undo(segment, handle);
      operation.reject(error);
    } finally {
      // Never throws: the pump has the next write prepared, and a throw here would drop it. A file
      // that fails to close lost nothing the next sync() cannot see (it fsyncs the file anew).
      if (handle !== undefined && this.#handles.get(segment) !== handle) {
        await handle.close().catch(() => undefined);
      }
    }
  }

  async #open(segment: Segment, creating: boolean): Promise<StorageFile> {
    const flags = creating
      ? constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL
      : constants.O_WRONLY;
    const handle = await this.#fs.open(segment.path, flags, FILE_MODE);
    if (creating) this.#folderDirty = true;
    if (!segment.retired) this.#handles.set(segment, handle);
    return handle;
  }

  /** Throws (and marks the log vanished) if the segment's file is no longer in the folder. */
  async #checkLinked(segment: Segment, handle: StorageFile): Promise<void> {
    const { nlink } = await handle.stat();
    if (nlink === 0) throw this.#vanish(segment);
  }

  #vanish(segment: Segment): ChunkPoolError {
    this.#vanished ??= new ChunkPoolError(
      'STORAGE_ERROR',
      `segment file ${segment.path} is no longer in its folder (was ${this.#dir} deleted or ` +
        'replaced while the pool ran?); records written since the last flush are not stored',
    );
    return this.#vanished;
  }

  /** The segment's kept handle, which is no longer kept. */
  #release(segment: Segment): StorageFile | undefined {
    const handle = this.#handles.get(segment);
    this.#handles.delete(segment);
    return handle;
  }

  /** Leaves no torn frame behind: the file stays valid up to its last complete write. */
  async #undo(segment: Segment, handle: StorageFile | undefined): Promise<void> {
    if (segment.size > 0) {
      await handle?.truncate(segment.size).catch(() => undefined);
      return;
    }
    // The write that was to create the file failed: no file at all, as before it.
    // (The caller closes the handle.)
    this.#release(segment);
    try {
      await this.#fs.rm(segment.path, { force: true });
    } catch {
      // Left behind, perhaps torn: no new chunk starts in it (creating it again would fail on
      // the file that is there). A chunk already there removes it with itself, or recovery reads it.
      if (this.#active === segment) this.#active = undefined;
    }
  }
}

function newSegment(path: string, name: string): Segment {
  return {
    name,
    path,
    retired: false,
    size: 0,
    reserved: 0,
    live: 0,
    writes: 0,
    syncedWrites: 0,
    syncing: undefined,
    syncFailure: undefined,
  };
}

/**
 * Writes every byte of `parts` at `position`, continuing after a short write (which a disk
 * filling up can cause before it fails with ENOSPC); returns the bytes written.
 */
async function writeAll(
  handle: StorageFile,
  parts: readonly Buffer[],
  position: number,
): Promise<number> {
  let total = 0;
  for (const part of parts) total += part.length;
  // One buffer (the usual case): `write`, whose call costs less than `writev`'s.
  let written =
    parts.length === 1
      ? (await handle.write(parts[0] as Buffer, 0, total, position)).bytesWritten
      : (await handle.writev(parts, position)).bytesWritten;
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
