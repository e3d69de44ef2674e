/**
 * `pool.writable(tag)`: the pool as a Node `Writable`, for inputs that are streams.
 *
 * @module
 */
import { Writable } from 'node:stream';
import type { PoolRecord } from './record.js';

/** The part of the pool the stream needs. */
export interface AppendTarget {
  append(tag: string, record: PoolRecord): Promise<unknown>;
  flush(): Promise<void>;
}

/**
 * An object-mode `Writable` that appends each chunk written to it as one record under `tag`. Its
 * write callback runs when the pool accepted the record, so the stream's own buffering
 * (`highWaterMark`) plus the pool's budget bound memory, and `pipeline()` slows the source down.
 * `end()` flushes the pool.
 */
export function poolWritable(pool: AppendTarget, tag: string): Writable {
  return new Writable({
    objectMode: true,
    write(record: PoolRecord, _encoding, callback) {
      pool.append(tag, record).then(() => callback(), callback);
    },
    final(callback) {
      pool.flush().then(() => callback(), callback);
    },
  });
}
