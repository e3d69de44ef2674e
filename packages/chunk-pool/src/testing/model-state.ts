import type fc from 'fast-check';
import { describeThrown } from '../describe-value.js';
import { isChunkPoolError } from '../errors.js';
import type { ChunkPoolStats } from '../stats.js';
import type { FaultExcuses } from './faulty-storage.js';
import { ModelCoverage } from './model-coverage.js';
import type { VirtualClock } from './virtual-clock.js';

/**
 * What the model-based property keeps beside the pool it drives: the subject's shape, the
 * model's own bookkeeping, the invariants checked after every step, and the helpers that let
 * scheduled storage calls run. The commands are in `model-commands.ts`, the run in
 * `pool-model.ts`.
 *
 * @module
 */

/** The outputs of the model: tag `both` goes to both, `only-a`/`only-b` to one. */
export const MODEL_OUTPUTS = ['a', 'b'] as const;
/**
 * The model's tags. The last three have no route the pool can use (`route()` returns no output,
 * an output the pool does not have, or throws), so the pool must refuse their records.
 */
export const MODEL_TAGS = ['both', 'only-a', 'only-b', 'nowhere', 'unknown', 'throws'] as const;
const UNROUTABLE_TAGS: ReadonlySet<string> = new Set(['nowhere', 'unknown', 'throws']);

/** Whether the pool must refuse records of `tag`. */
export function unroutable(tag: string): boolean {
  return UNROUTABLE_TAGS.has(tag);
}
export type Tag = (typeof MODEL_TAGS)[number];
export type Output = (typeof MODEL_OUTPUTS)[number];

/** The model's routing, for the pool's `route` option. */
export function modelRoute(tag: string): readonly string[] {
  if (tag === 'only-a') return ['a'];
  if (tag === 'only-b') return ['b'];
  if (tag === 'nowhere') return [];
  if (tag === 'unknown') return ['c'];
  // User code may throw anything: here a null-prototype object.
  if (tag === 'throws') throw Object.create(null) as object;
  return MODEL_OUTPUTS;
}

/** A lease as the model uses it. */
export interface SubjectLease {
  /** `recordCount`, when the subject has it, is checked against the records handed out. */
  readonly chunk: { readonly records: readonly Buffer[]; readonly recordCount?: number };
  ack(): Promise<void>;
  retry(options?: { delay?: number }): Promise<void>;
  drop(reason: string): Promise<void>;
}

type OutputCounters = Pick<
  ChunkPoolStats['outputs'][string],
  'reserve' | 'pendingRecords' | 'delivered' | 'dropped' | 'deadLettered'
> &
  Partial<Pick<ChunkPoolStats['outputs'][string], 'leaseTimeouts'>>;

/** What the property needs of a pool. `tryAppend` and the optional counters are used if there. */
export interface PoolSubject {
  append(tag: string, record: string, options?: { signal?: AbortSignal }): Promise<string>;
  tryAppend?(tag: string, record: string): boolean;
  take(output: string, options?: { signal?: AbortSignal }): Promise<SubjectLease>;
  flush(): Promise<void>;
  close(): Promise<void>;
  stats(): Pick<ChunkPoolStats, 'bytesUp' | 'maxBytesUp' | 'input' | 'appendsWaiting'> &
    Partial<Pick<ChunkPoolStats, 'droppedWhenFull'>> & {
      readonly outputs: Readonly<Record<string, OutputCounters>>;
    };
}

/** Opens a pool under test; `restart` is true when it reopens the same storage. */
export type OpenSubject = (context: {
  readonly clock: VirtualClock;
  readonly scheduler: fc.Scheduler;
  readonly restart: boolean;
}) => Promise<PoolSubject>;

/** How a model run is set up. */
export interface PoolModelSetup {
  readonly open: OpenSubject;
  /** Whether the pool keeps its backlog across a restart (file storage). */
  readonly persistent: boolean;
  /**
   * Whether the run may restart the pool: a persistent one keeps its backlog; any other must
   * have counted what it held as dropped when it closed. @default persistent
   */
  readonly restartable?: boolean;
  /** The pool's `whenFull`, when known: under `'block'` no append may end `'dropped'`. */
  readonly whenFull?: 'block' | 'drop-oldest' | 'drop-newest';
  /**
   * What the pool says a record costs in memory beyond its payload: with storage that is not
   * persistent (every pending record is up) the model then checks the memory the pool reports
   * covers at least that for each pending record.
   */
  readonly recordOverheadBytes?: number;
  /** The payload of the model's largest records (`huge`). @default 600 */
  readonly hugeRecordBytes?: number;
  /** Waits for storage work that is not under the scheduler's control (real I/O). */
  readonly idle?: () => Promise<void>;
  /** The virtual time at which a hung storage call starts, if one is hung (see `plannedFaults`). */
  readonly nextHangEnd?: () => number | undefined;
  /** What failed storage calls may cost at a restart (see `plannedFaults`). */
  readonly takeExcuses?: () => FaultExcuses;
  /** Called once the run is over, to clean up (close the pool, remove folders). */
  readonly dispose?: () => Promise<void>;
  /** A retry delay long enough for a retried chunk to be ready again. @default 1000 */
  readonly retryDelayMs?: number;
  /** The longest retry delay plus the lease timeout: enough virtual time for any wait to end. */
  readonly longestWaitMs: number;
}

/** The state a run keeps beside the pool. */
export class Model {
  nextRecord = 0;
  /**
   * Records this pool (since it was opened) accepted per output, plus what it recovered at open:
   * every one is pending, delivered, dropped or dead-lettered for that output, once.
   */
  readonly routed = { a: 0, b: 0 };
  /** Record names each output acked. */
  readonly delivered = { a: new Set<string>(), b: new Set<string>() };
  /** Records that were in a retried, expired or restarted lease: they may come again. */
  readonly mayRepeat = new Set<string>();
  readonly healthy = { a: true, b: true };
  readonly leases: { output: Output; lease: SubjectLease }[] = [];
  /** Checks that failed inside an append's outcome (it settles after the step that made it). */
  readonly failures: unknown[] = [];
  /** Appends still waiting for room. */
  readonly waiting = new Set<Promise<unknown>>();
  /** The smallest payload appended (for the check of what a record costs in memory). */
  smallestAccepted = Number.POSITIVE_INFINITY;
  readonly coverage = new ModelCoverage();
}

export interface Real {
  pool: PoolSubject;
  readonly clock: VirtualClock;
  readonly scheduler: fc.Scheduler;
  readonly setup: PoolModelSetup;
  /** Rejections no one handled while the run was going (a pool must never leave one). */
  readonly unhandled: unknown[];
}

/**
 * Waits for `operation` while releasing scheduled storage calls: a pool operation may wait on
 * storage, and storage waits on the scheduler. A storage call hung on virtual time is released
 * by moving the clock to its end (what a real hang costs: the time).
 */
export async function settled<T>(real: Real, operation: Promise<T>): Promise<T> {
  let done = false;
  operation.then(
    () => (done = true),
    () => (done = true),
  );
  for (let round = 0; !done; round++) {
    if (round === 10_000) throw new Error('a pool operation never completed');
    await settle(real);
    if (done) break;
    const hangEnd = real.setup.nextHangEnd?.();
    if (hangEnd !== undefined) await real.clock.advanceTo(Math.max(hangEnd, real.clock.now()));
    else await new Promise((resolve) => setTimeout(resolve, 0));
  }
  return operation;
}

/** Lets every released storage call run until the scheduler has nothing left to release. */
export async function settle(real: Real): Promise<void> {
  for (let round = 0; round < 1000; round++) {
    await real.scheduler.waitIdle();
    await real.setup.idle?.();
    await new Promise((resolve) => setImmediate(resolve));
    if (real.scheduler.count() === 0) return;
  }
  throw new Error('storage never became idle');
}

/**
 * The names of a lease's records. A lease whose records do not match its chunk's count lost (or
 * invented) records on the way: a storage whose read-back drops one is caught here, since the
 * pool's counters alone cannot see it.
 */
export function recordNames(lease: SubjectLease): string[] {
  const { records, recordCount } = lease.chunk;
  if (recordCount !== undefined && records.length !== recordCount) {
    throw new Error(`a lease holds ${records.length} records of a chunk of ${recordCount}`);
  }
  return records.map((record) => record.toString().split('|')[0] as string);
}

/** The error codes an append may reject with in the model (never anything else). */
const APPEND_FAILURES = new Set(['POOL_CLOSED', 'STORAGE_FULL', 'STORAGE_ERROR']);
/**
 * ...and what it may reject with for an unroutable tag (the route is asked when the record
 * gets room: until then it may wait, and be refused for the reasons any append may be).
 */
const UNROUTABLE = new Set(['INVALID_OPTION', 'UNKNOWN_OUTPUT', ...APPEND_FAILURES]);

/** Checks why an append or tryAppend of `tag` failed: a `ChunkPoolError` the model expects. */
export function checkAppendFailure(tag: Tag, error: unknown): void {
  const expected = unroutable(tag) ? UNROUTABLE : APPEND_FAILURES;
  if (!isChunkPoolError(error) || !expected.has(error.code)) {
    throw new Error(
      `append(${tag}) failed with ${isChunkPoolError(error) ? error.code : describeThrown(error)}; ` +
        `expected a ChunkPoolError ${[...expected].join(' or ')}`,
    );
  }
}

/** Checks the safety invariants after a step, and notes which states the step reached. */
export function checkInvariants(model: Model, real: Real): void {
  if (model.failures.length > 0) throw model.failures[0];
  if (real.unhandled.length > 0) {
    throw new Error(`the pool left a rejection unhandled: ${describeThrown(real.unhandled[0])}`);
  }
  const stats = real.pool.stats();
  model.coverage.sample(stats, real.setup.recordOverheadBytes ?? 0);
  if (stats.bytesUp > stats.maxBytesUp) {
    throw new Error(`memory ${stats.bytesUp} exceeds maxBytesUp ${stats.maxBytesUp}`);
  }
  if (stats.input.bytesUp > stats.input.limitBytes) {
    throw new Error(`inputs hold ${stats.input.bytesUp} > their share ${stats.input.limitBytes}`);
  }
  if (real.setup.whenFull === 'block' && (stats.droppedWhenFull?.records ?? 0) > 0) {
    throw new Error(`whenFull 'block' dropped ${stats.droppedWhenFull?.records} records`);
  }
  const overhead = real.setup.recordOverheadBytes;
  for (const output of MODEL_OUTPUTS) {
    const own = stats.outputs[output];
    if (own === undefined) throw new Error(`stats() has no output ${output}`);
    if (own.reserve.bytesUp > own.reserve.limitBytes) {
      throw new Error(`reserve of ${output} overdrawn: ${own.reserve.bytesUp}`);
    }
    const accounted =
      own.pendingRecords + own.delivered.records + own.dropped.records + own.deadLettered.records;
    if (accounted !== model.routed[output]) {
      throw new Error(
        `output ${output}: ${model.routed[output]} records accepted or recovered, but ` +
          `${accounted} accounted (pending ${own.pendingRecords}, delivered ` +
          `${own.delivered.records}, dropped ${own.dropped.records}, dead ${own.deadLettered.records})`,
      );
    }
    // Without persistent storage every pending record is in memory, and costs its overhead.
    if (overhead !== undefined && !real.setup.persistent && own.pendingRecords > 0) {
      const least = own.pendingRecords * (model.smallestAccepted + overhead);
      if (stats.bytesUp < least) {
        throw new Error(
          `${own.pendingRecords} records pending for ${output} cost at least ${least} bytes ` +
            `(${overhead} each beyond the payload), but the pool counts ${stats.bytesUp} up`,
        );
      }
    }
  }
}
