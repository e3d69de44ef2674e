import { describe, expect, test } from 'vitest';
import { ChunkPool } from '../src/index.js';
import { RECORD_OVERHEAD_BYTES } from '../src/record-cost.js';
import { VirtualClock } from '../src/testing.js';
import { storedInMemory } from './stored-in-memory.js';

// Issue #18: with one output down and inputs flooding a persistent storage, each blocked append
// used to seal every open chunk, so chunks shrank to a few records and the work per admission
// grew with the number of chunks. The chunk sizes and the storage calls say whether that is back.

const RECORD = Buffer.alloc(10, 'x');
const PER_CHUNK = 100;
const CHUNK_BYTES = PER_CHUNK * (RECORD.length + RECORD_OVERHEAD_BYTES); // in memory

const TAGS = ['app-0', 'app-1', 'app-2', 'app-3'];

/**
 * Appends `records` records, round robin under four tags (four open chunks), as fast as the pool takes them (an input spends 0.002 ms
 * of virtual time per record, 0.2 ms per chunk; the disk writes a chunk in 1 ms: it is the
 * bottleneck, so appends wait for it), calling flush() every `flushEvery`.
 */
async function flood(records: number, flushEvery: number) {
  const clock = new VirtualClock();
  const { storage, log } = storedInMemory(clock, 1);
  const pool = await ChunkPool.open({
    outputs: ['down', 'up'],
    storage,
    clock,
    chunkAge: Number.POSITIVE_INFINITY, // only size and flush() seal
    chunkBytes: CHUNK_BYTES,
    maxBytesUp: 10 * CHUNK_BYTES, // inputs' share: eight chunks
    reservePerOutput: CHUNK_BYTES,
  });
  const sealed: number[] = [];
  pool.on('sealed', (chunk) => sealed.push(chunk.recordCount));
  // 'up' delivers; 'down' never asks (its output is down): its backlog goes down to storage.
  const stop = new AbortController();
  const consumer = (async () => {
    for await (const lease of pool.consume('up', { signal: stop.signal })) await lease.ack();
  })();
  let flushes = 0;
  for (let i = 0; i < records; i++) {
    clock.spend(0.002);
    if (i % PER_CHUNK === 0) await clock.advanceBy(0); // writes due by now complete
    const tag = TAGS[i % TAGS.length] as string;
    if (!pool.tryAppend(tag, RECORD)) await clock.runUntilSettled(pool.append(tag, RECORD));
    if ((i + 1) % flushEvery === 0) {
      await clock.runUntilSettled(pool.flush());
      flushes += 1;
    }
  }
  await clock.runUntilSettled(pool.flush());
  flushes += 1;
  const stats = pool.stats();
  stop.abort();
  await consumer;
  await pool.close();
  return { sealed, appends: log.appends, flushes, stats };
}

describe('one output down, inputs flooding, persistent storage (#18)', () => {
  test('chunks fill up to chunkBytes: a blocked append does not seal the open chunks', async () => {
    // Before the fix: 384 chunks, most of 12 to 25 records, one write each.
    const { sealed, appends, flushes, stats } = await flood(20_000, 1_050);
    expect(stats.accepted.records).toBe(20_000);
    expect(stats.outputs.down?.pendingRecords).toBe(20_000);
    // Every chunk is full but those a flush() sealed (at most one per tag and flush).
    const short = sealed.filter((count) => count < PER_CHUNK);
    expect(short.length).toBeLessThanOrEqual(flushes * TAGS.length);
    expect(sealed.length).toBeLessThanOrEqual(20_000 / PER_CHUNK + flushes * TAGS.length);
    // One storage write per chunk: the cost per record stays constant.
    expect(appends.length).toBe(sealed.length);
  });
});
