/**
 * Dead letters after an outage: list them, read one, replay them into an output, drop them.
 * File storage writes each as a segment of its own under `<dir>/rejected/<output>/<id>.seg`
 * holding one chunk and the reason (see storage/file-storage.ts); these functions work on that
 * folder while no pool has it open, and so does the `holdfast-chunks` CLI.
 *
 * **Replay is one rename per dead letter.** The file moves into `<dir>/segments/`, where the
 * next pool that opens the folder recovers it like any chunk a previous run left: the same
 * admission, accounting and reserve split, delivered oldest first. A rename is atomic, so a
 * replay killed half way has moved some dead letters and not others, and copied none: nothing
 * is delivered twice. Replaying into another output first appends a rerouted frame to the dead
 * letter in place, then renames; killed between the two, the dead letter is still a dead letter
 * (its `route` already names the new output) and a replay run again finishes it.
 *
 * Every call that changes the folder takes its lock, so it refuses while a pool holds the
 * folder, and no pool opens it meanwhile.
 *
 * Over 300 lines: four public calls documented with examples, and the reading of a dead-letter
 * file they share; split, the rename-only replay and its lock would no longer read in one place.
 *
 * @module
 */
import { lstat, mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { callOptions, describeValue } from '@holdfast/internal';
import { ChunkPoolError } from './errors.js';
import { DirLock } from './storage/dir-lock.js';
import { safeName, storageFolders } from './storage/names.js';
import { chunksOfSegment } from './storage/segment-chunks.js';
import {
  decodeSegment,
  FrameKind,
  markerFrame,
  parseRecords,
  PREAMBLE,
  type Frame,
} from './storage/segment-format.js';
import { SEGMENT_SUFFIX } from './storage/segment-log.js';

/** One dead letter, as {@link listDeadLetters} finds it. */
export interface DeadLetter {
  /**
   * The dead letter's own id: the chunk's id, `-dl` and a hash of the output. Not the chunk's
   * id itself, which may still be stored for the chunk's other routes (a replay must not collide
   * with it).
   */
  readonly id: string;
  /** The output that gave it up (its folder under `rejected/`). */
  readonly output: string;
  readonly tag: string;
  /** Wall-clock time (ms since the epoch) when the chunk got its first record. */
  readonly createdAt: number;
  /** Wall-clock time (ms since the epoch) when it was dead-lettered (the file's mtime). */
  readonly deadLetteredAt: number;
  readonly recordCount: number;
  /** Payload bytes (the sum of the records' lengths). */
  readonly bytes: number;
  /** Why it was given up, as the pool wrote it (`failed 5 attempts`). */
  readonly reason: string;
  /**
   * The output a replay sends it to when not told otherwise: `output`, unless a replay into
   * another output was interrupted after rerouting it.
   */
  readonly route: string;
  /**
   * What is wrong with the file when part of it cannot be read (a damaged byte, a torn write).
   * A damaged dead letter is listed, counted, and never replayed (drop it, or read what is left
   * with {@link readDeadLetter}).
   */
  readonly damage: string | undefined;
}

/** Which dead letters a call is about. */
export interface DeadLetterSelection {
  /** Only this output's; all outputs' when absent. */
  readonly output?: string;
  /**
   * Only these chunk ids; all (of `output`) when absent. An id that is not there is an error; an
   * empty list selects none (replay and drop still take the lock: they refuse while a pool holds
   * the folder).
   */
  readonly ids?: readonly string[];
}

/** What {@link replayDeadLetters} or {@link dropDeadLetters} did. */
export interface DeadLetterTotals {
  readonly chunks: number;
  readonly records: number;
  readonly bytes: number;
}

/** Options of {@link replayDeadLetters}. */
export interface ReplayOptions extends DeadLetterSelection {
  /** The output to deliver them to; each one's {@link DeadLetter.route} when absent. */
  readonly into?: string;
}

const SELECTION_KEYS = ['output', 'ids'] as const;

/**
 * Every dead letter under `dir`, oldest first (by when it was dead-lettered).
 *
 * @example
 * ```ts
 * for (const letter of await listDeadLetters('/var/lib/agent/buffer', { output: 'archive' })) {
 *   console.log(letter.id, letter.recordCount, letter.reason, letter.damage ?? 'intact');
 * }
 * ```
 */
export async function listDeadLetters(
  dir: string,
  selection: DeadLetterSelection = {},
): Promise<DeadLetter[]> {
  const { rejected } = folders(dir);
  const wanted = checkSelection(selection, SELECTION_KEYS, 'listDeadLetters');
  await requireFolder(dir);
  const found = await readAll(rejected, wanted.output, wanted.ids);
  return found
    .map((file) => file.letter)
    .sort((a, b) => a.deadLetteredAt - b.deadLetteredAt || (a.id < b.id ? -1 : 1));
}

/**
 * One dead letter and its records (what can be read of them, if it is damaged).
 *
 * @example
 * ```ts
 * const [first] = await listDeadLetters('/var/lib/agent/buffer');
 * if (first !== undefined) {
 *   const { records } = await readDeadLetter('/var/lib/agent/buffer', first.output, first.id);
 *   console.log(first.reason, records.map((record) => record.toString()));
 * }
 * ```
 */
export async function readDeadLetter(
  dir: string,
  output: string,
  id: string,
): Promise<{ letter: DeadLetter; records: Buffer[] }> {
  const { rejected } = folders(dir);
  const path = letterPath(rejected, output, id);
  await requireFolder(dir);
  const file = await readLetter(path, output).catch((error: unknown) => {
    throw notFoundOr(error, output, id);
  });
  const records: Buffer[] = [];
  for (const frame of file.frames) {
    if (frame.kind !== FrameKind.Records || frame.id !== id) continue;
    records.push(...(parseRecords(frame)?.records ?? []));
  }
  return { letter: file.letter, records };
}

/**
 * Moves the selected dead letters back into the pool's segments, for the next pool that opens
 * `dir` to deliver (to `into`, or to each one's route). Damaged ones are skipped and returned.
 *
 * @throws {ChunkPoolError} `STORAGE_LOCKED` while a pool holds `dir`; `UNKNOWN_DEAD_LETTER` for
 *   an id that is not there.
 *
 * @example
 * ```ts
 * // The archive is back: the next pool that opens the folder delivers its dead letters.
 * const { records, damaged } = await replayDeadLetters('/var/lib/agent/buffer', { output: 'archive' });
 * console.log(`${records} records replayed, ${damaged.length} damaged dead letters left`);
 * ```
 */
export async function replayDeadLetters(
  dir: string,
  options: ReplayOptions = {},
): Promise<DeadLetterTotals & { damaged: DeadLetter[] }> {
  const { rejected, segments } = folders(dir);
  const wanted = checkSelection(options, [...SELECTION_KEYS, 'into'], 'replayDeadLetters');
  const into = options.into === undefined ? undefined : safeName(options.into, 'output');
  return withLock(dir, async () => {
    await mkdir(segments, { recursive: true, mode: 0o700 });
    const totals = { chunks: 0, records: 0, bytes: 0 };
    const damaged: DeadLetter[] = [];
    for (const { path, letter, end } of await readAll(rejected, wanted.output, wanted.ids)) {
      if (letter.damage !== undefined) {
        damaged.push(letter);
        continue;
      }
      await reviveFile({ path, letter, end }, segments, into);
      totals.chunks += 1;
      totals.records += letter.recordCount;
      totals.bytes += letter.bytes;
    }
    await syncFolder(segments);
    return { ...totals, damaged };
  });
}

/**
 * For the file storage of a running pool, which holds the folder's lock: one dead letter made a
 * segment again (as {@link replayDeadLetters} does it), its name durable. Resolves with the
 * segment's file name. A damaged one is refused (`CORRUPT_CHUNK`).
 */
export async function reviveDeadLetterFile(
  dir: string,
  output: string,
  id: string,
  into: string | undefined,
): Promise<string> {
  const { rejected, segments } = folders(dir);
  const file = await readLetter(letterPath(rejected, output, id), output).catch(
    (error: unknown) => {
      throw notFoundOr(error, output, id);
    },
  );
  if (file.letter.damage !== undefined) {
    throw new ChunkPoolError(
      'CORRUPT_CHUNK',
      `dead letter ${id} of output ${output} is damaged (${file.letter.damage}): drop it, or read what is left with readDeadLetter()`,
    );
  }
  const name = await reviveFile(
    file,
    segments,
    into === undefined ? undefined : safeName(into, 'output'),
  );
  await syncFolder(segments);
  return name;
}

/** For the file storage of a running pool: one dead letter deleted; resolves with what it was. */
export async function dropDeadLetterFile(
  dir: string,
  output: string,
  id: string,
): Promise<DeadLetter> {
  const { rejected } = folders(dir);
  const path = letterPath(rejected, output, id);
  const { letter } = await readLetter(path, output).catch((error: unknown) => {
    throw notFoundOr(error, output, id);
  });
  await rm(path);
  return letter;
}

/**
 * The reroute (when `into` is another output), then the rename: the commit point. Before it the
 * file is a dead letter, after it a chunk to deliver; killed between the two, the dead letter
 * names its new route and a replay run again finishes it. Resolves with the segment's name.
 */
async function reviveFile(
  { path, letter, end }: Pick<LetterFile, 'path' | 'letter' | 'end'>,
  segments: string,
  into: string | undefined,
): Promise<string> {
  if (into !== undefined && into !== letter.route) {
    const reroute = JSON.stringify([letter.route, into]);
    await appendSynced(path, end, markerFrame(FrameKind.Rerouted, letter.id, reroute));
  }
  await mkdir(segments, { recursive: true, mode: 0o700 });
  const name = await freeName(segments, letter.id);
  await rename(path, join(segments, name));
  return name;
}

/**
 * Deletes the selected dead letters (damaged ones included).
 *
 * @throws {ChunkPoolError} `STORAGE_LOCKED` while a pool holds `dir`; `UNKNOWN_DEAD_LETTER` for
 *   an id that is not there.
 *
 * @example
 * ```ts
 * await dropDeadLetters('/var/lib/agent/buffer', { output: 'debug' });
 * ```
 */
export async function dropDeadLetters(
  dir: string,
  selection: DeadLetterSelection = {},
): Promise<DeadLetterTotals> {
  const { rejected } = folders(dir);
  const wanted = checkSelection(selection, SELECTION_KEYS, 'dropDeadLetters');
  return withLock(dir, async () => {
    const totals = { chunks: 0, records: 0, bytes: 0 };
    for (const { path, letter } of await readAll(rejected, wanted.output, wanted.ids)) {
      await rm(path);
      totals.chunks += 1;
      totals.records += letter.recordCount;
      totals.bytes += letter.bytes;
    }
    return totals;
  });
}

interface LetterFile {
  readonly path: string;
  readonly letter: DeadLetter;
  readonly frames: readonly Frame[];
  /** Where its last whole frame ends. */
  readonly end: number;
}

function folders(dir: string): { rejected: string; segments: string } {
  if (typeof dir !== 'string' || dir === '') {
    throw new TypeError(`dir must be a storage folder path, got ${describeValue(dir)}`);
  }
  return storageFolders(dir);
}

export function checkSelection(
  selection: ReplayOptions,
  known: readonly string[],
  call: string,
): { output: string | undefined; ids: Set<string> | undefined } {
  const checked: ReplayOptions = callOptions(selection, known, `${call}(options)`);
  // A name that becomes a path is checked here, for every call: `into` too, where it is known.
  if (checked.into !== undefined && known.includes('into')) safeName(checked.into, 'into');
  const { output, ids } = checked;
  if (output !== undefined) safeName(output, 'output');
  if (ids === undefined) return { output, ids: undefined };
  if (!Array.isArray(ids) || ids.some((id) => typeof id !== 'string')) {
    throw new TypeError(`${call}: ids must be an array of chunk ids, got ${describeValue(ids)}`);
  }
  for (const id of ids) safeName(id, 'chunk id');
  return { output, ids: new Set(ids) };
}

/** `files`, after checking that each of `ids` is among them. */
function pick(files: LetterFile[], ids: Set<string> | undefined): LetterFile[] {
  if (ids === undefined) return files;
  const missing = [...ids].filter((id) => !files.some((file) => file.letter.id === id));
  if (missing.length > 0) {
    throw new ChunkPoolError('UNKNOWN_DEAD_LETTER', `no dead letter with id ${missing.join(', ')}`);
  }
  return files;
}

/** The dead letters of `output` (every output when undefined), only those of `ids` if given. */
async function readAll(
  rejected: string,
  output: string | undefined,
  ids: Set<string> | undefined,
): Promise<LetterFile[]> {
  const outputs = output === undefined ? await namesIn(rejected) : [output];
  const files: LetterFile[] = [];
  for (const name of outputs) {
    const folder = join(rejected, name);
    for (const file of await namesIn(folder)) {
      if (!file.endsWith(SEGMENT_SUFFIX)) continue; // a `.tmp` of a write a crash cut short
      // Read only what was asked for: the CLI replays one id per call, over thousands.
      if (ids !== undefined && !ids.has(file.slice(0, -SEGMENT_SUFFIX.length))) continue;
      files.push(await readLetter(join(folder, file), name));
    }
  }
  return pick(files, ids);
}

/** Names in a folder; none when it does not exist (no dead letter was ever written there). */
async function namesIn(folder: string): Promise<string[]> {
  try {
    return (await readdir(folder)).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

async function readLetter(path: string, output: string): Promise<LetterFile> {
  const [bytes, info] = await Promise.all([readFile(path), stat(path)]);
  const id = path.slice(path.lastIndexOf('/') + 1, -SEGMENT_SUFFIX.length);
  const { frames, damage } = decodeSegment(bytes);
  const chunk = chunksOfSegment(frames).get(id);
  const reason = frames.find((frame) => frame.kind === FrameKind.DeadLetter && frame.id === id);
  // A dead letter is its preamble, its records frame, its reason and any reroutes. Bytes past
  // its last whole frame are a reroute that a crash or a full disk cut short: not damage (the
  // records and the reason are whole); a replay cuts them off before it appends its own.
  const whole = chunk !== undefined && reason !== undefined && contiguous(bytes, frames);
  const letter: DeadLetter = {
    id,
    output,
    tag: chunk?.header.tag ?? '',
    createdAt: chunk?.header.createdAt ?? 0,
    deadLetteredAt: info.mtimeMs,
    recordCount: chunk?.recordCount ?? 0,
    bytes: chunk?.bytes ?? 0,
    reason: reason?.rest.toString() ?? '',
    route: chunk?.header.routes[0] ?? output,
    damage: whole
      ? undefined
      : (damage ??
        (chunk === undefined
          ? 'no readable records frame'
          : 'no dead-letter frame (a write cut short)')),
  };
  return {
    path,
    letter,
    frames,
    end: frames.reduce((end, f) => Math.max(end, f.offset + f.length), 0),
  };
}

/** Whether `frames` follow the preamble and each other with no gap (damage lies only after them). */
function contiguous(bytes: Buffer, frames: readonly Frame[]): boolean {
  if (!bytes.subarray(0, PREAMBLE.length).equals(PREAMBLE)) return false;
  let at = PREAMBLE.length;
  for (const frame of [...frames].sort((a, b) => a.offset - b.offset)) {
    if (frame.offset !== at) return false;
    at += frame.length;
  }
  return true;
}

function letterPath(rejected: string, output: string, id: string): string {
  return join(rejected, safeName(output, 'output'), `${safeName(id, 'chunk id')}${SEGMENT_SUFFIX}`);
}

function notFoundOr(error: unknown, output: string, id: string): unknown {
  if ((error as NodeJS.ErrnoException).code !== 'ENOENT') return error;
  return new ChunkPoolError('UNKNOWN_DEAD_LETTER', `no dead letter ${id} of output ${output}`);
}

/** A segment name for a replayed dead letter that no segment has. */
async function freeName(segments: string, id: string): Promise<string> {
  for (let n = 0; ; n++) {
    const name = `replay-${id}${n === 0 ? '' : `-${n}`}${SEGMENT_SUFFIX}`;
    const taken = await lstat(join(segments, name)).then(
      () => true,
      (error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return false;
        throw error;
      },
    );
    if (!taken) return name;
  }
}

/** Writes `frame` at `end` (cutting off what a torn write left there); on failure, cuts it back. */
async function appendSynced(path: string, end: number, frame: Buffer): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    await handle.truncate(end);
    try {
      await handle.write(frame, 0, frame.length, end);
      await handle.datasync();
    } catch (error) {
      await handle.truncate(end).catch(() => undefined); // `error` is what the caller needs
      throw error;
    }
  } finally {
    await handle.close();
  }
}

/** Makes the renames into `folder` durable (a folder's entries are synced on the folder). */
async function syncFolder(folder: string): Promise<void> {
  const handle = await open(folder, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** A storage folder that is not there is an error, never one created out of nothing. */
async function requireFolder(dir: string): Promise<void> {
  const info = await stat(dir).catch((error: NodeJS.ErrnoException) => {
    throw new ChunkPoolError('STORAGE_ERROR', `${dir}: not a storage folder (${error.code})`, {
      cause: error,
    });
  });
  if (!info.isDirectory()) {
    throw new ChunkPoolError('STORAGE_ERROR', `${dir}: not a storage folder (not a directory)`);
  }
}

async function withLock<T>(dir: string, call: () => Promise<T>): Promise<T> {
  await requireFolder(dir);
  const lock = await DirLock.acquire(dir);
  try {
    return await call();
  } finally {
    await lock.release();
  }
}
