import { rmSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'vitest';
import { fileStorage, memoryStorage } from '../src/index.js';
import { checkChunkStorage } from '../src/testing.js';

test('memory storage keeps the pool invariants (model-based)', async () => {
  await checkChunkStorage(() => ({ create: () => memoryStorage() }), { numRuns: 60 });
}, 120_000);

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
      { numRuns: 30 },
    );
  },
  180_000,
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
    { numRuns: 40, faults: true },
  );
}, 180_000);
