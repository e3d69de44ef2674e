/**
 * The pool's options, their defaults, and the checks that turn a bad value into an error naming
 * it.
 *
 * @module
 */
import { systemClock, type Clock } from './clock.js';
import { ChunkPoolError } from './errors.js';
import { memoryStorage } from './storage/memory-storage.js';
import type { RecoveryReport } from './events.js';
import type { ChunkStorage } from './storage/storage.js';

/** What happens to an `append` when the inputs' share of the budget is used up. */
export type WhenFull = 'block' | 'drop-oldest' | 'drop-newest';

/** How an output's failed attempts are retried (see {@link ChunkPoolOptions.retry}). */
export interface RetryOptions {
  /**
   * Attempts per chunk before it goes to the output's dead letters; `Infinity` retries for ever
   * (the breaker still spaces the attempts out). @default 10
   */
  readonly maxAttempts?: number;
  /** Delay before the first retry, in ms; doubles per attempt. @default 500 */
  readonly minDelay?: number;
  /** Longest delay between attempts, in ms. @default 30000 */
  readonly maxDelay?: number;
}

/** One output, by name, with its own retry policy. */
export interface OutputOptions {
  /** `[A-Za-z0-9][A-Za-z0-9_.-]*`: it names the output's dead-letter folder. */
  readonly name: string;
  /** Overrides the pool-wide {@link ChunkPoolOptions.retry} for this output. */
  readonly retry?: RetryOptions;
}

/** Options of `ChunkPool.open`. All sizes are in bytes of record payload. */
export interface ChunkPoolOptions {
  /** The outputs; every chunk goes to all of them unless `route` says otherwise. */
  readonly outputs: readonly (string | OutputOptions)[];
  /** Where chunks are kept. @default memoryStorage() */
  readonly storage?: ChunkStorage;
  /** Which outputs a tag's chunks go to (a non-empty subset of `outputs`). @default all */
  readonly route?: (tag: string) => readonly string[];
  /** A chunk is sealed before it would grow past this. @default 1 MiB */
  readonly chunkBytes?: number;
  /** A chunk is sealed this long after its first record, however small. @default 1000 */
  readonly chunkAgeMs?: number;
  /** Memory budget: bytes of chunks up (in memory) at once. @default 64 MiB */
  readonly maxBytesUp?: number;
  /**
   * Bytes of the memory budget that only each output may use, to bring its chunks up; at least
   * `chunkBytes`. Inputs may use `maxBytesUp − outputs × reservePerOutput`.
   * @default chunkBytes
   */
  readonly reservePerOutput?: number;
  /** Storage budget: bytes accepted and not yet done, in storage. @default Infinity */
  readonly maxBytesStored?: number;
  /**
   * When the inputs' share (or `maxBytesStored`) is used up: `'block'` makes `append` wait
   * (backpressure), `'drop-oldest'` drops the oldest chunk not being delivered, `'drop-newest'`
   * drops the record being appended. Drops are counted in `stats()` and emitted as `dropped`.
   * With file storage, memory pressure first moves stored chunks down; the policy applies when
   * nothing can move.
   * @default 'block'
   */
  readonly whenFull?: WhenFull;
  /** A lease neither acked, retried nor dropped within this many ms returns by itself. @default 30000 */
  readonly leaseTimeout?: number;
  /**
   * Memory for recovered chunks at open (part of the inputs' share): recovered chunks beyond it
   * stay down and come up through the outputs' reserves.
   * @default half the inputs' share
   */
  readonly recoveryBytesUp?: number;
  /** The retry policy of every output without its own. */
  readonly retry?: RetryOptions;
  /** Consecutive failed attempts after which an output's breaker opens. @default 5 */
  readonly breakerThreshold?: number;
  /** Time source for seal ages, lease timeouts and retry delays. @default systemClock */
  readonly clock?: Clock;
  /** Random numbers in [0, 1) for retry jitter. @default Math.random */
  readonly random?: () => number;
  /**
   * Called once, before `open` resolves, with what recovery found: chunks taken over, damage,
   * and chunks kept for outputs no longer configured (see `pool.unrouted()`). A throw is counted
   * in `stats().listenerErrors`.
   */
  readonly onRecovered?: (report: RecoveryReport) => void;
}

/** A retry policy with every field set. */
export interface ResolvedRetry {
  readonly maxAttempts: number;
  readonly minDelay: number;
  readonly maxDelay: number;
}

/** The options with defaults applied and checked. */
export interface ResolvedOptions {
  readonly outputs: readonly string[];
  readonly retryByOutput: ReadonlyMap<string, ResolvedRetry>;
  readonly storage: ChunkStorage;
  readonly route: (tag: string) => readonly string[];
  readonly chunkBytes: number;
  readonly chunkAgeMs: number;
  readonly maxBytesUp: number;
  readonly reservePerOutput: number;
  readonly inputShare: number;
  readonly maxBytesStored: number;
  readonly whenFull: WhenFull;
  readonly leaseTimeout: number;
  readonly recoveryBytesUp: number;
  readonly breakerThreshold: number;
  readonly clock: Clock;
  readonly random: () => number;
  readonly onRecovered: ((report: RecoveryReport) => void) | undefined;
}

const OUTPUT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** Applies defaults and checks every option, throwing an `INVALID_OPTION` error naming it. */
export function resolveOptions(options: ChunkPoolOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) fail('options must be an object');
  if (!Array.isArray(options.outputs) || options.outputs.length === 0) {
    fail('`outputs` must be a non-empty array of output names');
  }
  const defaultRetry = resolveRetry(options.retry, 'retry');
  const retryByOutput = new Map<string, ResolvedRetry>();
  for (const entry of options.outputs) {
    const name = typeof entry === 'string' ? entry : entry?.name;
    if (typeof name !== 'string' || !OUTPUT_NAME.test(name)) {
      fail(`output name ${JSON.stringify(name)} must match ${String(OUTPUT_NAME)}`);
    }
    if (retryByOutput.has(name)) fail(`output ${JSON.stringify(name)} is listed twice`);
    const own = typeof entry === 'string' ? undefined : entry.retry;
    retryByOutput.set(
      name,
      own === undefined
        ? defaultRetry
        : resolveRetry({ ...options.retry, ...own }, `${name}.retry`),
    );
  }
  const outputs = [...retryByOutput.keys()];

  const chunkBytes = positiveInteger(options.chunkBytes, 'chunkBytes', 1024 * 1024);
  const maxBytesUp = positiveInteger(options.maxBytesUp, 'maxBytesUp', 64 * 1024 * 1024);
  const reservePerOutput = positiveInteger(
    options.reservePerOutput,
    'reservePerOutput',
    chunkBytes,
  );
  if (reservePerOutput < chunkBytes) {
    fail(
      `reservePerOutput (${reservePerOutput}) must be at least chunkBytes (${chunkBytes}), so ` +
        'every output can always bring one chunk up',
    );
  }
  const inputShare = maxBytesUp - outputs.length * reservePerOutput;
  if (inputShare < chunkBytes) {
    fail(
      `maxBytesUp (${maxBytesUp}) leaves inputs ${inputShare} bytes after ${outputs.length} ` +
        `reserve(s) of ${reservePerOutput}; inputs need at least chunkBytes (${chunkBytes})`,
    );
  }
  const recoveryBytesUp = nonNegativeInteger(
    options.recoveryBytesUp,
    'recoveryBytesUp',
    Math.floor(inputShare / 2),
  );
  if (recoveryBytesUp > inputShare) {
    fail(`recoveryBytesUp (${recoveryBytesUp}) must fit in the inputs' share (${inputShare})`);
  }
  const maxBytesStored = options.maxBytesStored ?? Number.POSITIVE_INFINITY;
  if (typeof maxBytesStored !== 'number' || !(maxBytesStored >= chunkBytes)) {
    fail(`maxBytesStored must be a number of bytes ≥ chunkBytes (${chunkBytes})`);
  }
  const whenFull = options.whenFull ?? 'block';
  if (whenFull !== 'block' && whenFull !== 'drop-oldest' && whenFull !== 'drop-newest') {
    fail(`whenFull must be 'block', 'drop-oldest' or 'drop-newest', got ${String(whenFull)}`);
  }
  const route = options.route ?? (() => outputs);
  if (typeof route !== 'function') fail('route must be a function (tag) => output names');
  const storage = options.storage ?? memoryStorage();
  if (typeof storage?.open !== 'function' || typeof storage.append !== 'function') {
    fail('storage must be a ChunkStorage (memoryStorage(), fileStorage({ dir }) or your own)');
  }
  const onRecovered = options.onRecovered;
  if (onRecovered !== undefined && typeof onRecovered !== 'function') {
    fail(`onRecovered must be a function (report) => void, got ${typeof onRecovered}`);
  }
  const random = options.random ?? Math.random;
  if (typeof random !== 'function') fail('random must be a function returning [0, 1)');
  return {
    outputs,
    retryByOutput,
    storage,
    route,
    chunkBytes,
    chunkAgeMs: positiveInteger(options.chunkAgeMs, 'chunkAgeMs', 1000),
    maxBytesUp,
    reservePerOutput,
    inputShare,
    maxBytesStored,
    whenFull,
    leaseTimeout: positiveInteger(options.leaseTimeout, 'leaseTimeout', 30_000),
    recoveryBytesUp,
    breakerThreshold: positiveInteger(options.breakerThreshold, 'breakerThreshold', 5),
    clock: options.clock ?? systemClock,
    random,
    onRecovered,
  };
}

function resolveRetry(retry: RetryOptions | undefined, name: string): ResolvedRetry {
  const minDelay = nonNegativeInteger(retry?.minDelay, `${name}.minDelay`, 500);
  const maxDelay = nonNegativeInteger(retry?.maxDelay, `${name}.maxDelay`, 30_000);
  if (maxDelay < minDelay) fail(`${name}.maxDelay (${maxDelay}) is below minDelay (${minDelay})`);
  return {
    maxAttempts:
      retry?.maxAttempts === Number.POSITIVE_INFINITY
        ? Number.POSITIVE_INFINITY
        : positiveInteger(retry?.maxAttempts, `${name}.maxAttempts`, 10),
    minDelay,
    maxDelay,
  };
}

function positiveInteger(value: number | undefined, name: string, fallback: number): number {
  const resolved = value ?? fallback;
  if (!Number.isSafeInteger(resolved) || resolved <= 0) {
    fail(`${name} must be a positive integer, got ${String(value)}`);
  }
  return resolved;
}

function nonNegativeInteger(value: number | undefined, name: string, fallback: number): number {
  const resolved = value ?? fallback;
  if (!Number.isSafeInteger(resolved) || resolved < 0) {
    fail(`${name} must be a non-negative integer, got ${String(value)}`);
  }
  return resolved;
}

function fail(message: string): never {
  throw new ChunkPoolError('INVALID_OPTION', message);
}
