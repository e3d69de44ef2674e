/**
 * The on-disk form of file storage: segment files, each a log of checksummed frames about the
 * chunks that started in it, so a torn tail (a crash in the middle of a write) or a flipped byte
 * is detected on read.
 *
 * ```
 * segment = magic "HFSG" · version u8 · frame*
 * frame   = length u32be (of body) · crc32 u32be (of body) · body
 * body    = kind u8 · id length u8 · chunk id · rest
 * kinds   = 0 chunk start   rest = JSON {tag, createdAt, routes}
 *           1 records       rest = (length u32be · bytes)*
 *           2 route done    rest = output name
 *           3 deleted       rest = (empty)
 *           4 dead letter   rest = reason (only in files under rejected/)
 * ```
 *
 * A records frame holds one write of a chunk (the whole chunk when the storage writes at seal
 * time, one append with `fsync: 'always'`), so one CRC covers many records, as in chunkio. Every
 * frame names its chunk, so frames of chunks appended at the same time may interleave.
 *
 * @module
 */
import { crc32 } from 'node:zlib';
import type { ChunkHeader } from './storage.js';

const MAGIC = Buffer.from('HFSG', 'latin1');
const VERSION = 1;
/** The bytes before a segment's first frame. */
export const PREAMBLE = Buffer.concat([MAGIC, Buffer.from([VERSION])]);
const FRAME_HEAD_BYTES = 8;
// Kind and id length, at the start of every body (so that the checksum covers the kind too).
const BODY_HEAD_BYTES = 2;
const MAX_ID_BYTES = 255;

export const enum FrameKind {
  ChunkStart = 0,
  Records = 1,
  RouteDone = 2,
  Deleted = 3,
  DeadLetter = 4,
}

/** A frame read back from a segment. */
export interface Frame {
  readonly kind: FrameKind;
  readonly id: string;
  /** Where the frame starts in its segment, and its whole length (head included). */
  readonly offset: number;
  readonly length: number;
  /** The body after the chunk id. */
  readonly rest: Buffer;
}

/** A chunk start frame: the chunk's header. */
export function chunkStartFrame(header: ChunkHeader): Buffer {
  const json = JSON.stringify({
    tag: header.tag,
    createdAt: header.createdAt,
    routes: header.routes,
  });
  return smallFrame(FrameKind.ChunkStart, header.id, json);
}

/** A route done, deleted or dead letter frame. */
export function markerFrame(
  kind: FrameKind.RouteDone | FrameKind.Deleted | FrameKind.DeadLetter,
  id: string,
  text = '',
): Buffer {
  return smallFrame(kind, id, text);
}

/** The length of the records frame {@link writeRecordsFrame} writes for these records. */
export function recordsFrameLength(id: string, records: readonly Buffer[]): number {
  let length = FRAME_HEAD_BYTES + BODY_HEAD_BYTES + Buffer.byteLength(id, 'latin1');
  for (const record of records) length += 4 + record.length;
  return length;
}

/**
 * Writes a records frame into `target` at `offset` (which must have room for
 * {@link recordsFrameLength} bytes) and returns the offset after it. Its checksum is left blank:
 * {@link fillChecksum} fills it in, or the segment writer thread does (see {@link checksumRange}).
 */
export function writeRecordsFrame(
  target: Buffer,
  offset: number,
  id: string,
  records: readonly Buffer[],
): number {
  const bodyStart = offset + FRAME_HEAD_BYTES;
  let at = target.writeUInt8(FrameKind.Records, bodyStart);
  at = target.writeUInt8(id.length, at);
  at += target.write(id, at, 'latin1');
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
  return at;
}

/** Where the checksum of a frame goes: the CRC32 of `[bodyStart, bodyEnd)` is written at `at`. */
export interface ChecksumRange {
  readonly bodyStart: number;
  readonly bodyEnd: number;
  readonly at: number;
}

/** The checksum range of the frame starting at `offset` of `buffer`. */
export function checksumRange(buffer: Buffer, offset: number): ChecksumRange {
  const bodyStart = offset + FRAME_HEAD_BYTES;
  return { bodyStart, bodyEnd: bodyStart + buffer.readUInt32BE(offset), at: offset + 4 };
}

/** Fills in a checksum (see {@link checksumRange}) in this thread. */
export function fillChecksum(buffer: Buffer, { bodyStart, bodyEnd, at }: ChecksumRange): void {
  buffer.writeUInt32BE(crc32(buffer.subarray(bodyStart, bodyEnd)), at);
}

/** A records frame's records, or `undefined` if their lengths do not add up. */
export function splitRecords(rest: Buffer): Buffer[] | undefined {
  const records: Buffer[] = [];
  let offset = 0;
  while (offset < rest.length) {
    if (rest.length - offset < 4) return undefined;
    const length = rest.readUInt32BE(offset);
    offset += 4;
    if (rest.length - offset < length) return undefined;
    // Views into the buffer read from disk, which holds only this frame: no copy.
    records.push(rest.subarray(offset, offset + length));
    offset += length;
  }
  return records;
}

/** A chunk start frame's header, or `undefined` if the frame does not hold one. */
export function parseChunkStart(frame: Frame): ChunkHeader | undefined {
  try {
    const value = JSON.parse(frame.rest.toString()) as Partial<ChunkHeader>;
    if (
      typeof value.tag === 'string' &&
      typeof value.createdAt === 'number' &&
      Array.isArray(value.routes) &&
      value.routes.every((route) => typeof route === 'string')
    ) {
      return { id: frame.id, tag: value.tag, createdAt: value.createdAt, routes: value.routes };
    }
  } catch {
    // Falls through: a checksummed frame that is not JSON is still not a header.
  }
  return undefined;
}

/** What a segment holds, as far as it could be read. */
export interface DecodedSegment {
  /** Every frame whose checksum holds, in file order. */
  readonly frames: Frame[];
  /** What was wrong, or `undefined` when the whole segment is valid. */
  readonly damage: string | undefined;
}

/**
 * Decodes a whole segment. Never throws on bad bytes. A frame whose checksum fails is skipped
 * (its length still says where the next one starts); a frame head that runs past the end of the
 * file is a torn tail, and reading stops there.
 */
export function decodeSegment(bytes: Buffer): DecodedSegment {
  const frames: Frame[] = [];
  // Created, and its first write failed (cut back to nothing) or never came: empty, not damaged.
  if (bytes.length === 0) return { frames, damage: undefined };
  if (bytes.length < PREAMBLE.length || !bytes.subarray(0, MAGIC.length).equals(MAGIC)) {
    return { frames, damage: 'not a segment file (bad magic)' };
  }
  if (bytes.readUInt8(MAGIC.length) !== VERSION) {
    return { frames, damage: 'unknown segment file version' };
  }
  const problems: string[] = [];
  let offset = PREAMBLE.length;
  while (offset < bytes.length) {
    const frame = decodeFrame(bytes, offset);
    if (typeof frame === 'string') {
      problems.push(frame);
      if (frame.startsWith('torn')) break;
    } else {
      frames.push(frame);
    }
    offset += FRAME_HEAD_BYTES + bytes.readUInt32BE(offset);
  }
  return { frames, damage: problems.length === 0 ? undefined : problems.join('; ') };
}

/**
 * Decodes the frame at `offset` of `bytes`, or says what is wrong with it: a message starting
 * with "torn" when it runs past the end of `bytes`.
 */
export function decodeFrame(bytes: Buffer, offset: number): Frame | string {
  if (bytes.length - offset < FRAME_HEAD_BYTES) return `torn frame head at byte ${offset}`;
  const bodyLength = bytes.readUInt32BE(offset);
  const bodyStart = offset + FRAME_HEAD_BYTES;
  if (bytes.length - bodyStart < bodyLength) return `torn frame at byte ${offset}`;
  const body = bytes.subarray(bodyStart, bodyStart + bodyLength);
  if (crc32(body) !== bytes.readUInt32BE(offset + 4)) {
    return `checksum mismatch in the frame at byte ${offset}`;
  }
  const kind = (body.length < BODY_HEAD_BYTES ? -1 : body.readUInt8(0)) as FrameKind;
  const idEnd = BODY_HEAD_BYTES + (body.length < BODY_HEAD_BYTES ? 0 : body.readUInt8(1));
  if (kind < 0 || kind > FrameKind.DeadLetter || idEnd === BODY_HEAD_BYTES || idEnd > body.length) {
    return `malformed frame at byte ${offset}`;
  }
  return {
    kind,
    id: body.toString('latin1', BODY_HEAD_BYTES, idEnd),
    offset,
    length: FRAME_HEAD_BYTES + bodyLength,
    rest: body.subarray(idEnd),
  };
}

function smallFrame(kind: FrameKind, id: string, text: string): Buffer {
  if (Buffer.byteLength(id, 'latin1') > MAX_ID_BYTES) throw new Error(`chunk id too long: ${id}`);
  const rest = Buffer.from(text);
  const frame = Buffer.allocUnsafe(FRAME_HEAD_BYTES + BODY_HEAD_BYTES + id.length + rest.length);
  let at = frame.writeUInt8(kind, FRAME_HEAD_BYTES);
  at = frame.writeUInt8(id.length, at);
  at += frame.write(id, at, 'latin1');
  frame.set(rest, at);
  frame.writeUInt32BE(frame.length - FRAME_HEAD_BYTES, 0);
  fillChecksum(frame, checksumRange(frame, 0));
  return frame;
}
