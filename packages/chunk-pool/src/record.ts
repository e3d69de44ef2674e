/**
 * Records: what an input appends. The pool stores bytes, so a record is a string (UTF-8) or
 * bytes; structured data is serialised by the caller (JSON, protobuf, ...), which keeps the byte
 * budgets exact.
 *
 * @module
 */
// Imported, not the global: `globalThis.Buffer` is an accessor, and this check runs per record.
import { Buffer } from 'node:buffer';
import { ChunkPoolError } from './errors.js';

/** A record: a string (stored as UTF-8) or bytes (stored as given, not copied). */
export type PoolRecord = string | Uint8Array;

/** The record's bytes; throws `INVALID_RECORD` for anything else. */
export function encodeRecord(record: PoolRecord): Buffer {
  if (Buffer.isBuffer(record)) return record;
  if (typeof record === 'string') return Buffer.from(record);
  if (record instanceof Uint8Array) {
    return Buffer.from(record.buffer, record.byteOffset, record.byteLength);
  }
  throw new ChunkPoolError(
    'INVALID_RECORD',
    `a record must be a string or a Uint8Array, got ${record === null ? 'null' : typeof record}` +
      ' (serialise objects first, e.g. JSON.stringify)',
  );
}
