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
    { numRuns: 300, seed: 42 },
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
  const { checkChunkStorage } = await import('../src/testing.js');
  const losing = checkChunkStorage(
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'holdfast-pool-control-'));
      return {
        create: () => {
          const real = fileStorage({ dir, fsync: 'batch' });
          return {
            persistent: real.persistent,
            syncEachAppend: real.syncEachAppend,
            open: async (options) => {
              const scan = await real.open(options);
              const chunks = scan.chunks.map((chunk) =>
                chunk.records === undefined || chunk.records.length < 2
                  ? chunk
                  : { ...chunk, records: chunk.records.slice(0, -1) },
              );
              return { ...scan, chunks };
            },
            append: (header, records) => real.append(header, records),
            seal: (id) => real.seal(id),
            sync: () => real.sync(),
            read: async (id) => {
              const records = await real.read(id);
              return records.length < 2 ? records : records.slice(0, -1);
            },
            markRouteDone: (id, output) => real.markRouteDone(id, output),
            reroute: (id, from, to) => real.reroute(id, from, to),
            delete: (id) => real.delete(id),
            deadLetter: (header, output, reason, records) =>
              real.deadLetter(header, output, reason, records),
            quarantine: (id, reason) => real.quarantine(id, reason),
            close: () => real.close(),
          };
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
