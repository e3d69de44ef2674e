import fc from 'fast-check';
import { expect, test } from 'vitest';
import { MODEL_POOL_OPTIONS } from '../src/testing.js';
import { outputFailures, poolCommands, runPoolModel } from '../src/testing/pool-model.js';
import { brokenPool, type Bug } from './broken-pool.js';
import {
  assertFloors,
  chunkPoolProperty,
  PERSISTENT_FLOORS,
  type HarnessRun,
  type SeenRun,
} from './model-harness.js';
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
            // The naive pool counts payload bytes only: the model's budgets in those terms
            // (three 100-byte records a chunk, twelve in memory, thirty stored).
            open: ({ clock }) =>
              Promise.resolve(
                new NaivePool({ ...MODEL_POOL_OPTIONS, chunkBytes: 300, maxBytesUp: 1_200, clock }),
              ),
            persistent: false,
            longestWaitMs: 2_500,
          },
          scheduler,
          commands,
        );
      },
    ),
    { numRuns: 300, seed: 42, endOnFailure: true },
  );
  expect(result.failed).toBe(true);
  expect(String(result.errorInstance)).toMatch(/not drained .* \(a deadlock\)/);
}, 120_000);

// The storage kit is only worth something if it catches a storage that loses data: a file
// storage whose read-back silently drops the last record of every chunk of two or more.
test('checkChunkStorage catches a storage that loses a record', async () => {
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { fileStorage } = await import('../src/index.js');
  const { checkChunkStorage, overrideStorage } = await import('../src/testing.js');
  const losing = checkChunkStorage(
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'holdfast-pool-control-'));
      return {
        create: () => {
          const real = fileStorage({ dir, fsync: 'batch' });
          return overrideStorage(real, {
            open: async (options) => {
              const scan = await real.open(options);
              const chunks = scan.chunks.map((chunk) =>
                chunk.records === undefined || chunk.records.length < 2
                  ? chunk
                  : { ...chunk, records: chunk.records.slice(0, -1) },
              );
              return { ...scan, chunks };
            },
            read: async (id) => {
              const records = await real.read(id);
              return records.length < 2 ? records : records.slice(0, -1);
            },
          });
        },
        dispose: () => rmSync(dir, { recursive: true, force: true }),
      };
    },
    { numRuns: 100, seed: 7 },
  );
  const failure = (await losing.then(
    () => undefined,
    (error: unknown) => error,
  )) as Error | undefined;
  // fast-check's report names the counterexample; the failed check is its cause.
  expect(`${failure?.message} ${String(failure?.cause)}`).toMatch(
    /a lease holds \d+ records of a chunk of \d+/,
  );
}, 120_000);

// The coverage floors are only worth something if they fail when the generator stops reaching
// the states: the generator as it was before issue #18 (fast-check's default size, at most 60
// commands: 4.9 a run) misses them.
test('the coverage floors fail on the short sequences the property used to run', async () => {
  const seen: SeenRun[] = [];
  await fc.assert(
    chunkPoolProperty(
      { storage: 'map', faults: true, commands: { size: 'small', maxCommands: 60 } },
      seen,
    ),
    { numRuns: 60, seed: 18 },
  );
  expect(() => assertFloors(seen, PERSISTENT_FLOORS)).toThrow(
    /coverage floors not reached \(mean commands a run \d\.\d < 50; .*dead-letter reached in \d+% of runs < 7%/,
  );
}, 120_000);

/**
 * Runs the property on a copy of the pool with `bug` put back, until it fails (at most `numRuns`
 * runs from `seed`); the failure it reports. Rejections the broken pool leaves unhandled are the
 * property's to report (it counts them), not vitest's: vitest's own handlers are set aside.
 */
async function findBug(
  bug: Bug,
  run: Omit<HarnessRun, 'whenFull' | 'faults' | 'Pool'> & { faults: boolean },
  seed: number,
): Promise<string> {
  const Pool = await brokenPool(bug);
  const vitestHandlers = process.listeners('unhandledRejection');
  process.removeAllListeners('unhandledRejection');
  const stray = (): void => undefined; // counted by the run that left it
  process.on('unhandledRejection', stray);
  try {
    const result = await fc.check(chunkPoolProperty({ ...run, Pool }, []), {
      numRuns: 300,
      seed,
      endOnFailure: true,
    });
    expect(result.failed, `the property did not find "${bug}"`).toBe(true);
    return String(result.errorInstance);
  } finally {
    // A last stray rejection of the broken pool is reported once the current turn ends.
    await new Promise((resolve) => setImmediate(resolve));
    process.off('unhandledRejection', stray);
    for (const handler of vitestHandlers) process.on('unhandledRejection', handler);
  }
}

// Each bug of issue #18's "Broken today" that the property can express, put back in a copy of
// the pool: the property must find it.
test('the property finds tryAppend() returning true for a record it then drops', async () => {
  expect(
    await findBug('tryAppend true for a dropped record', { storage: 'memory', faults: false }, 1),
  ).toMatch(/the pool accepted a record of \w+, which it cannot route|left a rejection unhandled/);
}, 120_000);

test('the property finds a failed dead-letter write orphaning its chunk', async () => {
  expect(
    await findBug(
      'a failed dead-letter write orphans its chunk',
      { storage: 'map', faults: true },
      1,
    ),
  ).toMatch(/accounted|not drained|left a rejection unhandled/);
}, 120_000);

test('the property finds a throwing listener unwinding into append()', async () => {
  expect(
    await findBug(
      'a throwing listener unwinds into the pool',
      { storage: 'memory', faults: false },
      1,
    ),
  ).toMatch(
    /threw instead of rejecting|left a rejection unhandled|expected a ChunkPoolError|threw a value that is not an Error/,
  );
}, 120_000);

test('the property finds recovery reported where no one can listen', async () => {
  expect(
    await findBug('recovery reported where no one listens', { storage: 'map', faults: false }, 1),
  ).toMatch(/onRecovered was called 0 times/);
}, 120_000);

test('the property finds a memory budget that ignores what a record costs beyond its payload', async () => {
  expect(
    await findBug(
      'the memory budget ignores what a record costs beyond its payload',
      { storage: 'memory', faults: false },
      1,
    ),
  ).toMatch(/records pending for \w cost at least \d+ bytes/);
}, 120_000);
