import { rmSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'vitest';
import { fileStorage, memoryStorage } from '../src/index.js';
import { checkChunkStorage } from '../src/testing.js';

test('memory storage keeps the pool invariants (model-based)', async () => {
  await checkChunkStorage(() => ({ create: () => memoryStorage() }), { numRuns: 60 });
}, 120_000);

test('file storage keeps the pool invariants across restarts (model-based)', async () => {
  await checkChunkStorage(
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'holdfast-pool-prop-'));
      return {
        create: () => fileStorage({ dir, fsync: 'never' }),
        dispose: () => rmSync(dir, { recursive: true, force: true }),
      };
    },
    { numRuns: 40 },
  );
}, 180_000);
