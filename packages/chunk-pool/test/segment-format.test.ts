import { fc, test as propertyTest } from '@fast-check/vitest';
import { describe, expect, test } from 'vitest';
import {
  decodeFrame,
  decodeSegment,
  encodeHeader,
  fillChecksums,
  FrameKind,
  markerFrame,
  parseRecords,
  parseReroute,
  PREAMBLE,
  recordsFrameLength,
  writeRecordsFrame,
  type Frame,
} from '../src/storage/segment-format.js';

const header = { id: 'c-1', tag: 'app', createdAt: 7, routes: ['a', 'b'] };

function recordsFrame(id: string, records: readonly Buffer[]): Buffer {
  const headerBytes = encodeHeader({ ...header, id });
  const frame = Buffer.alloc(recordsFrameLength(id, headerBytes, records));
  writeRecordsFrame(frame, 0, id, headerBytes, records);
  fillChecksums(frame, 0);
  return frame;
}

function segment(...frames: Buffer[]): Buffer {
  return Buffer.concat([PREAMBLE, ...frames]);
}

const recordsOf = (frame: Frame | undefined) =>
  frame === undefined ? undefined : parseRecords(frame)?.records;

const recordsArbitrary = fc.array(
  fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
  { maxLength: 20 },
);

describe('segment format', () => {
  test('frames of several kinds read back, in order, with their chunk ids', () => {
    const records = [Buffer.from('one'), Buffer.from('two')];
    const { frames, damage } = decodeSegment(
      segment(
        recordsFrame('c-1', records),
        markerFrame(FrameKind.RouteDone, 'c-1', 'a'),
        markerFrame(FrameKind.Deleted, 'c-2'),
      ),
    );
    expect(damage).toBeUndefined();
    expect(frames.map((frame) => [frame.kind, frame.id])).toEqual([
      [FrameKind.Records, 'c-1'],
      [FrameKind.RouteDone, 'c-1'],
      [FrameKind.Deleted, 'c-2'],
    ]);
    expect(parseRecords(frames[0] as Frame)).toEqual({ header, records });
    expect(frames[0]?.recordCount).toBe(2);
    expect((frames[1] as Frame).rest.toString()).toBe('a');
  });

  test('a frame whose body checksum fails is skipped and counted; the frames after it still read', () => {
    const damaged = recordsFrame('c-1', [Buffer.from('damaged'), Buffer.from('too')]);
    const bytes = segment(damaged, markerFrame(FrameKind.RouteDone, 'c-2', 'a'));
    flip(bytes, PREAMBLE.length + damaged.length - 2, 0x01); // inside the records
    const { frames, damage, lost } = decodeSegment(bytes);
    expect(damage).toMatch(/checksum mismatch/);
    expect(frames.map((frame) => frame.kind)).toEqual([FrameKind.RouteDone]);
    expect(lost).toEqual({ frames: 1, records: 2, bytes: damaged.length });
  });

  test('a damaged length is not trusted: reading resumes at the next valid frame', () => {
    const first = recordsFrame('c-1', [Buffer.from('lost')]);
    const bytes = segment(first, recordsFrame('c-2', [Buffer.from('kept')]));
    flip(bytes, PREAMBLE.length + 2, 0x10); // the first frame's length
    const { frames, damage, lost } = decodeSegment(bytes);
    expect(damage).toMatch(/damaged frame head/);
    expect(frames.map((frame) => recordsOf(frame)?.map(String))).toEqual([['kept']]);
    expect(lost).toEqual({ frames: 1, records: 1, bytes: first.length });
  });

  test('a damaged preamble is reported, and the frames behind it are still read', () => {
    for (const at of [0, 4]) {
      const bytes = segment(recordsFrame('c-1', [Buffer.from('kept')]));
      flip(bytes, at, 0xff);
      const { frames, damage, lost } = decodeSegment(bytes);
      expect(damage).toMatch(/magic|version/);
      expect(frames.map((frame) => recordsOf(frame)?.map(String))).toEqual([['kept']]);
      expect(lost.records).toBe(0);
    }
  });

  test('a torn tail keeps every complete frame before it', () => {
    const torn = recordsFrame('c-2', [Buffer.from('whole')]);
    const bytes = segment(recordsFrame('c-1', [Buffer.from('kept')]), torn);
    const { frames, damage, lost } = decodeSegment(bytes.subarray(0, bytes.length - 3));
    expect(damage).toMatch(/^torn frame/);
    expect(frames.map((frame) => frame.id)).toEqual(['c-1']);
    expect(lost).toEqual({ frames: 1, records: 1, bytes: torn.length - 3 });
  });

  test('an empty file is an empty segment; other bytes without the magic are damage', () => {
    expect(decodeSegment(Buffer.alloc(0)).damage).toBeUndefined();
    expect(decodeSegment(Buffer.from('not a segment')).damage).toMatch(/bad magic/);
  });

  propertyTest.prop([fc.string({ minLength: 1, maxLength: 40 }), recordsArbitrary])(
    'records written to a frame read back as they were',
    (id, records) => {
      const frame = decodeFrame(recordsFrame(id, records), 0);
      if (typeof frame === 'string') throw new Error(frame);
      expect(frame.kind).toBe(FrameKind.Records);
      expect(frame.id).toBe(Buffer.from(id, 'latin1').toString('latin1'));
      expect(recordsOf(frame)).toEqual(records);
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

  propertyTest.prop([
    fc.array(fc.oneof(recordsArbitrary, fc.constant(null)), { minLength: 1, maxLength: 6 }),
    fc.nat(),
    fc.integer({ min: 1, max: 255 }),
  ])(
    'any single changed byte anywhere in a segment loses at most the frame it hits, counted',
    (contents, position, flip) => {
      // Records frames of chunks c-0, c-1, ..., and route-done markers where `contents` has null.
      const frames = contents.map((records, i) =>
        records === null
          ? markerFrame(FrameKind.RouteDone, `c-${i}`, 'a')
          : recordsFrame(`c-${i}`, records),
      );
      const bytes = segment(...frames);
      const at = position % bytes.length;
      bytes[at] = (bytes[at] as number) ^ flip;
      let start = PREAMBLE.length;
      const hit = frames.findIndex((frame) => {
        const inside = at >= start && at < start + frame.length;
        start += frame.length;
        return inside;
      });
      const { frames: read, damage, lost } = decodeSegment(bytes);
      expect(damage).toBeDefined();
      const kept = frames.filter((_, i) => i !== hit);
      expect(
        read.map((frame) => bytes.subarray(frame.offset, frame.offset + frame.length)),
      ).toEqual(kept);
      const hitRecords = hit === -1 ? null : contents[hit];
      expect(lost).toEqual({
        frames: hit === -1 ? 0 : 1,
        records: hitRecords?.length ?? 0,
        bytes: hit === -1 ? 0 : (frames[hit] as Buffer).length,
      });
    },
  );
});

function flip(bytes: Buffer, at: number, mask: number): void {
  bytes[at] = (bytes[at] as number) ^ mask;
}

describe('segment format: the damage its decoder names', () => {
  test('a file shorter than the preamble is damaged, and every byte of it is lost', () => {
    const decoded = decodeSegment(PREAMBLE.subarray(0, 3));
    expect(decoded.damage).toBe('bad magic (not a segment file, or a damaged preamble)');
    expect(decoded.lost).toEqual({ frames: 0, records: 0, bytes: 3 });
  });

  test('a frame whose checksums hold but whose body is not a frame is malformed, and skipped', () => {
    const bad = markerFrame(FrameKind.RouteDone, 'c-1', 'out');
    bad[16] = 99; // the kind byte (after the 16-byte head): no such kind
    fillChecksums(bad, 0);
    const good = recordsFrame('c-2', [Buffer.from('kept')]);
    const decoded = decodeSegment(segment(bad, good));
    expect(decoded.damage).toBe(`malformed frame at byte ${PREAMBLE.length}`);
    expect(decoded.frames.map((frame) => frame.id)).toEqual(['c-2']);
    expect(decoded.lost).toEqual({ frames: 1, records: 0, bytes: bad.length });
  });

  test('after a damaged head the scan resumes at a torn last frame, which it counts as lost', () => {
    const first = recordsFrame('c-1', [Buffer.from('one')]);
    flip(first, 0, 0xff); // the head's length field: the head checksum fails
    const torn = recordsFrame('c-2', [Buffer.from('two'), Buffer.from('three')]);
    const bytes = segment(first, torn.subarray(0, torn.length - 3));
    const decoded = decodeSegment(bytes);
    const tornAt = PREAMBLE.length + first.length;
    expect(decoded.damage).toBe(
      `damaged frame head at byte ${PREAMBLE.length}; torn frame at byte ${tornAt}`,
    );
    expect(decoded.frames).toEqual([]);
    // Lost: the damaged frame's record (its body still parses) and the torn frame's two (its
    // head still says how many it held).
    expect(decoded.lost.frames).toBe(2);
    expect(decoded.lost.records).toBe(3);
    expect(decoded.lost.bytes).toBe(bytes.length - PREAMBLE.length);
  });

  test('a chunk id longer than a frame can name is refused when the frame is made', () => {
    const id = 'x'.repeat(256);
    expect(() => markerFrame(FrameKind.Deleted, id)).toThrow(`chunk id too long: ${id}`);
    expect(markerFrame(FrameKind.Deleted, 'x'.repeat(255)).length).toBeGreaterThan(255);
  });
});

describe('segment format: what a checksummed body must hold to be read as records or a reroute', () => {
  /** A records body (`rest`) from a header value and raw record bytes, unchecked. */
  function rest(headerValue: unknown, recordBytes: Buffer = Buffer.alloc(0)): Buffer {
    const json = Buffer.from(JSON.stringify(headerValue));
    const length = Buffer.alloc(2);
    length.writeUInt16BE(json.length);
    return Buffer.concat([length, json, recordBytes]);
  }
  const record = (text: string) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(Buffer.byteLength(text));
    return Buffer.concat([length, Buffer.from(text)]);
  };
  const good = { tag: 'app', createdAt: 7, routes: ['a'] };

  test('a whole body parses: its header, and its records in order', () => {
    expect(
      parseRecords({ id: 'c', rest: rest(good, Buffer.concat([record('x'), record('')])) }),
    ).toEqual({
      header: { id: 'c', ...good },
      records: [Buffer.from('x'), Buffer.from('')],
    });
  });

  test.each([
    ['no header length', Buffer.alloc(1)],
    // The bytes there are a whole header: only its length says it runs past the body.
    [
      'a header longer than the body',
      Buffer.concat([Buffer.from([0, 200]), Buffer.from(JSON.stringify(good))]),
    ],
    ['a header that is not JSON', Buffer.concat([Buffer.from([0, 3]), Buffer.from('{{{')])],
    ['a tag that is not a string', rest({ ...good, tag: 1 })],
    ['no tag', rest({ createdAt: 7, routes: ['a'] })],
    ['a createdAt that is not a number', rest({ ...good, createdAt: '7' })],
    ['routes that are not an array', rest({ ...good, routes: 'a' })],
    ['a route that is not a string', rest({ ...good, routes: ['a', 2] })],
    ['a record length cut short', rest(good, Buffer.from([0, 0, 1]))],
    ['a record shorter than its length', rest(good, Buffer.concat([record('abc')]).subarray(0, 6))],
  ])('%s: not records', (_, body) => {
    expect(parseRecords({ id: 'c', rest: body })).toBeUndefined();
  });

  test('a reroute is a JSON pair of strings, nothing else', () => {
    const reroute = (text: string) =>
      parseReroute({ ...(decodeFrame(markerFrame(FrameKind.Rerouted, 'c', text), 0) as Frame) });
    expect(reroute('["old","new"]')).toEqual(['old', 'new']);
    for (const text of [
      '',
      'not json',
      '{"0":"a","1":"b"}',
      '["a"]',
      '["a","b","c"]',
      '[1,"b"]',
      '["a",2]',
    ]) {
      expect(reroute(text), text).toBeUndefined();
    }
  });
});
