import { expect, test, vi } from 'vitest';
import type * as DescribeModule from '../../src/internal/describe.js';
import { checkBatchInvariants } from '../../src/testing.js';

// The bug put back: a failure's message read straight off the thrown value.
vi.mock('../../src/internal/describe.js', async (importOriginal) => {
  const naive = (e: unknown) => (e instanceof Error ? e.message : String(e));
  return {
    ...(await importOriginal<typeof DescribeModule>()),
    describeThrown: naive,
    describeCause: naive,
  };
});

test('the exotic thrown values of the kit make an engine that reads them naively reject', async () => {
  await expect(
    checkBatchInvariants({
      fetchOne:
        (backend) =>
        (i, { signal }) =>
          backend.call(i, signal),
      numRuns: 300,
    }),
  ).rejects.toThrow(/Cannot convert object to primitive value|a getter of the thrown value throws/);
}, 60_000);
