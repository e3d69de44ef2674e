/**
 * What records cost in memory (issue #18), measured while the pool holds them, after a forced GC
 * (run with `--expose-gc`). Memory storage, one output that never takes, so every record stays.
 *
 * - `perRecord(size)`: a budget large enough for all, `count` records of `size` bytes appended as
 *   strings; the heap (V8 heap plus array buffers) they added, per record, minus their payload.
 * - `factor(size)`: `maxBytesUp` of 8 MiB, records appended until the pool makes the input
 *   wait; the heap they added divided by `maxBytesUp`.
 *
 * Run by bench/scenario.ts (`heap-per-record <size>`, `heap-factor <size>`).
 */
import { ChunkPool } from '@holdfast/chunk-pool';

const gc = (globalThis as { gc?: () => void }).gc;

function heapBytes(): number {
  if (gc === undefined) throw new Error('run with --expose-gc');
  gc();
  gc();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

/** Distinct strings, so no two records share a buffer. */
const text = (i: number, size: number) =>
  size === 0 ? '' : `${i.toString(36)}.`.padEnd(size, 'x').slice(0, size);

export interface PerRecord {
  readonly recordBytes: number;
  readonly records: number;
  readonly heapPerRecord: number;
  readonly overheadPerRecord: number;
}

export async function perRecord(
  size: number,
  count = size < 1000 ? 200_000 : 20_000,
): Promise<PerRecord> {
  const pool = await ChunkPool.open({
    outputs: ['a'],
    chunkBytes: 1 << 20,
    maxBytesUp: 4 * 2 ** 30,
    reservePerOutput: 1 << 20,
  });
  const before = heapBytes();
  // Each string is garbage once appended: what stays is what the pool holds.
  for (let i = 0; i < count; i++)
    if (!pool.tryAppend('app', text(i, size))) throw new Error('full');
  await pool.flush(); // sealed: the record arrays are trimmed to their length
  const held = heapBytes() - before;
  const accepted = pool.stats().accepted.records;
  await pool.close();
  return {
    recordBytes: size,
    records: accepted,
    heapPerRecord: held / accepted,
    overheadPerRecord: held / accepted - size,
  };
}

export interface Factor {
  readonly recordBytes: number;
  readonly maxBytesUp: number;
  readonly records: number;
  readonly bytesUp: number;
  readonly heapBytes: number;
  readonly factor: number;
}

export async function factor(size: number): Promise<Factor> {
  const maxBytesUp = 8 << 20;
  const pool = await ChunkPool.open({
    outputs: ['a'],
    chunkBytes: 64 << 10,
    maxBytesUp,
    reservePerOutput: 64 << 10,
  });
  const before = heapBytes();
  // Sampled while the pool holds what it accepted: never after close().
  let i = 0;
  while (pool.tryAppend('app', text(i, size))) {
    i += 1;
    if (i > 1e8) throw new Error('the pool never made the input wait');
  }
  const held = heapBytes() - before;
  const { accepted, bytesUp } = pool.stats();
  await pool.close();
  return {
    recordBytes: size,
    maxBytesUp,
    records: accepted.records,
    bytesUp,
    heapBytes: held,
    factor: held / maxBytesUp,
  };
}
