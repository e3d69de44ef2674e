import { expect, test, vi } from 'vitest';
import type * as ItemSourceModule from '../../src/internal/item-source.js';
import { checkBatchInvariants } from '../../src/testing.js';

// The bug put back: a worker waits for the source's next() whatever happens to the batch.
vi.mock('../../src/internal/item-source.js', async (importOriginal) => ({
  ...(await importOriginal<typeof ItemSourceModule>()),
  readUntilStopped: (read: Promise<unknown>) => read,
}));

test('the hanging sources of the kit keep an engine that does not race its reads pending', async () => {
  await expect(
    checkBatchInvariants({
      fetchOne:
        (backend) =>
        (i, { signal }) =>
          backend.call(i, signal),
      numRuns: 300,
    }),
  ).rejects.toThrow(/still pending at virtual time/);
}, 60_000);
