/**
 * The on-disk form of file storage: segment files, each a log of checksummed frames about the
 * chunks that started in it. A torn tail (a crash in the middle of a write) or a changed byte
 * anywhere costs at most the frame it hits: every frame's head has its own checksum, so a
 * damaged length is never trusted, and reading resumes at the next frame whose checksums hold.
 *
 * ```
 * segment = magic "HFSG" · version u8 (2) · frame*
 * frame   = head · body
 * head    = body length u32be · record count u32be · body crc32 u32be · head crc32 u32be
 *           (the head crc covers the 12 bytes before it)
 * body    = kind u8 · id length u8 · chunk id · rest
 * kinds   = 1 records      rest = header length u16be · header JSON {tag, createdAt, routes}
 *                                 · (length u32be · bytes)*
 *           2 route done   rest = output name
 *           3 deleted      rest = (empty)
 *           4 dead letter  rest = reason (only in files under rejected/)
 *           5 rerouted     rest = JSON [from, to]
 * ```
 *
 * A records frame holds one write of a chunk (the whole chunk when the storage writes at seal
 * time, one append with `fsync: 'always'`), so one CRC covers many records, as in chunkio. Each
 * records frame carries its chunk's header, so it can be delivered whatever other frame is lost.
 * Frames of chunks appended at the same time may interleave.
 *
 * Version 1 (a separate chunk start frame, no head checksum) was never published; version 1
 * files are not read (they read as damage and go to quarantine).
 *
 * Over 300 lines: encoding and decoding of one format side by side, so a change to one is seen
 * next to the other.
 *
 * @module
 */
import { crc32 } from 'node:zlib';
import type { ChunkHeader } from './storage.js';

const MAGIC = Buffer.from('HFSG', 'latin1');
const VERSION = 2;
/** The bytes before a segment's first frame. */
export const PREAMBLE = Buffer.concat([MAGIC, Buffer.from([VERSION])]);
const HEAD_BYTES = 16;
// Kind and id length, at the start of every body (so that the checksum covers the kind too).
const BODY_HEAD_BYTES = 2;
const MAX_ID_BYTES = 255;

export const enum FrameKind {
  Records = 1,
  RouteDone = 2,
  Deleted = 3,
  DeadLetter = 4,
  Rerouted = 5,
}

/** A frame read back from a segment. */
export interface Frame {
  readonly kind: FrameKind;
  readonly id: string;
  /** Where the frame starts in its segment, and its whole length (head included). */
  readonly offset: number;
  readonly length: number;
  /** The record count of its head (0 but for records frames). */
  readonly recordCount: number;
  /** The body after the chunk id. */
  readonly rest: Buffer;
}

/** Records and bytes a damaged segment lost. */
export interface Loss {
  frames: number;
  records: number;
  bytes: number;
}

/** A chunk header as records frames carry it. */
export function encodeHeader(header: ChunkHeader): Buffer {
  return Buffer.from(
    JSON.stringify({ tag: header.tag, createdAt: header.createdAt, routes: header.routes }),
  );
}

/** A route done, deleted, dead letter or rerouted frame. */
export function markerFrame(
  kind: FrameKind.RouteDone | FrameKind.Deleted | FrameKind.DeadLetter | FrameKind.Rerouted,
  id: string,
  text = '',
): Buffer {
  if (Buffer.byteLength(id, 'latin1') > MAX_ID_BYTES) throw new Error(`chunk id too long: ${id}`);
  const rest = Buffer.from(text);
  const frame = Buffer.allocUnsafe(HEAD_BYTES + BODY_HEAD_BYTES + id.length + rest.length);
  let at = frame.writeUInt8(kind, HEAD_BYTES);
  at = frame.writeUInt8(id.length, at);
  at += frame.write(id, at, 'latin1');
  frame.set(rest, at);
  frame.writeUInt32BE(frame.length - HEAD_BYTES, 0);
  frame.writeUInt32BE(0, 4);
  fillChecksums(frame, 0);
  return frame;
}

/** The length of the records frame {@link writeRecordsFrame} writes for these records. */
export function recordsFrameLength(id: string, header: Buffer, records: readonly Buffer[]): number {
  let length = HEAD_BYTES + BODY_HEAD_BYTES + Buffer.byteLength(id, 'latin1') + 2 + header.length;
  for (const record of records) length += 4 + record.length;
  return length;
}

/**
 * Writes a records frame into `target` at `offset` (which must have room for
 * {@link recordsFrameLength} bytes) and returns the offset after it. Its checksums are left
 * blank: {@link fillChecksums} fills them in.
 */
export function writeRecordsFrame(
  target: Buffer,
  offset: number,
  id: string,
  header: Buffer,
  records: readonly Buffer[],
): number {
  const bodyStart = offset + HEAD_BYTES;
  let at = target.writeUInt8(FrameKind.Records, bodyStart);
  at = target.writeUInt8(id.length, at);
  at += target.write(id, at, 'latin1');
  at = target.writeUInt16BE(header.length, at);
  target.set(header, at);
  at += header.length;
  for (const record of records) {
    const length = record.length;
    // Byte by byte rather than `writeUInt32BE`, and `set` rather than `record.copy`: the same
    // bytes without per-call argument checks, which cost more than copying 200 bytes.
    target[at] = length >>> 24;
    target[at + 1] = (length >>> 16) & 0xff;
    target[at + 2] = (length >>> 8) & 0xff;
    target[at + 3] = length & 0xff;
    target.set(record, at + 4);
    at += 4 + length;
  }
  target.writeUInt32BE(at - bodyStart, offset);
  target.writeUInt32BE(records.length, offset + 4);
  return at;
}

/** Fills in the body and head checksums of the frame at `offset` (its length and count set). */
export function fillChecksums(buffer: Buffer, offset: number): void {
  const bodyStart = offset + HEAD_BYTES;
  const bodyEnd = bodyStart + buffer.readUInt32BE(offset);
  buffer.writeUInt32BE(crc32(buffer.subarray(bodyStart, bodyEnd)), offset + 8);
  buffer.writeUInt32BE(crc32(buffer.subarray(offset, offset + 12)), offset + 12);
}

/** A records frame's header and records, or `undefined` if they do not add up. */
export function parseRecords(
  frame: Pick<Frame, 'id' | 'rest'>,
): { header: ChunkHeader; records: Buffer[] } | undefined {
  const { rest } = frame;
  if (rest.length < 2) return undefined;
  const headerEnd = 2 + rest.readUInt16BE(0);
  if (headerEnd > rest.length) return undefined;
  const header = parseHeader(frame.id, rest.subarray(2, headerEnd));
  const records = splitRecords(rest.subarray(headerEnd));
  return header === undefined || records === undefined ? undefined : { header, records };
}

function splitRecords(bytes: Buffer): Buffer[] | undefined {
  const records: Buffer[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    if (bytes.length - offset < 4) return undefined;
    const length = bytes.readUInt32BE(offset);
    offset += 4;
    if (bytes.length - offset < length) return undefined;
    // Views into the buffer read from disk, which holds only this frame: no copy.
    records.push(bytes.subarray(offset, offset + length));
    offset += length;
  }
  return records;
}

function parseHeader(id: string, json: Buffer): ChunkHeader | undefined {
  try {
    const value = JSON.parse(json.toString()) as Partial<ChunkHeader>;
    if (
      typeof value.tag === 'string' &&
      typeof value.createdAt === 'number' &&
      Array.isArray(value.routes) &&
      value.routes.every((route) => typeof route === 'string')
    ) {
      return { id, tag: value.tag, createdAt: value.createdAt, routes: value.routes };
    }
  } catch {
    // Falls through: a checksummed frame that is not JSON is still not a header.
  }
  return undefined;
}

/** A rerouted frame's `[from, to]`, or `undefined`. */
export function parseReroute(frame: Frame): [string, string] | undefined {
  try {
    const value: unknown = JSON.parse(frame.rest.toString());
    if (
      Array.isArray(value) &&
      value.length === 2 &&
      typeof value[0] === 'string' &&
      typeof value[1] === 'string'
    ) {
      return [value[0], value[1]];
    }
  } catch {
    // Falls through.
  }
  return undefined;
}

/** What a segment holds, as far as it could be read. */
export interface DecodedSegment {
  /** Every frame whose checksums hold, in file order. */
  readonly frames: Frame[];
  /** What was wrong, or `undefined` when the whole segment is valid. */
  readonly damage: string | undefined;
  /** What the damage cost (records counted where the damaged frame still says how many). */
  readonly lost: Loss;
}

/**
 * Decodes a whole segment. Never throws on bad bytes. A frame whose body checksum fails is
 * skipped (its head, checked on its own, still says where the next one starts); a frame whose
 * head is damaged is skipped by scanning for the next offset where a whole valid frame starts;
 * a damaged preamble is reported and the frames after it are still read; a frame that runs past
 * the end of the file is a torn tail, and reading stops there.
 */
export function decodeSegment(bytes: Buffer): DecodedSegment {
  const frames: Frame[] = [];
  const lost: Loss = { frames: 0, records: 0, bytes: 0 };
  // Created, and its first write failed (cut back to nothing) or never came: empty, not damaged.
  if (bytes.length === 0) return { frames, damage: undefined, lost };
  const problems: string[] = [];
  if (bytes.length < PREAMBLE.length || !bytes.subarray(0, MAGIC.length).equals(MAGIC)) {
    problems.push('bad magic (not a segment file, or a damaged preamble)');
  } else if (bytes.readUInt8(MAGIC.length) !== VERSION) {
    problems.push(`unknown segment file version ${bytes.readUInt8(MAGIC.length)}`);
  }
  let offset = Math.min(PREAMBLE.length, bytes.length);
  if (bytes.length < PREAMBLE.length) lost.bytes += bytes.length;
  while (offset < bytes.length) {
    const read = readFrame(bytes, offset);
    if (read.frame !== undefined) {
      frames.push(read.frame);
      offset += read.frame.length;
      continue;
    }
    problems.push(`${read.problem} at byte ${offset}`);
    lost.frames += 1;
    if (read.end === undefined) {
      // The head cannot be trusted: resume at the next whole frame.
      const next = nextFrameStart(bytes, offset + 1);
      lost.bytes += next - offset;
      lost.records += recordsInRegion(bytes, offset, next);
      offset = next;
    } else {
      lost.bytes += Math.min(read.end, bytes.length) - offset;
      lost.records += read.recordCount;
      if (read.end > bytes.length) break; // A torn tail: nothing after it.
      offset = read.end;
    }
  }
  return { frames, damage: problems.length === 0 ? undefined : problems.join('; '), lost };
}

/** A frame read at an offset: the frame, or what is wrong (with its end if its head holds). */
type FrameRead =
  | { readonly frame: Frame; readonly problem?: undefined }
  | {
      readonly frame?: undefined;
      readonly problem: string;
      /** Where the frame ends by its (valid) head; `undefined` when the head is damaged. */
      readonly end: number | undefined;
      readonly recordCount: number;
    };

function readFrame(bytes: Buffer, offset: number): FrameRead {
  if (bytes.length - offset < HEAD_BYTES) {
    return { problem: 'torn frame head', end: undefined, recordCount: 0 };
  }
  if (crc32(bytes.subarray(offset, offset + 12)) !== bytes.readUInt32BE(offset + 12)) {
    return { problem: 'damaged frame head', end: undefined, recordCount: 0 };
  }
  const bodyStart = offset + HEAD_BYTES;
  const end = bodyStart + bytes.readUInt32BE(offset);
  const recordCount = bytes.readUInt32BE(offset + 4);
  if (end > bytes.length) return { problem: 'torn frame', end, recordCount };
  const body = bytes.subarray(bodyStart, end);
  if (crc32(body) !== bytes.readUInt32BE(offset + 8)) {
    return { problem: 'checksum mismatch in the frame', end, recordCount };
  }
  const frame = parseBody(body, offset, recordCount);
  return frame === undefined ? { problem: 'malformed frame', end, recordCount } : { frame };
}

function parseBody(body: Buffer, offset: number, recordCount: number): Frame | undefined {
  if (body.length < BODY_HEAD_BYTES) return undefined;
  const kind = body.readUInt8(0) as FrameKind;
  const idEnd = BODY_HEAD_BYTES + body.readUInt8(1);
  if (kind < FrameKind.Records || kind > FrameKind.Rerouted) return undefined;
  if (idEnd === BODY_HEAD_BYTES || idEnd > body.length) return undefined;
  return {
    kind,
    id: body.toString('latin1', BODY_HEAD_BYTES, idEnd),
    offset,
    length: HEAD_BYTES + body.length,
    recordCount,
    rest: body.subarray(idEnd),
  };
}

/**
 * The first offset from `from` where a frame with a valid head starts whose body is whole and
 * valid, or runs past the end (a torn tail); the end of `bytes` if there is none. Only run after
 * damage, so a scan byte by byte (one 12-byte head checksum per offset) is fine.
 */
function nextFrameStart(bytes: Buffer, from: number): number {
  for (let at = from; at + HEAD_BYTES <= bytes.length; at++) {
    const read = readFrame(bytes, at);
    if (read.frame !== undefined || (read.end !== undefined && read.end > bytes.length)) return at;
  }
  return bytes.length;
}

/**
 * The records of a frame whose head was damaged, from its body (`[offset + head, end)`) when the
 * body still parses as a records frame; 0 when nothing can be told.
 */
function recordsInRegion(bytes: Buffer, offset: number, end: number): number {
  const body = parseBody(bytes.subarray(offset + HEAD_BYTES, end), offset, 0);
  if (body?.kind !== FrameKind.Records) return 0;
  return parseRecords(body)?.records.length ?? 0;
}

/** Decodes the single frame `bytes` should hold, or says what is wrong with it. */
export function decodeFrame(bytes: Buffer, offset: number): Frame | string {
  const read = readFrame(bytes, offset);
  return read.frame ?? `${read.problem} at byte ${offset}`;
}
