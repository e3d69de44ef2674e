import { fc, test as propertyTest } from '@fast-check/vitest';
import { describe, expect, test } from 'vitest';
import {
  checksumRange,
  chunkStartFrame,
  decodeFrame,
  decodeSegment,
  fillChecksum,
  FrameKind,
  markerFrame,
  parseChunkStart,
  PREAMBLE,
  recordsFrameLength,
  splitRecords,
  writeRecordsFrame,
} from '../src/storage/segment-format.js';

const header = { id: 'c-1', tag: 'app', createdAt: 7, routes: ['a', 'b'] };

function recordsFrame(id: string, records: readonly Buffer[]): Buffer {
  const frame = Buffer.alloc(recordsFrameLength(id, records));
  writeRecordsFrame(frame, 0, id, records);
  fillChecksum(frame, checksumRange(frame, 0));
  return frame;
}

function segment(...frames: Buffer[]): Buffer {
  return Buffer.concat([PREAMBLE, ...frames]);
}

const recordsArbitrary = fc.array(
  fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
  { maxLength: 20 },
);

describe('segment format', () => {
  test('frames of several kinds read back, in order, with their chunk ids', () => {
    const records = [Buffer.from('one'), Buffer.from('two')];
    const { frames, damage } = decodeSegment(
      segment(
        chunkStartFrame(header),
        recordsFrame('c-1', records),
        markerFrame(FrameKind.RouteDone, 'c-1', 'a'),
        markerFrame(FrameKind.Deleted, 'c-2'),
      ),
    );
    expect(damage).toBeUndefined();
    expect(frames.map((frame) => [frame.kind, frame.id])).toEqual([
      [FrameKind.ChunkStart, 'c-1'],
      [FrameKind.Records, 'c-1'],
      [FrameKind.RouteDone, 'c-1'],
      [FrameKind.Deleted, 'c-2'],
    ]);
    expect(parseChunkStart(frames[0] as never)).toEqual(header);
    expect(splitRecords((frames[1] as { rest: Buffer }).rest)).toEqual(records);
    expect((frames[2] as { rest: Buffer }).rest.toString()).toBe('a');
  });

  test('a frame whose checksum fails is skipped; the frames after it still read', () => {
    const bytes = segment(
      chunkStartFrame(header),
      recordsFrame('c-1', [Buffer.from('damaged')]),
      markerFrame(FrameKind.RouteDone, 'c-1', 'a'),
    );
    const recordsAt = PREAMBLE.length + chunkStartFrame(header).length;
    bytes.writeUInt8((bytes.readUInt8(recordsAt + 14) ^ 0x01) & 0xff, recordsAt + 14); // inside the records frame's body
    const { frames, damage } = decodeSegment(bytes);
    expect(damage).toMatch(/checksum mismatch/);
    expect(frames.map((frame) => frame.kind)).toEqual([FrameKind.ChunkStart, FrameKind.RouteDone]);
  });

  test('a torn tail keeps every complete frame before it', () => {
    const bytes = segment(chunkStartFrame(header), recordsFrame('c-1', [Buffer.from('whole')]));
    const { frames, damage } = decodeSegment(bytes.subarray(0, bytes.length - 3));
    expect(damage).toMatch(/^torn frame/);
    expect(frames.map((frame) => frame.kind)).toEqual([FrameKind.ChunkStart]);
  });

  test('an empty file is an empty segment; other bytes without the magic are damage', () => {
    expect(decodeSegment(Buffer.alloc(0))).toEqual({ frames: [], damage: undefined });
    expect(decodeSegment(Buffer.from('not a segment')).damage).toMatch(/bad magic/);
  });

  propertyTest.prop([fc.string({ minLength: 1, maxLength: 40 }), recordsArbitrary])(
    'records written to a frame read back as they were',
    (id, records) => {
      const frame = decodeFrame(recordsFrame(id, records), 0);
      if (typeof frame === 'string') throw new Error(frame);
      expect(frame.kind).toBe(FrameKind.Records);
      expect(frame.id).toBe(Buffer.from(id, 'latin1').toString('latin1'));
      expect(splitRecords(frame.rest)).toEqual(records);
    },
  );

  propertyTest.prop([recordsArbitrary, fc.nat(), fc.integer({ min: 1, max: 255 })])(
    'any changed byte of a frame — head, kind, id or records — is detected',
    (records, position, flip) => {
      const frame = recordsFrame('c-1', records);
      const at = position % frame.length;
      frame[at] = (frame[at] as number) ^ flip;
      expect(typeof decodeFrame(frame, 0)).toBe('string');
    },
  );
});
