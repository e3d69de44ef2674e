import fc from 'fast-check';
import { expect, test } from 'vitest';
import { MODEL_POOL_OPTIONS } from '../src/testing.js';
import { outputFailures, poolCommands, runPoolModel } from '../src/testing/pool-model.js';
import { NaivePool } from './naive-pool.js';

// The liveness property is only worth something if it can fail: run it on a pool without the
// reservation rule (shared budget, inputs holding memory while they wait for storage, every take
// re-acquiring memory) and require fast-check to find the deadlock.
test('the liveness property catches the deadlock of a pool without reserves', async () => {
  const result = await fc.check(
    fc.asyncProperty(
      fc.scheduler(),
      poolCommands(false, outputFailures()),
      async (scheduler, commands) => {
        await runPoolModel(
          {
            open: ({ clock }) => Promise.resolve(new NaivePool({ ...MODEL_POOL_OPTIONS, clock })),
            persistent: false,
            longestWaitMs: 2_500,
          },
          scheduler,
          commands,
        );
      },
    ),
    { numRuns: 300, seed: 42 },
  );
  expect(result.failed).toBe(true);
  expect(String(result.errorInstance)).toMatch(/not drained .* \(a deadlock\)/);
}, 120_000);
