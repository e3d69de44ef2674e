import fc from 'fast-check';
import { countOption, rejectUnknownKeys } from '@holdfast/internal';
import { ChunkPool } from '../pool.js';
import { RECORD_OVERHEAD_BYTES } from '../record-cost.js';
import type { ChunkStorage } from '../storage/storage.js';
import {
  modelRoute,
  outputFailures,
  poolCommands,
  runPoolModel,
  MODEL_OUTPUTS,
} from './pool-model.js';
import { faultyStorage } from './faulty-storage.js';
import { scheduledStorage } from './scheduled-storage.js';

/** One place for a storage to live during one property run. */
export interface StorageFixture {
  /** A storage on this fixture's place; called again at each simulated restart. */
  create(): ChunkStorage;
  /** Removes what the run left (a temporary folder, a test bucket). */
  dispose?(): Promise<void> | void;
}

/** Options of {@link checkChunkStorage}. */
export interface CheckChunkStorageOptions {
  /** Property runs. @default 50 */
  readonly numRuns?: number;
  /** fast-check seed, to replay a failure. */
  readonly seed?: number;
  /** The arbitrary of output failures (outputs `a` and `b` going down and up). */
  readonly failures?: ReturnType<typeof outputFailures>;
  /**
   * Also fail some of the storage's `read`, `deadLetter` and `sync` calls with `ENOSPC` or `EIO`
   * (failures that cost no accepted record): the pool must ride them out. @default false
   */
  readonly faults?: boolean;
}

const RETRY = { maxAttempts: 4, minDelay: 100, maxDelay: 1_000, random: () => 0.5 } as const;
const LEASE_TIMEOUT = 1_000;
const CHUNK_AGE = 500;

// What a model record (100 bytes) costs in memory, payload and overhead (see record-cost.ts).
const RECORD_COST = 100 + RECORD_OVERHEAD_BYTES;

/** The pool options of the model runs: small budgets (three records a chunk), so they fill up. */
export const MODEL_POOL_OPTIONS = {
  outputs: MODEL_OUTPUTS,
  route: modelRoute,
  chunkBytes: 3 * RECORD_COST,
  reservePerOutput: 3 * RECORD_COST,
  maxBytesUp: 12 * RECORD_COST,
  maxBytesStored: 3_000,
  leaseTimeout: LEASE_TIMEOUT,
  chunkAge: CHUNK_AGE,
  retry: RETRY,
  breakerThreshold: 3,
} as const;

/**
 * Proves that a storage keeps the pool's invariants: runs the model-based property suite
 * (random interleavings of append, flush, take, ack, retry, drop, lease timeouts, outputs going
 * down and up, restarts when the storage is persistent, with storage calls completing in random
 * order) on a pool using storages from `fixture`, checking after every step that memory stays in
 * budget, each reserve is intact and every accepted record is pending, delivered or dropped
 * exactly once, and at the end that the pool drains once outputs are healthy. Rejects with
 * fast-check's report (seed and shrunk commands) on the first failure.
 *
 * **When to use:** in the CI of a custom {@link ChunkStorage} (a network volume, a database).
 *
 * @example
 * ```ts
 * test('our storage keeps the pool invariants', () =>
 *   checkChunkStorage(() => {
 *     const dir = mkdtempSync(join(tmpdir(), 'pool-'));
 *     return { create: () => fileStorage({ dir }), dispose: () => rmSync(dir, { recursive: true }) };
 *   }), 120_000);
 * ```
 */
export async function checkChunkStorage(
  fixture: () => StorageFixture | Promise<StorageFixture>,
  options: CheckChunkStorageOptions = {},
): Promise<void> {
  rejectUnknownKeys(options, ['numRuns', 'seed', 'failures', 'faults'], 'options');
  if (options.numRuns !== undefined) countOption(options.numRuns, 'numRuns', { min: 1 });
  const probe = await fixture();
  const persistent = probe.create().persistent;
  await probe.dispose?.();
  const whenFull = fc.constantFrom('block', 'drop-oldest', 'drop-newest') as fc.Arbitrary<
    'block' | 'drop-oldest' | 'drop-newest'
  >;
  await fc.assert(
    fc.asyncProperty(
      fc.scheduler(),
      whenFull,
      poolCommands(persistent, options.failures ?? outputFailures()),
      options.faults === true ? fc.array(fc.boolean(), { maxLength: 40 }) : fc.constant([]),
      async (scheduler, whenFull, commands, faultPlan) => {
        const place = await fixture();
        const tracked = scheduledStorage(scheduler);
        await runPoolModel(
          {
            open: ({ clock }) =>
              ChunkPool.open({
                ...MODEL_POOL_OPTIONS,
                whenFull,
                clock,
                storage: tracked.wrap(faultyStorage(place.create(), faultPlan)),
              }),
            persistent,
            idle: tracked.idle,
            dispose: async () => {
              await place.dispose?.();
            },
            longestWaitMs: RETRY.maxDelay + LEASE_TIMEOUT + CHUNK_AGE,
          },
          scheduler,
          commands,
        );
      },
    ),
    {
      numRuns: options.numRuns ?? 50,
      ...(options.seed === undefined ? {} : { seed: options.seed }),
    },
  );
}
