import { expect, test } from 'vitest';
import { ChunkPool, fileStorage } from '../src/index.js';
import { VirtualClock } from '../src/testing.js';
import { records, tempDir } from './support.js';

// Fluent Bit 3.0.4+: an output blocked by an outage kept retrying while inputs kept ingesting;
// retries needed memory the inputs held, and processing stopped for good. Here: two outputs,
// one blocked for a long stretch while inputs flood a file-backed pool.
test('a blocked output neither exceeds the budget nor stops the healthy one, and catches up', async () => {
  const clock = new VirtualClock();
  const pool = await ChunkPool.open({
    outputs: ['healthy', 'blocked'],
    storage: fileStorage({ dir: tempDir(), fsync: 'never' }),
    chunkBytes: 1_000,
    reservePerOutput: 1_000,
    maxBytesUp: 5_000,
    retry: { maxAttempts: Number.POSITIVE_INFINITY, minDelay: 100, maxDelay: 1_000 },
    clock,
  });
  let outage = true;
  let peakBytesUp = 0;
  const delivered = { healthy: new Set<string>(), blocked: new Set<string>() };
  const outputs = (['healthy', 'blocked'] as const).map(async (name) => {
    for await (const lease of pool.consume(name)) {
      peakBytesUp = Math.max(peakBytesUp, pool.stats().bytesUp);
      if (name === 'blocked' && outage) {
        await lease.retry();
        continue;
      }
      for (const record of lease.chunk.records) delivered[name].add(record.toString());
      await lease.ack();
    }
  });

  const flood = records(3_000, 100);
  let deliveredBefore = 0;
  for (let i = 0; i < flood.length; i++) {
    await pool.append('app', flood[i] as string);
    peakBytesUp = Math.max(peakBytesUp, pool.stats().bytesUp);
    if (i % 200 === 199) {
      await clock.advanceBy(250);
      // The healthy output keeps delivering throughout the outage.
      expect(delivered.healthy.size).toBeGreaterThan(deliveredBefore);
      deliveredBefore = delivered.healthy.size;
    }
  }
  await pool.flush();
  expect(delivered.blocked.size).toBe(0);
  expect(pool.stats().outputs.blocked?.retries).toBeGreaterThan(0);

  outage = false;
  // Real file I/O is not on virtual time: poll it along, in bounded rounds.
  for (let round = 0; round < 2_000 && delivered.blocked.size < flood.length; round++) {
    await clock.advanceBy(1_000);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  expect(delivered.healthy.size).toBe(flood.length);
  expect(delivered.blocked.size).toBe(flood.length);
  expect(peakBytesUp).toBeLessThanOrEqual(5_000);
  await pool.close();
  await Promise.all(outputs);
});
