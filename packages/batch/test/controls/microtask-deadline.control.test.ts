import { expect, test, vi } from 'vitest';
import type * as DeadlineModule from '../../src/internal/batch-deadline.js';
import { checkBatchInvariants } from '../../src/testing.js';

// The bug put back: the deadline is only its timer, never checked on the clock.
vi.mock('../../src/internal/batch-deadline.js', async (importOriginal) => {
  const { BatchDeadline } = await importOriginal<typeof DeadlineModule>();
  return {
    BatchDeadline: class TimerOnlyDeadline extends BatchDeadline {
      override passed(): boolean {
        return false;
      }
    },
  };
});

test('the microtask-fast work of the kit runs past the deadline of an engine that only has a timer', async () => {
  await expect(
    checkBatchInvariants({
      fetchOne:
        (backend) =>
        (i, { signal }) =>
          backend.call(i, signal),
      numRuns: 300,
    }),
  ).rejects.toThrow(/at or after the deadline/);
}, 60_000);
