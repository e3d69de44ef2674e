/**
 * The on-disk form of a chunk: an append-only file whose every part is checksummed, so a torn
 * tail (a crash in the middle of a write) or a flipped byte is detected on read.
 *
 * ```
 * file    = magic "HFCK" · version u8 · frame(header JSON) · frame*
 * frame   = kind u8 · length u32be · crc32 u32be (of payload) · payload
 * kinds   = 0 header {id, tag, createdAt, routes} · 1 records · 2 route done (output name)
 * records = (length u32be · bytes)*
 * ```
 *
 * A records frame holds one append (all records of the chunk in one frame when the storage
 * writes at seal time, one frame per append with `fsync: 'always'`), so one CRC covers many
 * records, as in chunkio.
 *
 * @module
 */
import { crc32 } from 'node:zlib';
import type { ChunkHeader } from './storage.js';

const MAGIC = Buffer.from('HFCK', 'latin1');
const VERSION = 1;
const PREAMBLE_BYTES = MAGIC.length + 1;
const FRAME_HEAD_BYTES = 9;

const enum FrameKind {
  Header = 0,
  Records = 1,
  RouteDone = 2,
}

/** The bytes that start a chunk file: magic, version and the header frame. */
export function encodePreamble(header: ChunkHeader): Buffer {
  const json = Buffer.from(
    JSON.stringify({
      id: header.id,
      tag: header.tag,
      createdAt: header.createdAt,
      routes: header.routes,
    }),
  );
  const preamble = Buffer.allocUnsafe(PREAMBLE_BYTES);
  MAGIC.copy(preamble, 0);
  preamble.writeUInt8(VERSION, MAGIC.length);
  return Buffer.concat([preamble, frame(FrameKind.Header, [json])]);
}

/** One records frame holding `records`: a frame head and one payload buffer (one CRC pass). */
export function encodeRecords(records: readonly Buffer[]): Buffer[] {
  let length = 0;
  for (const record of records) length += 4 + record.length;
  const payload = Buffer.allocUnsafe(length);
  let offset = 0;
  for (const record of records) {
    offset = payload.writeUInt32BE(record.length, offset);
    // `set` rather than `record.copy`: the same bytes, without `copy`'s per-call argument checks.
    payload.set(record, offset);
    offset += record.length;
  }
  return frameParts(FrameKind.Records, [payload]);
}

/** A route-done frame for `output`. */
export function encodeRouteDone(output: string): Buffer {
  return frame(FrameKind.RouteDone, [Buffer.from(output)]);
}

/** What a chunk file holds, as far as it could be read. */
export interface DecodedChunkFile {
  /** `undefined` when even the header is unreadable. */
  readonly header: ChunkHeader | undefined;
  readonly records: Buffer[];
  readonly doneRoutes: string[];
  /** Why reading stopped before the end of the file, or `undefined` when the whole file is valid. */
  readonly damage: string | undefined;
}

/**
 * Decodes a whole chunk file. Never throws on bad bytes: it returns what precedes the first bad
 * frame and says why it stopped, so the caller can recover the prefix and quarantine the file.
 */
export function decodeChunkFile(bytes: Buffer): DecodedChunkFile {
  const records: Buffer[] = [];
  const doneRoutes: string[] = [];
  if (bytes.length < PREAMBLE_BYTES || !bytes.subarray(0, MAGIC.length).equals(MAGIC)) {
    return { header: undefined, records, doneRoutes, damage: 'not a chunk file (bad magic)' };
  }
  if (bytes.readUInt8(MAGIC.length) !== VERSION) {
    return { header: undefined, records, doneRoutes, damage: 'unknown chunk file version' };
  }
  let header: ChunkHeader | undefined;
  let offset = PREAMBLE_BYTES;
  while (offset < bytes.length) {
    if (bytes.length - offset < FRAME_HEAD_BYTES) {
      return { header, records, doneRoutes, damage: `torn frame head at byte ${offset}` };
    }
    const kind = bytes.readUInt8(offset);
    const length = bytes.readUInt32BE(offset + 1);
    const expectedCrc = bytes.readUInt32BE(offset + 5);
    const start = offset + FRAME_HEAD_BYTES;
    if (bytes.length - start < length) {
      return { header, records, doneRoutes, damage: `torn frame at byte ${offset}` };
    }
    const payload = bytes.subarray(start, start + length);
    if (crc32(payload) !== expectedCrc) {
      return {
        header,
        records,
        doneRoutes,
        damage: `checksum mismatch in frame at byte ${offset}`,
      };
    }
    if (header === undefined && kind !== FrameKind.Header) {
      return { header, records, doneRoutes, damage: 'first frame is not the header' };
    }
    if (kind === FrameKind.Header) {
      header = parseHeader(payload);
      if (header === undefined) {
        return { header, records, doneRoutes, damage: 'header frame is not a chunk header' };
      }
    } else if (kind === FrameKind.Records) {
      const parsed = splitRecords(payload);
      if (parsed === undefined) {
        return { header, records, doneRoutes, damage: `bad record lengths at byte ${offset}` };
      }
      records.push(...parsed);
    } else if (kind === FrameKind.RouteDone) {
      doneRoutes.push(payload.toString());
    } else {
      return {
        header,
        records,
        doneRoutes,
        damage: `unknown frame kind ${kind} at byte ${offset}`,
      };
    }
    offset = start + length;
  }
  if (header === undefined) return { header, records, doneRoutes, damage: 'no header frame' };
  return { header, records, doneRoutes, damage: undefined };
}

function frame(kind: FrameKind, parts: readonly Buffer[]): Buffer {
  return Buffer.concat(frameParts(kind, parts));
}

function frameParts(kind: FrameKind, parts: readonly Buffer[]): Buffer[] {
  let length = 0;
  let crc = 0;
  for (const part of parts) {
    length += part.length;
    crc = crc32(part, crc);
  }
  const head = Buffer.allocUnsafe(FRAME_HEAD_BYTES);
  head.writeUInt8(kind, 0);
  head.writeUInt32BE(length, 1);
  head.writeUInt32BE(crc, 5);
  return [head, ...parts];
}

function splitRecords(payload: Buffer): Buffer[] | undefined {
  const records: Buffer[] = [];
  let offset = 0;
  while (offset < payload.length) {
    if (payload.length - offset < 4) return undefined;
    const length = payload.readUInt32BE(offset);
    offset += 4;
    if (payload.length - offset < length) return undefined;
    // Views into the file's buffer, which holds only this chunk: no copy.
    records.push(payload.subarray(offset, offset + length));
    offset += length;
  }
  return records;
}

function parseHeader(payload: Buffer): ChunkHeader | undefined {
  try {
    const value = JSON.parse(payload.toString()) as Partial<ChunkHeader>;
    if (
      typeof value.id === 'string' &&
      typeof value.tag === 'string' &&
      typeof value.createdAt === 'number' &&
      Array.isArray(value.routes) &&
      value.routes.every((route) => typeof route === 'string')
    ) {
      return { id: value.id, tag: value.tag, createdAt: value.createdAt, routes: value.routes };
    }
  } catch {
    // Falls through: a checksummed frame that is not JSON is still not a header.
  }
  return undefined;
}
