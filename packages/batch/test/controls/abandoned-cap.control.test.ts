import { expect, test, vi } from 'vitest';
import { checkBatchInvariants } from '../../src/testing.js';
import type { AbandonableCall } from '../../src/internal/abandoned-cap.js';
import type { Counts, Waker } from '../../src/internal/attempt.js';

// The bugs put back, as the cap was before issue 16: the wait says nothing of when the attempt
// was let through (so its timeout counts from the item's start), and a call that read its
// signal counts as abandoned only if it is still running when the batch ends.
vi.mock('../../src/internal/abandoned-cap.js', () => ({
  AbandonedCap: class OldAbandonedCap {
    held = 0;
    readonly waiters = new Set<() => void>();
    readonly stillRunning = new Set<AbandonableCall>();
    constructor(
      readonly max: number,
      _clock: unknown,
      readonly counts: Counts,
    ) {}
    get full() {
      return this.held >= this.max;
    }
    wait(worker: number, wakers: (Waker | undefined)[]) {
      return new Promise<undefined>((resolve) => {
        const wake = () => {
          this.waiters.delete(wake);
          wakers[worker] = undefined;
          resolve(undefined);
        };
        this.waiters.add(wake);
        wakers[worker] = { wake };
      });
    }
    abandoned(call: AbandonableCall) {
      this.held += 1;
      if (call.controller === undefined) this.counts.abandoned += 1;
      else this.stillRunning.add(call);
    }
    ended(call: AbandonableCall) {
      this.stillRunning.delete(call);
      this.held -= 1;
      const [first] = this.waiters;
      first?.();
    }
    close() {
      this.counts.abandoned += this.stillRunning.size;
    }
  },
}));

test('work that ignores its signal behind a full cap catches the old cap (lost timeout, undercount)', async () => {
  await expect(
    checkBatchInvariants({
      fetchOne:
        (backend) =>
        (i, { signal }) =>
          backend.call(i, signal),
      numRuns: 300,
    }),
  ).rejects.toThrow(/reported as timed out after only|stats\.abandoned is/);
}, 60_000);
