/**
 * Validation and defaults of `FetchOptions`: what the engine runs on. Every bad option is a
 * `TypeError` naming it (nested ones by path), the expected form and the value with its type; an
 * unknown key is rejected with the nearest known name.
 */
import { systemClock, type Clock } from '../clock.js';
import type { Outcome } from '../outcome.js';
import type { Classification, FetchOptions, Importance } from '../options.js';
import { resolveRetry as resolvePolicy, signalOption, type RetryPolicy } from '@holdfast/internal';
import { callback, duration, fail, integer, knownKeys, optionalObject } from './validate.js';

/** Options after defaults and validation: what the engine runs on. */
export interface ResolvedOptions<T, R> {
  readonly concurrency: number;
  readonly timeout: number;
  readonly deadline: number;
  readonly retry: RetryPolicy;
  readonly budget: { readonly ratio: number; readonly minRetries: number } | undefined;
  readonly classify: ((error: unknown, item: T) => Classification) | undefined;
  readonly importance: ((item: T) => Importance) | undefined;
  readonly breaker: { readonly failureRatio: number; readonly minSamples: number } | undefined;
  /** `undefined`: the all-failed rule is off. */
  readonly allFailedMinItems: number | undefined;
  readonly maxAbandoned: number;
  readonly hedgeDelay: number | undefined;
  readonly signal: AbortSignal | undefined;
  readonly onOutcome: ((outcome: Outcome<T, R>) => void) | undefined;
  readonly clock: Clock;
}

const OPTION_KEYS = [
  'concurrency',
  'timeout',
  'deadline',
  'retry',
  'classify',
  'importance',
  'breaker',
  'allFailedIsFatal',
  'maxAbandoned',
  'hedge',
  'signal',
  'onOutcome',
  'clock',
] as const satisfies readonly (keyof FetchOptions<unknown>)[];
/** The default of `allFailedIsFatal.minItems`: below it, one failing item is not "the daemon is down". */
export const ALL_FAILED_MIN_ITEMS = 3;

/** The defaults of a `retry` object (docs/conventions.md: the one RetryOptions). */
const RETRY_DEFAULTS = { maxAttempts: 3, minDelay: 100, maxDelay: 2_000 };

function resolveRetry(value: unknown) {
  // No `retry`: one attempt. `retry: n` is shorthand for n retries: `{ maxAttempts: n + 1 }`.
  if (value === undefined || typeof value === 'number') {
    const retries = value === undefined ? 0 : integer('retry', value, 0);
    return {
      retry: resolvePolicy({}, 'retry', { ...RETRY_DEFAULTS, maxAttempts: retries + 1 }),
      budget: undefined,
    };
  }
  const retry = (optionalObject('retry', value) ?? {}) as Record<string, unknown>;
  const policy = resolvePolicy(retry, 'retry', RETRY_DEFAULTS, ['budget']);

  let budget: ResolvedOptions<unknown, unknown>['budget'];
  if (retry.budget !== undefined) {
    const b = (typeof retry.budget === 'number' ? { ratio: retry.budget } : retry.budget) as Record<
      string,
      unknown
    > | null;
    if (typeof b !== 'object' || b === null || Array.isArray(b))
      fail('retry.budget', 'a ratio >= 0 or { ratio, minRetries }', retry.budget);
    knownKeys('retry.budget', b, ['ratio', 'minRetries']);
    const ratio = b.ratio;
    if (typeof ratio !== 'number' || !(ratio >= 0) || !Number.isFinite(ratio))
      fail('retry.budget.ratio', 'a finite number >= 0', ratio);
    budget = { ratio, minRetries: integer('retry.budget.minRetries', b.minRetries, 10) };
  }
  return { retry: policy, budget };
}

function resolveBreaker(value: unknown): ResolvedOptions<unknown, unknown>['breaker'] {
  const b = optionalObject('breaker', value) as Record<string, unknown> | undefined;
  if (b === undefined) return undefined;
  knownKeys('breaker', b, ['failureRatio', 'minSamples']);
  const r = b.failureRatio;
  if (typeof r !== 'number' || !(r > 0 && r <= 1))
    fail('breaker.failureRatio', 'a number in (0, 1]', r);
  return {
    failureRatio: r,
    minSamples: integer('breaker.minSamples', b.minSamples, 10, { min: 1 }),
  };
}

function resolveAllFailed(value: unknown): number | undefined {
  if (value === undefined || value === true) return ALL_FAILED_MIN_ITEMS;
  if (value === false) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    fail('allFailedIsFatal', 'a boolean or { minItems }', value);
  knownKeys('allFailedIsFatal', value, ['minItems']);
  return integer(
    'allFailedIsFatal.minItems',
    (value as { minItems?: unknown }).minItems,
    ALL_FAILED_MIN_ITEMS,
    { min: 1 },
  );
}

function resolveHedge(value: unknown): number | undefined {
  const h = optionalObject('hedge', value) as Record<string, unknown> | undefined;
  if (h === undefined) return undefined;
  knownKeys('hedge', h, ['delay']);
  if (h.delay === undefined) fail('hedge.delay', 'a number of milliseconds >= 0', undefined);
  return duration('hedge.delay', h.delay, 0);
}

function resolveClock(value: unknown): Clock {
  const clock = (value ?? systemClock) as Partial<Clock> | null;
  if (
    typeof clock !== 'object' ||
    clock === null ||
    typeof clock.now !== 'function' ||
    typeof clock.setTimeout !== 'function' ||
    typeof clock.clearTimeout !== 'function'
  ) {
    fail('clock', 'an object with now, setTimeout and clearTimeout', value);
  }
  return clock as Clock;
}

/** Validates options and applies defaults; throws a `TypeError` naming the first bad option. */
export function resolveOptions<T, R>(
  options: FetchOptions<T, R> | undefined,
): ResolvedOptions<T, R> {
  const o = (optionalObject('options', options) ?? {}) as Record<string, unknown>;
  knownKeys('options', o, OPTION_KEYS);
  const concurrency = integer('concurrency', o.concurrency, 8, { min: 1, infinite: true });
  signalOption(o.signal, 'signal');
  return {
    concurrency,
    timeout: duration('timeout', o.timeout, 30_000),
    deadline: duration('deadline', o.deadline, Infinity),
    ...resolveRetry(o.retry),
    classify: callback('classify', o.classify),
    importance: callback('importance', o.importance),
    breaker: resolveBreaker(o.breaker),
    allFailedMinItems: resolveAllFailed(o.allFailedIsFatal),
    // At least 1: with 0, no attempt could ever start and the batch would hang without a handle.
    maxAbandoned: integer('maxAbandoned', o.maxAbandoned, concurrency, { min: 1, infinite: true }),
    hedgeDelay: resolveHedge(o.hedge),
    signal: o.signal as AbortSignal | undefined,
    onOutcome: callback('onOutcome', o.onOutcome),
    clock: resolveClock(o.clock),
  };
}
