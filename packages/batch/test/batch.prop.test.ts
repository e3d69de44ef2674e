import { test as propTest, fc } from '@fast-check/vitest';
import { describe, expect, test } from 'vitest';
import {
  fetchAll,
  fetchEach,
  type BatchResult,
  type FetchOne,
  type FetchOptions,
  type Outcome,
} from '../src/index.js';
import { checkBatchInvariants } from '../src/testing.js';

/** What the scheduled work of one item does. */
type Behaviour = { kind: 'value' } | { kind: 'transient' } | { kind: 'fatal' } | { kind: 'skip' };

const behaviour: fc.Arbitrary<Behaviour> = fc.constantFrom(
  { kind: 'value' } as const,
  { kind: 'transient' } as const,
  { kind: 'fatal' } as const,
  { kind: 'skip' } as const,
);

describe('fetchAll under every interleaving (fast-check scheduler)', () => {
  propTest.prop(
    [fc.scheduler(), fc.array(behaviour, { maxLength: 25 }), fc.integer({ min: 1, max: 6 })],
    { numRuns: 150 },
  )(
    'outcomes match the model, in input order, and concurrency never exceeds the limit',
    async (s, items, concurrency) => {
      let running = 0;
      let maxRunning = 0;
      const settledCount = items.map(() => 0);
      const batch = fetchAll(
        items,
        (b, { index }) => {
          running += 1;
          maxRunning = Math.max(maxRunning, running);
          const result =
            b.kind === 'value'
              ? Promise.resolve(`v${index}`)
              : Promise.reject(Object.assign(new Error(b.kind), { kind: b.kind }));
          // The scheduler decides when each call ends: every order of completion is explored.
          return s.schedule(result, `item ${index}`).finally(() => (running -= 1));
        },
        {
          concurrency,
          timeout: Infinity,
          importance: () => 'optional',
          classify: (e) => {
            const kind = (e as { kind: string }).kind;
            return kind === 'skip' ? 'skip' : kind === 'transient' ? 'transient' : 'fatal';
          },
          onOutcome: (o) => (settledCount[o.index]! += 1),
        },
      );
      const result = await s.waitFor(batch);

      expect(maxRunning).toBeLessThanOrEqual(concurrency);
      expect(settledCount.every((n) => n === 1)).toBe(true);
      expect(result.outcomes.map((o) => o.index)).toEqual(items.map((_, i) => i));
      const model = items.map((b) =>
        b.kind === 'value' ? 'fulfilled' : b.kind === 'skip' ? 'skipped' : 'rejected',
      );
      expect(result.outcomes.map((o) => o.status)).toEqual(model);
      expect(result.values).toEqual(items.flatMap((b, i) => (b.kind === 'value' ? [`v${i}`] : [])));
      expect(result.fatal).toBeUndefined(); // optional items only
    },
  );
});

describe('the batch invariants kit (@holdfast/batch/testing)', () => {
  test('fetchAll with a signal-forwarding fetchOne keeps every invariant under random faults', async () => {
    await checkBatchInvariants({
      fetchOne:
        (backend) =>
        (i, { signal }) =>
          backend.call(i, signal),
      numRuns: 200,
    });
  }, 60_000);

  test('with hedging: at most one twin per attempt, timed from the attempt, not the twin', async () => {
    await checkBatchInvariants({
      fetchOne:
        (backend) =>
        (i, { signal }) =>
          backend.call(i, signal),
      options: { hedge: { delay: 20 } },
      numRuns: 200,
    });
  }, 60_000);

  test('fetchEach keeps the same invariants (its outcomes, sorted, are the batch)', async () => {
    await checkBatchInvariants({
      fetchOne:
        (backend) =>
        (i, { signal }) =>
          backend.call(i, signal),
      runner: async (items, fetchOne, options) => {
        const stream = fetchEach(items, fetchOne, options);
        const outcomes: Outcome<number, string>[] = [];
        for await (const outcome of stream) outcomes.push(outcome);
        outcomes.sort((a, b) => a.index - b.index);
        const values = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
        const fatal = stream.fatal();
        const complete = false; // not checked by the kit
        return { outcomes, values, complete, fatal, stats: stream.stats(), summary: () => '' };
      },
      numRuns: 200,
    });
  }, 60_000);

  test('a printed seed replays the same runs (the retry jitter is seeded too)', async () => {
    // Every run's timeline: when each outcome settled after its item started, retries included.
    const timelines = async () => {
      const runs: string[] = [];
      await checkBatchInvariants({
        fetchOne:
          (backend) =>
          (i, { signal }) =>
            backend.call(i, signal),
        runner: async (items, fetchOne, options) => {
          const result = await fetchAll(items, fetchOne, options);
          runs.push(
            result.outcomes
              .map((o) => `${o.status} ${'durationMs' in o ? o.durationMs : ''}`)
              .join(),
          );
          return result;
        },
        numRuns: 100,
        seed: 1274890956,
      });
      return runs;
    };
    const first = await timelines();
    expect(first.some((run) => run.includes('rejected'))).toBe(true);
    expect(await timelines()).toEqual(first);
  }, 60_000);

  test('control: a Promise.allSettled batch (no timeouts, no deadline) breaks the invariants', async () => {
    const naive = async <R>(
      source: Iterable<number> | AsyncIterable<number>,
      fetchOne: FetchOne<number, R>,
      options: FetchOptions<number, R>,
    ) => {
      const items: number[] = [];
      for await (const item of source) items.push(item);
      const settled = await Promise.allSettled(
        items.map(async (index) =>
          fetchOne(index, {
            signal: new AbortController().signal,
            attempt: 1,
            index,
            deadlineAt: Infinity,
            remainingMs: () => Infinity,
          }),
        ),
      );
      const outcomes = settled.map((s, index) =>
        s.status === 'fulfilled'
          ? {
              status: 'fulfilled' as const,
              item: index,
              index,
              value: s.value,
              attempts: 1,
              durationMs: 0,
            }
          : { status: 'skipped' as const, item: index, index, reason: s.reason },
      );
      outcomes.forEach((o) => options.onOutcome?.(o));
      return {
        outcomes,
        values: [],
        complete: true,
        fatal: undefined,
        stats: {},
        summary: () => '',
      } as unknown as BatchResult<number, R>;
    };
    await expect(
      checkBatchInvariants({
        fetchOne:
          (backend) =>
          (i, { signal }) =>
            backend.call(i, signal),
        runner: naive,
        numRuns: 200,
      }),
    ).rejects.toThrow(/Property failed/);
  }, 60_000);

  test('control: a fetchOne that drops its signal is caught (its work outlives the batch)', async () => {
    await expect(
      checkBatchInvariants({ fetchOne: (backend) => (i) => backend.call(i), numRuns: 200 }),
    ).rejects.toThrow(/timers left pending|calls ran at once/);
  }, 60_000);
});
