/**
 * What the frames of one segment say about its chunks: which are still there, where their
 * records are, which routes are done or were rerouted. Pure: file storage reads the segment and
 * registers the result.
 *
 * @module
 */
import { FrameKind, parseRecords, parseReroute, type Frame } from './segment-format.js';
import type { ChunkHeader } from './storage.js';

/** Where a records frame is in its segment. */
export interface Extent {
  readonly position: number;
  readonly length: number;
}

/** A chunk as its segment's frames describe it. */
export interface SegmentChunk {
  /** The header of its first valid records frame, with routes rerouted as the frames say. */
  header: ChunkHeader;
  readonly extents: Extent[];
  recordCount: number;
  bytes: number;
  readonly doneRoutes: string[];
}

/**
 * The chunks `frames` hold that are not deleted, in the order they started. A chunk whose
 * records frames are all lost is not there (its loss is counted by the decoder); markers of
 * chunks that are not there are ignored.
 */
export function chunksOfSegment(frames: readonly Frame[]): Map<string, SegmentChunk> {
  const chunks = new Map<string, SegmentChunk>();
  const deleted = new Set<string>();
  for (const frame of frames) {
    if (frame.kind === FrameKind.Records) {
      const parsed = parseRecords(frame);
      if (parsed === undefined) continue;
      let chunk = chunks.get(frame.id);
      if (chunk === undefined) {
        chunk = { header: parsed.header, extents: [], recordCount: 0, bytes: 0, doneRoutes: [] };
        chunks.set(frame.id, chunk);
      }
      chunk.extents.push({ position: frame.offset, length: frame.length });
      chunk.recordCount += parsed.records.length;
      for (const record of parsed.records) chunk.bytes += record.length;
      continue;
    }
    const chunk = chunks.get(frame.id);
    if (chunk === undefined) continue;
    if (frame.kind === FrameKind.RouteDone) {
      chunk.doneRoutes.push(frame.rest.toString());
    } else if (frame.kind === FrameKind.Deleted) {
      deleted.add(frame.id);
    } else if (frame.kind === FrameKind.Rerouted) {
      const reroute = parseReroute(frame);
      if (reroute !== undefined) chunk.header = rerouted(chunk.header, ...reroute);
    }
  }
  for (const id of deleted) chunks.delete(id);
  return chunks;
}

/** `header` with route `from` replaced by `to` (once, if `to` is already one of its routes). */
export function rerouted(header: ChunkHeader, from: string, to: string): ChunkHeader {
  const routes = header.routes.filter((route) => route !== from);
  if (!routes.includes(to)) routes.push(to);
  return { ...header, routes };
}
