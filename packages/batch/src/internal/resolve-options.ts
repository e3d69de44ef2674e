/**
 * Validation and defaults of `FetchOptions`: what the engine runs on.
 */
import { systemClock, type Clock } from '../clock.js';
import type { Outcome } from '../outcome.js';
import type { Classification, FetchOptions, Importance, RetryOptions } from '../options.js';

/** Options after defaults and validation: what the engine runs on. */
export interface ResolvedOptions<T, R> {
  readonly concurrency: number;
  readonly timeout: number;
  readonly deadline: number;
  readonly retries: number;
  readonly minDelay: number;
  readonly maxDelay: number;
  readonly factor: number;
  readonly jitter: boolean;
  readonly budget: { readonly ratio: number; readonly minRetries: number } | undefined;
  readonly classify: ((error: unknown, item: T) => Classification) | undefined;
  readonly importance: ((item: T) => Importance) | undefined;
  readonly breaker: { readonly failureRatio: number; readonly minSamples: number } | undefined;
  readonly maxAbandoned: number;
  readonly hedgeDelay: number | undefined;
  readonly signal: AbortSignal | undefined;
  readonly onOutcome: ((outcome: Outcome<T, R>) => void) | undefined;
  readonly clock: Clock;
}

function show(value: unknown): string {
  const type = value === null ? 'null' : typeof value;
  let text: string;
  try {
    text = typeof value === 'function' ? '[function]' : (JSON.stringify(value) ?? String(value));
  } catch {
    text = String(value);
  }
  return `\`${text}\` (${type})`;
}

function fail(name: string, expected: string, value: unknown): never {
  throw new TypeError(`Expected \`${name}\` to be ${expected}, got ${show(value)}`);
}

function count(name: string, value: unknown, fallback: number, { min = 0, infinite = false } = {}) {
  if (value === undefined) return fallback;
  const ok =
    typeof value === 'number' &&
    ((infinite && value === Infinity) || (Number.isInteger(value) && value >= min));
  if (!ok) fail(name, `an integer >= ${min}${infinite ? ' or Infinity' : ''}`, value);
  return value;
}

function duration(name: string, value: unknown, fallback: number, { infinite = true } = {}) {
  if (value === undefined) return fallback;
  const ok =
    typeof value === 'number' &&
    value >= 0 &&
    (infinite ? !Number.isNaN(value) : Number.isFinite(value));
  if (!ok) fail(name, `a number of milliseconds >= 0${infinite ? ' or Infinity' : ''}`, value);
  return value;
}

function fn<F>(name: string, value: unknown): F | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'function') fail(name, 'a function', value);
  return value as F;
}

/** Validates options and applies defaults; throws a `TypeError` naming the first bad option. */
export function resolveOptions<T, R>(
  options: FetchOptions<T, R> | undefined,
): ResolvedOptions<T, R> {
  if (options !== undefined && (typeof options !== 'object' || options === null)) {
    fail('options', 'an object', options);
  }
  const o: FetchOptions<T, R> = options ?? {};
  const concurrency = count('concurrency', o.concurrency, 8, { min: 1, infinite: true });

  const retry: RetryOptions =
    typeof o.retry === 'number'
      ? { retries: o.retry }
      : o.retry === undefined
        ? { retries: 0 }
        : o.retry;
  if (typeof retry !== 'object' || retry === null) fail('retry', 'a number or an object', o.retry);
  const retries = count(typeof o.retry === 'number' ? 'retry' : 'retry.retries', retry.retries, 2);
  const minDelay = duration('retry.minDelay', retry.minDelay, 100, { infinite: false });
  const maxDelay = duration('retry.maxDelay', retry.maxDelay, 2_000, { infinite: false });
  if (maxDelay < minDelay) fail('retry.maxDelay', `>= retry.minDelay (${minDelay})`, maxDelay);
  const factor = retry.factor ?? 2;
  if (typeof factor !== 'number' || !(factor >= 1) || !Number.isFinite(factor))
    fail('retry.factor', 'a finite number >= 1', factor);
  const jitter = retry.jitter ?? true;
  if (typeof jitter !== 'boolean') fail('retry.jitter', 'a boolean', jitter);

  let budget: ResolvedOptions<T, R>['budget'];
  if (retry.budget !== undefined) {
    const b = typeof retry.budget === 'number' ? { ratio: retry.budget } : retry.budget;
    if (
      typeof b !== 'object' ||
      b === null ||
      typeof b.ratio !== 'number' ||
      !(b.ratio >= 0) ||
      !Number.isFinite(b.ratio)
    ) {
      fail('retry.budget', 'a ratio >= 0 or { ratio, minRetries }', retry.budget);
    }
    budget = { ratio: b.ratio, minRetries: count('retry.budget.minRetries', b.minRetries, 10) };
  }

  let breaker: ResolvedOptions<T, R>['breaker'];
  if (o.breaker !== undefined) {
    const r = (o.breaker as { failureRatio?: unknown } | null)?.failureRatio;
    if (typeof r !== 'number' || !(r > 0 && r <= 1))
      fail('breaker.failureRatio', 'a number in (0, 1]', r);
    breaker = {
      failureRatio: r,
      minSamples: count('breaker.minSamples', o.breaker.minSamples, 10, { min: 1 }),
    };
  }

  let hedgeDelay: number | undefined;
  if (o.hedge !== undefined) {
    const d = (o.hedge as { delayMs?: unknown } | null)?.delayMs;
    hedgeDelay = duration('hedge.delayMs', d, NaN, { infinite: false });
    if (Number.isNaN(hedgeDelay)) fail('hedge.delayMs', 'a number of milliseconds >= 0', d);
  }

  if (o.signal !== undefined && !(o.signal instanceof AbortSignal))
    fail('signal', 'an AbortSignal', o.signal);
  const clock = o.clock ?? systemClock;
  if (
    typeof clock !== 'object' ||
    clock === null ||
    typeof clock.now !== 'function' ||
    typeof clock.setTimeout !== 'function' ||
    typeof clock.clearTimeout !== 'function'
  ) {
    fail('clock', 'an object with now, setTimeout and clearTimeout', clock);
  }

  return {
    concurrency,
    timeout: duration('timeout', o.timeout, 30_000),
    deadline: duration('deadline', o.deadline, Infinity),
    retries,
    minDelay,
    maxDelay,
    factor,
    jitter,
    budget,
    classify: fn('classify', o.classify),
    importance: fn('importance', o.importance),
    breaker,
    maxAbandoned: count('maxAbandoned', o.maxAbandoned, concurrency, { infinite: true }),
    hedgeDelay,
    signal: o.signal,
    onOutcome: fn('onOutcome', o.onOutcome),
    clock,
  };
}
