import { rmSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { expect, test } from 'vitest';
import { fileStorage, memoryStorage } from '../src/index.js';
import { checkChunkStorage } from '../src/testing.js';
import {
  assertCoverageFloors,
  describeCoverage,
  ModelCoverage,
} from '../src/testing/model-coverage.js';
import {
  assertFloors,
  chunkPoolProperty,
  FLOORS,
  PERSISTENT_FLOORS,
  type SeenRun,
} from './model-harness.js';

// The property's runs per test. CI keeps them to a few seconds (four Node lines run the suite on
// two cores); HOLDFAST_PROP_RUNS=2000 makes a long run of every property here.
const LONG_RUNS = Number(process.env.HOLDFAST_PROP_RUNS ?? 0);
const runs = (ci: number): number => (LONG_RUNS > 0 ? LONG_RUNS : ci);

/** Prints what the runs reached, in all and under each `whenFull` (the figures in the docs). */
function report(what: string, seen: readonly SeenRun[]): void {
  const lines = [`${what}: ${describeCoverage(seen.map((run) => run.coverage))}`];
  for (const policy of ['block', 'drop-oldest', 'drop-newest'] as const) {
    const runs = seen.filter((run) => run.whenFull === policy).map((run) => run.coverage);
    lines.push(`  ${policy}: ${describeCoverage(runs)}`);
  }
  console.info(lines.join('\n'));
}

test('memory storage: the model-based property, reopened, reaching its coverage floors', async () => {
  const seen: SeenRun[] = [];
  await fc.assert(chunkPoolProperty({ storage: 'memory', faults: false }, seen), {
    numRuns: runs(40),
  });
  report('memory storage', seen);
  // With memory storage a restart drops what the pool held: records are dropped under each policy.
  assertFloors(seen, {}, { dropped: 0.3 });
}, 600_000);

test('persistent storage with failing and hanging calls, restarted: the property and its floors', async () => {
  const seen: SeenRun[] = [];
  await fc.assert(chunkPoolProperty({ storage: 'map', faults: true }, seen), {
    numRuns: runs(40),
  });
  report('persistent storage, faults', seen);
  assertFloors(seen, PERSISTENT_FLOORS);
}, 600_000);

test('a floor not reached fails the test, naming it and the share measured', () => {
  const none = Array.from({ length: 10 }, () =>
    Object.assign(new ModelCoverage(), { commands: 3 }),
  );
  expect(() => assertCoverageFloors(none, FLOORS)).toThrow(
    /mean commands a run 3\.0 < 50.*dead-letter reached in 0% of runs < 7%/,
  );
});

test('the kit on memory storage keeps the pool invariants (model-based)', async () => {
  await checkChunkStorage(() => ({ create: () => memoryStorage() }), { numRuns: runs(5) });
}, 600_000);

// Each fsync policy takes its own path through the pool: 'always' accepts an append only once it
// is on disk (a failure there once let drop-oldest count not-yet-accepted records as dropped).
test.each(['never', 'batch', 'always'] as const)(
  "file storage with fsync '%s' keeps the pool invariants across restarts (model-based)",
  async (fsync) => {
    await checkChunkStorage(
      () => {
        const dir = mkdtempSync(join(tmpdir(), 'holdfast-pool-prop-'));
        return {
          create: () => fileStorage({ dir, fsync }),
          dispose: () => rmSync(dir, { recursive: true, force: true }),
        };
      },
      { numRuns: runs(2) },
    );
  },
  600_000,
);

test('file storage keeps the pool invariants when reads, dead letters and syncs fail (ENOSPC, EIO)', async () => {
  await checkChunkStorage(
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'holdfast-pool-prop-'));
      return {
        create: () => fileStorage({ dir, fsync: 'batch' }),
        dispose: () => rmSync(dir, { recursive: true, force: true }),
      };
    },
    { numRuns: runs(2), faults: true },
  );
}, 600_000);

test('file storage with failing and hanging calls, restarted: the property on disk', async () => {
  const seen: SeenRun[] = [];
  await fc.assert(chunkPoolProperty({ storage: 'file', fsync: 'batch', faults: true }, seen), {
    numRuns: runs(3),
  });
  report('file storage, faults', seen);
}, 600_000);
