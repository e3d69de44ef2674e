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
import { checkedErrors, errorProblem } from './checked-errors.js';
import { faultInjector, type Fault, type FaultyCalls } from './faulty-storage.js';
import { scheduledStorage } from './scheduled-storage.js';
import { overrideStorage } from './storage-overrides.js';

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
   * Also inject storage faults, and check that the pool rides them out and reports each one to
   * its user as a `ChunkPoolError` (with a `code`, and the OS error as `cause` for
   * `STORAGE_FULL`/`STORAGE_ERROR`):
   * - `ENOSPC` or `EIO` from `open` and from `close` (the pool's `open()` and `close()` reject);
   * - in half of the runs, with restarts, `ENOSPC`/`EIO` from `read`, `deadLetter` and `sync`
   *   (the failures that cost no accepted record across a restart);
   * - in the other half, without restarts, `ENOSPC`/`EIO` from any call;
   * - in both, calls that hang: they do their work but return only after 20 rounds of the
   *   model's waiting (a count, never a wall-clock time), while the pool's other calls, leases
   *   and timers go on.
   * @default false
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
  if (options.faults === true) await checkOpenAndCloseFaults(fixture);
  const numRuns = options.numRuns ?? 50;
  const modes: { calls: FaultyCalls | undefined; restarts: boolean; numRuns: number }[] =
    options.faults !== true
      ? [{ calls: undefined, restarts: persistent, numRuns }]
      : [
          { calls: 'recoverable', restarts: persistent, numRuns: Math.ceil(numRuns / 2) },
          { calls: 'any', restarts: false, numRuns: Math.floor(numRuns / 2) },
        ];
  for (const mode of modes) {
    if (mode.numRuns > 0) await checkRuns(fixture, persistent, mode, options);
  }
}

const whenFull = fc.constantFrom('block', 'drop-oldest', 'drop-newest') as fc.Arbitrary<
  'block' | 'drop-oldest' | 'drop-newest'
>;
const fault = fc.constantFrom<Fault>('none', 'none', 'none', 'ENOSPC', 'EIO', 'hang');

async function checkRuns(
  fixture: () => StorageFixture | Promise<StorageFixture>,
  persistent: boolean,
  mode: { calls: FaultyCalls | undefined; restarts: boolean; numRuns: number },
  options: CheckChunkStorageOptions,
): Promise<void> {
  await fc.assert(
    fc.asyncProperty(
      fc.scheduler(),
      whenFull,
      poolCommands(mode.restarts, options.failures ?? outputFailures()),
      mode.calls === undefined ? fc.constant([]) : fc.array(fault, { maxLength: 40 }),
      async (scheduler, whenFull, commands, faultPlan) => {
        const place = await fixture();
        const tracked = scheduledStorage(scheduler);
        // Outside the scheduled calls: a hung call is not "running" for `idle()`.
        const faults = faultInjector(faultPlan, mode.calls);
        await runPoolModel(
          {
            open: async ({ clock }) =>
              checkedErrors(
                await ChunkPool.open({
                  ...MODEL_POOL_OPTIONS,
                  whenFull,
                  clock,
                  storage: faults.wrap(tracked.wrap(place.create())),
                }),
                faults.injected,
              ),
            persistent,
            idle: async () => {
              faults.tick();
              await tracked.idle();
            },
            dispose: async () => {
              faults.releaseAll();
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
      numRuns: mode.numRuns,
      ...(options.seed === undefined ? {} : { seed: options.seed }),
    },
  );
}

/**
 * `ENOSPC` from the storage's `open` and `EIO` from its `close`: the pool's `open()` and
 * `close()` reject with a `ChunkPoolError` carrying the OS error; the storage is closed after a
 * failed open (its folder not left locked), so the next open works.
 */
async function checkOpenAndCloseFaults(
  fixture: () => StorageFixture | Promise<StorageFixture>,
): Promise<void> {
  const place = await fixture();
  try {
    for (const [call, code] of [
      ['open', 'ENOSPC'],
      ['close', 'EIO'],
    ] as const) {
      const injected = Object.assign(new Error(`${code}: injected into ${call}`), { code });
      const storage = place.create();
      const faulty = overrideStorage(storage, {
        [call]: async () => {
          if (call === 'open') return Promise.reject(injected);
          await storage.close();
          throw injected;
        },
      });
      let failure: unknown;
      try {
        const pool = await ChunkPool.open({ ...MODEL_POOL_OPTIONS, storage: faulty });
        await pool.close();
      } catch (error) {
        failure = error;
      }
      const problem =
        failure === undefined
          ? `the pool's ${call}() resolved although the storage's ${call} failed with ${code}`
          : errorProblem(failure, (error) => error === injected);
      if (problem !== undefined)
        throw new Error(`a storage ${call} failing with ${code}: ${problem}`);
    }
    // Neither failure left the storage unusable (a failed open closed it).
    const pool = await ChunkPool.open({ ...MODEL_POOL_OPTIONS, storage: place.create() });
    await pool.close();
  } finally {
    await place.dispose?.();
  }
}
