// One RetryOptions everywhere (docs/conventions.md): @holdfast/batch and @holdfast/chunk-pool,
// given the same policy and the same seeded `random`, wait exactly the same delays between
// attempts — the one backoff of @holdfast/internal (exponential, full jitter), measured on each
// package's virtual clock from the outside.
import { expect, test } from 'vitest';
import { fetchAll } from '@holdfast/batch';
import { VirtualClock as BatchClock } from '@holdfast/batch/testing';
import { ChunkPool } from '@holdfast/chunk-pool';
import { VirtualClock as PoolClock } from '@holdfast/chunk-pool/testing';
import { seededRandom as seeded } from '@holdfast/internal';

const RETRIES = 6;
const POLICY = { maxAttempts: RETRIES + 1, minDelay: 100, maxDelay: 3_000, factor: 3 };

const gaps = (times: readonly number[]) => times.slice(1).map((t, i) => t - times[i]!);

async function batchDelays(seed: number): Promise<number[]> {
  const clock = new BatchClock();
  const attempts: number[] = [];
  const reset = () => Object.assign(new Error('reset'), { code: 'ECONNRESET' });
  await clock.runUntilSettled(
    fetchAll(
      [1],
      () => {
        attempts.push(clock.now());
        return Promise.reject(reset());
      },
      {
        clock,
        timeout: Infinity,
        allFailedIsFatal: false,
        retry: { ...POLICY, random: seeded(seed) },
      },
    ),
  );
  return gaps(attempts);
}

async function poolDelays(seed: number): Promise<number[]> {
  const clock = new PoolClock();
  const pool = await ChunkPool.open({
    outputs: ['a'],
    clock,
    breakerThreshold: 1_000, // the breaker stays out of it: only the retry delays are measured
    retry: { ...POLICY, random: seeded(seed) },
  });
  await pool.append('t', Buffer.from('x'));
  await pool.flush();
  const attempts: number[] = [];
  for (let attempt = 1; attempt <= RETRIES + 1; attempt += 1) {
    const lease = await clock.runUntilSettled(pool.take('a'));
    attempts.push(clock.now());
    if (attempt <= RETRIES) await lease.retry();
    else await lease.ack();
  }
  await pool.close();
  return gaps(attempts);
}

test.each([1, 42, 2026])('seed %i: batch and chunk-pool wait the same delays', async (seed) => {
  const batch = await batchDelays(seed);
  expect(batch).toHaveLength(RETRIES);
  expect(await poolDelays(seed)).toEqual(batch);
  // Full jitter: each delay within [0, min(maxDelay, minDelay × factor ** (n − 1))].
  batch.forEach((delay, n) =>
    expect(delay).toBeLessThanOrEqual(
      Math.min(POLICY.maxDelay, POLICY.minDelay * POLICY.factor ** n),
    ),
  );
});
