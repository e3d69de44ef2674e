/**
 * The pool's options, their defaults, and the checks that turn a bad value into an error naming
 * it.
 *
 * Over 300 lines: most of it is the options' own documentation (each option's meaning, range and
 * default, read in editors), kept next to the one function that checks them all.
 *
 * @module
 */
import { systemClock, type Clock } from './clock.js';
import {
  countOption,
  durationOption,
  invalidOption,
  rejectUnknownKeys,
  resolveRetry as resolvePolicy,
  RETRY_KEYS,
  type RetryOptions,
  type RetryPolicy,
} from '@holdfast/internal';
import { RECORD_OVERHEAD_BYTES } from './record-cost.js';
import { memoryStorage } from './storage/memory-storage.js';
import type { RecoveryReport } from './events.js';
import type { ChunkStorage } from './storage/storage.js';

/** What happens to an `append` when the inputs' share of the budget is used up. */
export type WhenFull = 'block' | 'drop-oldest' | 'drop-newest';

export type { RetryOptions } from '@holdfast/internal';

/**
 * What an output does when its own backlog is full: `'block'` (a critical output: appends routed
 * to it wait), `'drop-oldest'` (best effort: it gives up the oldest chunks it has not leased) or
 * `'drop-newest'` (best effort: the records appended while it is full are not kept for it). A
 * best-effort output's drops are counted, and it never holds inputs back.
 */
export type OutputWhenFull = 'block' | 'drop-oldest' | 'drop-newest';

/**
 * One output, by name, with its own retry policy and, optionally, its own limits on what its
 * backlog holds (see docs/chunk-pool.md, "Per-output policies"). An output with none of
 * `whenFull`, `maxBytesUp`, `maxBytesStored` behaves as the pool decides for all.
 */
export interface OutputOptions {
  /** `[A-Za-z0-9][A-Za-z0-9_.-]*`: it names the output's dead-letter folder. */
  readonly name: string;
  /** Overrides the pool-wide {@link ChunkPoolOptions.retry} for this output. */
  readonly retry?: RetryOptions;
  /**
   * When this output's backlog is full (its `maxBytesUp` or `maxBytesStored`; with
   * `'drop-oldest'` also the pool's own budgets): `'block'` holds the appends routed to it back,
   * `'drop-oldest'` drops this output's oldest unleased chunks for it alone, `'drop-newest'` does
   * not keep for it the records appended while it is full (both counted per output, and neither
   * ever holds an append back). A best-effort (`'drop-…'`) output's chunks are also the first to
   * go, oldest first, when the pool's own budget is full.
   * @default 'block' when a limit is set; otherwise the pool's `whenFull`, on the pool's budgets
   */
  readonly whenFull?: OutputWhenFull;
  /**
   * Memory (records' cost, as `maxBytesUp`) that the chunks waiting for this output may hold;
   * from `chunkBytes` to the pool's `maxBytesUp`. With persistent storage its chunks past it go
   * down as soon as they are written, and only `maxBytesStored` applies `whenFull`.
   * @default no limit of its own
   */
  readonly maxBytesUp?: number;
  /**
   * Payload bytes of the chunks waiting for this output (stored or in memory), recovered ones
   * included; from `chunkBytes` to the pool's `maxBytesStored`.
   * @default no limit of its own
   */
  readonly maxBytesStored?: number;
}

/** An output's own policy, resolved: its limits are `Infinity` when it sets none. */
export interface OutputPolicy {
  /** `undefined`: no setting of its own (the pool's `whenFull` on the pool's budgets). */
  readonly whenFull: OutputWhenFull | undefined;
  readonly maxBytesUp: number;
  readonly maxBytesStored: number;
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
  readonly chunkAge?: number;
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
  /**
   * The retry policy of every output without its own: the one {@link RetryOptions} of every
   * holdfast package (defaults here: `maxAttempts` 10, `minDelay` 500, `maxDelay` 30 000,
   * `factor` 2, full jitter). The delays space an output's attempts at a chunk and its breaker's
   * cooldowns; `retry.random` is the seam for jitter.
   */
  readonly retry?: RetryOptions;
  /** Consecutive failed attempts after which an output's breaker opens. @default 5 */
  readonly breakerThreshold?: number;
  /** Time source for seal ages, lease timeouts and retry delays. @default systemClock */
  readonly clock?: Clock;
  /**
   * Called once, before `open` resolves, with what recovery found: chunks taken over, damage,
   * and chunks kept for outputs no longer configured (see `pool.unrouted()`). A throw is counted
   * in `stats().listenerErrors`.
   */
  readonly onRecovered?: (report: RecoveryReport) => void;
}

/** A retry policy with every field set. */
export type ResolvedRetry = RetryPolicy;

/** The options with defaults applied and checked. */
export interface ResolvedOptions {
  readonly outputs: readonly string[];
  readonly retryByOutput: ReadonlyMap<string, ResolvedRetry>;
  readonly policyByOutput: ReadonlyMap<string, OutputPolicy>;
  readonly storage: ChunkStorage;
  readonly route: (tag: string) => readonly string[];
  readonly chunkBytes: number;
  readonly chunkAge: number;
  readonly maxBytesUp: number;
  readonly reservePerOutput: number;
  readonly inputShare: number;
  readonly maxBytesStored: number;
  readonly whenFull: WhenFull;
  readonly leaseTimeout: number;
  readonly recoveryBytesUp: number;
  readonly breakerThreshold: number;
  readonly clock: Clock;
  readonly onRecovered: ((report: RecoveryReport) => void) | undefined;
}

const OUTPUT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** The keys of each options object, for the unknown-key check (docs/conventions.md). */
const POOL_KEYS = [
  'outputs',
  'storage',
  'route',
  'chunkBytes',
  'chunkAge',
  'maxBytesUp',
  'reservePerOutput',
  'maxBytesStored',
  'whenFull',
  'leaseTimeout',
  'recoveryBytesUp',
  'retry',
  'breakerThreshold',
  'clock',
  'onRecovered',
] as const satisfies readonly (keyof ChunkPoolOptions)[];
const OUTPUT_KEYS = [
  'name',
  'retry',
  'whenFull',
  'maxBytesUp',
  'maxBytesStored',
] as const satisfies readonly (keyof OutputOptions)[];

/**
 * Checks every option and fills in the defaults. A bad option is a `TypeError` naming it, the
 * form expected and the value received with its type; an unknown key names the nearest known one.
 */
export function resolveOptions(options: ChunkPoolOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) {
    throw invalidOption('options', 'an object', options);
  }
  rejectUnknownKeys(options, POOL_KEYS, 'options');
  if (!Array.isArray(options.outputs) || options.outputs.length === 0) {
    throw invalidOption('outputs', 'a non-empty array of output names', options.outputs);
  }
  const defaultRetry = resolveRetry(options.retry, 'retry');
  const retryByOutput = new Map<string, ResolvedRetry>();
  for (const [index, entry] of options.outputs.entries()) {
    if (typeof entry === 'object' && entry !== null) {
      rejectUnknownKeys(entry, OUTPUT_KEYS, `outputs[${index}]`);
    }
    const name: unknown = typeof entry === 'string' ? entry : (entry as OutputOptions | null)?.name;
    if (typeof name !== 'string' || !OUTPUT_NAME.test(name)) {
      throw invalidOption(
        `outputs[${index}]`,
        `an output name matching ${String(OUTPUT_NAME)}`,
        name,
      );
    }
    if (retryByOutput.has(name)) {
      throw invalidOption(`outputs[${index}]`, 'an output listed once, not twice', name);
    }
    const own = typeof entry === 'string' ? undefined : entry.retry;
    retryByOutput.set(
      name,
      own === undefined
        ? defaultRetry
        : resolveRetry(
            { ...options.retry, ...checkedRetry(own, `outputs[${index}].retry`) },
            `outputs[${index}].retry`,
          ),
    );
  }
  const outputs = [...retryByOutput.keys()];

  // A chunk must hold at least one record, and a record costs its payload plus the overhead.
  const chunkBytes = bytes(
    options.chunkBytes,
    'chunkBytes',
    1024 * 1024,
    RECORD_OVERHEAD_BYTES + 1,
  );
  const maxBytesUp = bytes(options.maxBytesUp, 'maxBytesUp', 64 * 1024 * 1024, 1);
  const reservePerOutput = bytes(options.reservePerOutput, 'reservePerOutput', chunkBytes, 1);
  if (reservePerOutput < chunkBytes) {
    throw invalidOption(
      'reservePerOutput',
      `at least chunkBytes (${chunkBytes}), so every output can always bring one chunk up`,
      reservePerOutput,
    );
  }
  const inputShare = maxBytesUp - outputs.length * reservePerOutput;
  if (inputShare < chunkBytes) {
    throw invalidOption(
      'maxBytesUp',
      `room for ${outputs.length} reserve(s) of ${reservePerOutput} bytes and chunkBytes ` +
        `(${chunkBytes}) for inputs`,
      maxBytesUp,
    );
  }
  const recoveryBytesUp = bytes(
    options.recoveryBytesUp,
    'recoveryBytesUp',
    Math.floor(inputShare / 2),
    0,
  );
  if (recoveryBytesUp > inputShare) {
    throw invalidOption(
      'recoveryBytesUp',
      `at most the inputs' share (${inputShare})`,
      recoveryBytesUp,
    );
  }
  const maxBytesStored =
    options.maxBytesStored === undefined
      ? Number.POSITIVE_INFINITY
      : countOption(options.maxBytesStored, 'maxBytesStored', {
          min: chunkBytes,
          infinite: true,
          unit: 'bytes',
        });
  const whenFull = options.whenFull ?? 'block';
  if (whenFull !== 'block' && whenFull !== 'drop-oldest' && whenFull !== 'drop-newest') {
    throw invalidOption('whenFull', "'block', 'drop-oldest' or 'drop-newest'", whenFull);
  }
  const route = options.route ?? (() => outputs);
  if (typeof route !== 'function')
    throw invalidOption('route', 'a function (tag) => output names', route);
  const storage = options.storage ?? memoryStorage();
  if (typeof storage?.open !== 'function' || typeof storage.append !== 'function') {
    throw invalidOption(
      'storage',
      'a ChunkStorage (memoryStorage(), fileStorage({ dir }) or your own)',
      storage,
    );
  }
  const onRecovered = options.onRecovered;
  if (onRecovered !== undefined && typeof onRecovered !== 'function') {
    throw invalidOption('onRecovered', 'a function (report) => void', onRecovered);
  }
  const clock = options.clock ?? systemClock;
  if (typeof clock?.now !== 'function' || typeof clock.setTimeout !== 'function') {
    throw invalidOption('clock', 'a Clock (now, setTimeout, clearTimeout)', clock);
  }
  const limits = { chunkBytes, maxBytesUp, maxBytesStored };
  const policyByOutput = new Map<string, OutputPolicy>();
  for (const [index, entry] of options.outputs.entries()) {
    const name = typeof entry === 'string' ? entry : entry.name;
    const own = typeof entry === 'string' ? {} : entry;
    policyByOutput.set(name, resolveOutputPolicy(own, `outputs[${index}]`, limits));
  }
  return {
    outputs,
    retryByOutput,
    policyByOutput,
    storage,
    route,
    chunkBytes,
    chunkAge: duration(options.chunkAge, 'chunkAge', 1000, 1),
    maxBytesUp,
    reservePerOutput,
    inputShare,
    maxBytesStored,
    whenFull,
    leaseTimeout: duration(options.leaseTimeout, 'leaseTimeout', 30_000, 1),
    recoveryBytesUp,
    breakerThreshold: count(options.breakerThreshold, 'breakerThreshold', 5, 1),
    clock,
    onRecovered,
  };
}

/** An output's own `whenFull` and limits, each inside the pool's budget. */
function resolveOutputPolicy(
  entry: Partial<OutputOptions>,
  path: string,
  pool: { chunkBytes: number; maxBytesUp: number; maxBytesStored: number },
): OutputPolicy {
  const limit = (key: 'maxBytesUp' | 'maxBytesStored'): number => {
    const value = entry[key];
    if (value === undefined) return Number.POSITIVE_INFINITY;
    const at = `${path}.${key}`;
    // Infinity passes only where the pool's own budget is infinite (maxBytesStored by default).
    countOption(value, at, {
      min: pool.chunkBytes,
      infinite: pool[key] === Infinity,
      unit: 'bytes',
    });
    if (value > pool[key]) {
      throw invalidOption(at, `at most the pool's ${key} (${pool[key]})`, value);
    }
    return value;
  };
  const maxBytesUp = limit('maxBytesUp');
  const maxBytesStored = limit('maxBytesStored');
  const { whenFull } = entry;
  if (
    whenFull !== undefined &&
    whenFull !== 'block' &&
    whenFull !== 'drop-oldest' &&
    whenFull !== 'drop-newest'
  ) {
    throw invalidOption(`${path}.whenFull`, "'block', 'drop-oldest' or 'drop-newest'", whenFull);
  }
  const limited = maxBytesUp !== Infinity || maxBytesStored !== Infinity;
  return { whenFull: whenFull ?? (limited ? 'block' : undefined), maxBytesUp, maxBytesStored };
}

function checkedRetry(retry: RetryOptions, path: string): RetryOptions {
  if (typeof retry !== 'object' || retry === null || Array.isArray(retry)) {
    throw invalidOption(path, `an object { ${RETRY_KEYS.join(', ')} }`, retry);
  }
  rejectUnknownKeys(retry, RETRY_KEYS, path);
  return retry;
}

const RETRY_DEFAULTS = { maxAttempts: 10, minDelay: 500, maxDelay: 30_000 };

function resolveRetry(retry: RetryOptions | undefined, path: string): ResolvedRetry {
  return resolvePolicy(retry ?? {}, path, RETRY_DEFAULTS);
}

/** A duration in milliseconds, 0 to Infinity (a timer past 2^31 − 1 ms is chained). */
function duration(value: unknown, path: string, fallback: number, min = 0): number {
  return value === undefined ? fallback : durationOption(value, path, { min });
}

function bytes(value: unknown, path: string, fallback: number, min: number): number {
  return value === undefined ? fallback : countOption(value, path, { min, unit: 'bytes' });
}

function count(value: unknown, path: string, fallback: number, min: number): number {
  return value === undefined ? fallback : countOption(value, path, { min });
}
