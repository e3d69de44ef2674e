import { expect, test } from 'vitest';
import { ChunkPool, isChunkPoolError, type ChunkStorage } from '../src/index.js';
import { mapStorage } from './map-storage.js';
import { names, osError, R, records } from './support.js';

// A chunk's stored state goes none → failed when one of its writes fails, and stays failed
// (chunk-states.ts): with fsync: 'always' a later write of the same chunk may succeed, but the
// copy in storage is not trusted, so the chunk stays up and is delivered from memory, never read
// back; flush() keeps reporting it.
test("fsync: 'always': a chunk whose first write failed is never read back, even once later writes succeed", async () => {
  const base = mapStorage();
  let appends = 0;
  const reads: string[] = [];
  const storage: ChunkStorage = {
    ...base,
    syncEachAppend: true,
    append: (header, batch) => {
      appends += 1;
      return appends === 1 ? Promise.reject(osError('EIO')) : base.append(header, batch);
    },
    read: (id) => {
      reads.push(id);
      return base.read(id);
    },
  };
  // Room for six records on the inputs' share, three a chunk, three in the output's reserve.
  const pool = await ChunkPool.open({
    outputs: ['a'],
    storage,
    chunkBytes: 3 * R,
    reservePerOutput: 3 * R,
    maxBytesUp: 9 * R,
  });
  const failed: string[] = [];
  pool.on('storage-error', ({ chunk }) => failed.push(chunk.id));
  const [first, ...rest] = records(8);
  await expect(pool.append('t', first as string)).rejects.toSatisfy((error) =>
    isChunkPoolError(error, 'STORAGE_ERROR'),
  );
  expect(failed).toHaveLength(1);
  // Two more records in the same chunk, written fine; flush seals it (the seal succeeds too).
  await pool.append('t', rest[0] as string);
  await pool.append('t', rest[1] as string);
  await expect(pool.flush()).rejects.toThrow(`chunk ${failed[0]} could not be made durable`);
  // Memory pressure: the six records that follow fill the inputs' share, so stored chunks go
  // down to make room. The failed one must not: it is the only copy that is surely whole.
  for (const record of rest.slice(2)) await pool.append('t', record);
  await pool.flush().catch(() => undefined); // still the failed chunk's error
  const delivered: string[] = [];
  while (pool.stats().outputs.a?.pendingChunks !== 0) {
    const lease = await pool.take('a');
    delivered.push(...names(lease.chunk.records));
    await lease.ack();
  }
  // Every accepted record once (up chunks are served before the ones read back).
  expect(delivered.sort()).toEqual(['r-1', 'r-2', 'r-3', 'r-4', 'r-5', 'r-6', 'r-7']);
  expect(reads).not.toContain(failed[0]);
  expect(reads.length).toBeGreaterThan(0); // others did go down and come back
  await pool.close();
});
