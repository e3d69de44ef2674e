import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import {
  ChunkPool,
  fileStorage,
  memoryStorage,
  type ChunkPoolEvents,
  type ChunkPoolOptions,
  type ChunkStorage,
} from '../src/index.js';
import { RECORD_OVERHEAD_BYTES } from '../src/record-cost.js';
import { MODEL_POOL_OPTIONS } from '../src/testing.js';
import { plannedFaults, type StorageFault } from '../src/testing/faulty-storage.js';
import {
  assertCoverageFloors,
  type ModelCoverage,
  type ModelState,
} from '../src/testing/model-coverage.js';
import {
  outputFailures,
  poolCommands,
  runPoolModel,
  type PoolCommandsOptions,
} from '../src/testing/pool-model.js';
import { scheduledStorage } from '../src/testing/scheduled-storage.js';
import { mapStorage, type StoredChunk } from './map-storage.js';

/**
 * The model-based property on a real `ChunkPool` (or a copy of it with a bug put back, see
 * test/broken-pool.ts): memory or file storage, one `whenFull` policy, planned storage faults,
 * listeners and an `onRecovered` that throw (user code: their failures must cost only
 * themselves). Returns the states each run reached, for the coverage floors.
 */

export type WhenFull = 'block' | 'drop-oldest' | 'drop-newest';

/** A pool class to drive: `ChunkPool` itself, or a broken copy of it. */
export interface PoolClass {
  open(options: ChunkPoolOptions): Promise<ChunkPool>;
}

export interface HarnessRun {
  /** `map`: persistent, in a Map that outlives the pool (fast restarts); `file`: on disk. */
  readonly storage: 'memory' | 'map' | 'file';
  readonly fsync?: 'never' | 'batch' | 'always';
  readonly whenFull: WhenFull;
  readonly faults: readonly StorageFault[];
  readonly Pool?: PoolClass;
}

const RETRY = MODEL_POOL_OPTIONS.retry;
const LONGEST_WAIT = RETRY.maxDelay + MODEL_POOL_OPTIONS.leaseTimeout + MODEL_POOL_OPTIONS.chunkAge;
/** The model's largest record: as large as a chunk can hold. */
const HUGE_RECORD = MODEL_POOL_OPTIONS.chunkBytes - RECORD_OVERHEAD_BYTES;
const EVENTS: readonly (keyof ChunkPoolEvents)[] = [
  'sealed',
  'dropped',
  'dead-letter',
  'quarantined',
  'breaker',
  'lease-expired',
  'storage-error',
];

/**
 * Planned storage faults: ENOSPC on append, on a done mark and on a dead letter, EIO on a read,
 * and hung calls (bounded: at most a lease timeout of virtual time).
 */
export function storageFaults(): fc.Arbitrary<readonly StorageFault[]> {
  const kind = fc.constantFrom(
    'ENOSPC' as const,
    'ENOSPC' as const,
    'EIO' as const,
    'hang' as const,
  );
  const hangMs = fc.integer({ min: 1, max: MODEL_POOL_OPTIONS.leaseTimeout });
  const fault = fc.oneof(
    fc.record({
      call: fc.constantFrom('append' as const, 'markRouteDone' as const, 'read' as const),
      nth: fc.oneof(fc.nat({ max: 2 }), fc.nat({ max: 12 })),
      kind,
      hangMs,
    }),
    // A run writes few dead letters: the first ones are the ones to fail.
    fc.record({ call: fc.constant('deadLetter' as const), nth: fc.nat({ max: 1 }), kind, hangMs }),
  );
  // The faults every run is to meet (each in three plans of four): a full disk at an early
  // append, done mark and dead letter (a run writes few dead letters), and a hung call.
  const often = (value: fc.Arbitrary<StorageFault>): fc.Arbitrary<StorageFault | undefined> =>
    fc.oneof({ arbitrary: value, weight: 3 }, { arbitrary: fc.constant(undefined), weight: 1 });
  const early = fc.nat({ max: 6 });
  const core = fc.tuple(
    often(
      early.map((nth) => ({ call: 'append' as const, nth, kind: 'ENOSPC' as const, hangMs: 0 })),
    ),
    often(
      early.map((nth) => ({
        call: 'markRouteDone' as const,
        nth,
        kind: 'ENOSPC' as const,
        hangMs: 0,
      })),
    ),
    often(fc.constant({ call: 'deadLetter' as const, nth: 0, kind: 'ENOSPC' as const, hangMs: 0 })),
    often(
      fc.record({
        call: fc.constantFrom('append' as const, 'markRouteDone' as const, 'read' as const),
        nth: early,
        kind: fc.constant('hang' as const),
        hangMs,
      }),
    ),
  );
  return fc
    .tuple(core, fc.array(fault, { maxLength: 6 }))
    .map(([planned, more]) => [...planned.filter((one) => one !== undefined), ...more]);
}

/** A listener (user code) that throws something hostile: a null-prototype object. */
function throwingListener(): never {
  throw Object.create(null) as object;
}

/** One model run of `run` on the commands fast-check generated. */
export async function runChunkPoolModel(
  run: HarnessRun,
  scheduler: fc.Scheduler,
  commands: Parameters<typeof runPoolModel>[2],
): Promise<ModelCoverage> {
  const Pool = run.Pool ?? ChunkPool;
  const dir = run.storage === 'file' ? mkdtempSync(join(tmpdir(), 'holdfast-model-')) : undefined;
  const tracked = scheduledStorage(scheduler);
  let faults: ReturnType<typeof plannedFaults> | undefined;
  const stored = new Map<string, StoredChunk>();
  const storage = (): ChunkStorage => {
    if (run.storage === 'map') return mapStorage(stored);
    if (dir === undefined) return memoryStorage();
    return fileStorage({ dir, fsync: run.fsync ?? 'batch' });
  };
  const coverage = await runPoolModel(
    {
      open: async ({ clock }) => {
        faults ??= plannedFaults(run.faults, clock);
        let reports = 0;
        const pool = await Pool.open({
          ...MODEL_POOL_OPTIONS,
          whenFull: run.whenFull,
          clock,
          // Faults outside the scheduler: a hung call waits on virtual time, not as a running call.
          storage: faults.wrap(tracked.wrap(storage())),
          onRecovered: () => {
            reports += 1;
            throwingListener();
          },
        });
        if (reports !== 1) {
          throw new Error(`onRecovered was called ${reports} times by open(), not once`);
        }
        for (const event of EVENTS) pool.on(event, throwingListener);
        return pool;
      },
      persistent: run.storage !== 'memory',
      restartable: true,
      whenFull: run.whenFull,
      recordOverheadBytes: RECORD_OVERHEAD_BYTES,
      hugeRecordBytes: HUGE_RECORD,
      idle: tracked.idle,
      nextHangEnd: () => faults?.faults.nextHangEnd(),
      takeExcuses: () => faults?.faults.takeExcuses() ?? { lost: [], redelivered: [] },
      dispose: () => {
        if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
        return Promise.resolve();
      },
      longestWaitMs: LONGEST_WAIT,
      retryDelayMs: RETRY.maxDelay,
    },
    scheduler,
    commands,
  );
  for (const [fault] of faults?.faults.fired ?? []) {
    coverage.reached.add(`fault:${fault}`);
    if (fault.endsWith(' hang')) coverage.reached.add('fault:hang');
  }
  return coverage;
}

/** What one run of {@link chunkPoolProperty} reached, under which policy. */
export interface SeenRun {
  readonly whenFull: WhenFull;
  readonly coverage: ModelCoverage;
}

/** The property; each run's coverage is pushed to `seen`. */
export function chunkPoolProperty(
  setup: Omit<HarnessRun, 'whenFull' | 'faults'> & {
    readonly faults: boolean;
    readonly commands?: PoolCommandsOptions;
    readonly whenFull?: fc.Arbitrary<WhenFull>;
  },
  seen: SeenRun[],
): fc.IAsyncPropertyWithHooks<
  [fc.Scheduler, WhenFull, Iterable<unknown>, readonly StorageFault[]]
> {
  const whenFull =
    setup.whenFull ?? fc.constantFrom<WhenFull>('block', 'drop-oldest', 'drop-newest');
  return fc.asyncProperty(
    fc.scheduler(),
    whenFull,
    poolCommands(setup.storage !== 'memory', outputFailures(), {
      restarts: true,
      ...setup.commands,
    }),
    setup.faults ? storageFaults() : fc.constant<readonly StorageFault[]>([]),
    async (scheduler, policy, commands, faults) => {
      const coverage = await runChunkPoolModel(
        { ...setup, whenFull: policy, faults },
        scheduler,
        commands as Parameters<typeof runPoolModel>[2],
      );
      seen.push({ whenFull: policy, coverage });
    },
  );
}

/**
 * The coverage floors: the least share of runs that must reach each state. Each is set so that
 * a CI run of 40 runs on a random seed misses it with a probability under 1e-4 (binomial, from
 * the shares measured over 1,000 runs; a policy's floors over the third of the runs under it,
 * see docs/chunk-pool.md "The model-based property and its coverage floors"),
 * while a generator that quietly stopped reaching a state fails.
 */
export const FLOORS = {
  meanCommands: 50,
  backpressure: 0.07,
  'input-full': 0.5,
  'lease-timeout': 0.4,
  'dead-letter': 0.07,
  dropped: 0.25,
  restart: 0.5,
  'tiny-record': 0.4,
  'huge-record': 0.4,
  'try-append-accepted': 0.5,
  'unroutable-refused': 0.4,
  'output-down-at-end': 0.3,
} as const;

/** ...and with persistent storage and planned faults, these too. */
export const PERSISTENT_FLOORS = {
  'reserve-in-use': 0.5,
  'fault:append ENOSPC': 0.3,
  'fault:markRouteDone ENOSPC': 0.3,
  'fault:deadLetter ENOSPC': 0.07,
  'fault:hang': 0.3,
} as const;

/**
 * Under each `whenFull`: an append waits (`'block'`, which never drops for room: the model
 * checks that after every step), or records are dropped for room.
 */
const POLICY_FLOORS: Record<WhenFull, Partial<Record<ModelState, number>>> = {
  block: { backpressure: 0.3 },
  'drop-oldest': { 'drop-when-full': 0.3 },
  'drop-newest': { 'drop-when-full': 0.3 },
};

/**
 * Fails unless `seen` reached every floor and `extra`, and the runs under each `whenFull` their
 * policy's floors and `perPolicy`.
 */
export function assertFloors(
  seen: readonly SeenRun[],
  extra: Partial<Record<ModelState, number>> = {},
  perPolicy: Partial<Record<ModelState, number>> = {},
): void {
  assertCoverageFloors(
    seen.map((run) => run.coverage),
    { ...FLOORS, ...extra },
  );
  for (const [policy, floors] of Object.entries(POLICY_FLOORS)) {
    const runs = seen.filter((run) => run.whenFull === policy).map((run) => run.coverage);
    assertCoverageFloors(runs, { ...floors, ...perPolicy });
  }
}
