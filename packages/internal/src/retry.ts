/**
 * The one retry policy of every holdfast package that retries (docs/conventions.md): its options,
 * their checks, and the delay before each retry — exponential backoff with full jitter.
 *
 * @module
 */
import { countOption, durationOption, invalidOption, rejectUnknownKeys } from './options.js';

/** How failed attempts are retried: when, how often, and how far apart. */
export interface RetryOptions {
  /**
   * Attempts in all, the first included; `Infinity` retries for ever (a deadline or a breaker
   * still bounds them, where the package has one).
   */
  readonly maxAttempts?: number;
  /** Delay before the first retry, in ms (up to `Infinity`). */
  readonly minDelay?: number;
  /**
   * Upper bound of any delay, in ms (up to `Infinity`); at least `minDelay`.
   * @default the package's default, or `minDelay` when that is longer
   */
  readonly maxDelay?: number;
  /**
   * Growth of the delay per retry: retry n waits `minDelay × factor ** (n − 1)`, capped by
   * `maxDelay`. A finite number ≥ 1.
   * @default 2
   */
  readonly factor?: number;
  /**
   * Full jitter: each delay is drawn uniformly in `[0, computed delay]`, so that many failing
   * callers do not retry in lock-step. `false`: the computed delay exactly.
   * @default true
   */
  readonly jitter?: boolean;
  /**
   * Where jitter draws its numbers in `[0, 1)`: a seam for tests. A throwing function, or one
   * that returns something outside `[0, 1]`, gives the full computed delay.
   * @default Math.random
   */
  readonly random?: () => number;
}

/** A retry policy with every field set and checked. */
export interface RetryPolicy {
  readonly maxAttempts: number;
  readonly minDelay: number;
  readonly maxDelay: number;
  readonly factor: number;
  readonly jitter: boolean;
  readonly random: () => number;
}

/** The fields of {@link RetryOptions}, for unknown-key checks. */
export const RETRY_KEYS = [
  'maxAttempts',
  'minDelay',
  'maxDelay',
  'factor',
  'jitter',
  'random',
] as const satisfies readonly (keyof RetryOptions)[];

/** Names of earlier releases: the unknown-key hint names the new one. */
const RENAMED = { retries: 'maxAttempts', attempts: 'maxAttempts' };

/**
 * Checks `options` (the object at `path`, e.g. `"retry"`) and fills in `defaults`. Its unknown
 * keys are refused, except `extraKeys` (a package's own additions, which it checks itself).
 */
export function resolveRetry(
  options: object,
  path: string,
  defaults: { readonly maxAttempts: number; readonly minDelay: number; readonly maxDelay: number },
  extraKeys: readonly string[] = [],
): RetryPolicy {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw invalidOption(path, `an object { ${RETRY_KEYS.join(', ')} }`, options);
  }
  rejectUnknownKeys(options, [...RETRY_KEYS, ...extraKeys], path, RENAMED);
  const given = options as Record<string, unknown>;
  const at = (key: string) => `${path}.${key}`;
  const maxAttempts =
    given.maxAttempts === undefined
      ? defaults.maxAttempts
      : countOption(given.maxAttempts, at('maxAttempts'), { min: 1, infinite: true });
  const minDelay =
    given.minDelay === undefined
      ? defaults.minDelay
      : durationOption(given.minDelay, at('minDelay'));
  // An unset cap never conflicts with a longer minDelay: it is then minDelay itself.
  const maxDelay =
    given.maxDelay === undefined
      ? Math.max(defaults.maxDelay, minDelay)
      : durationOption(given.maxDelay, at('maxDelay'));
  if (maxDelay < minDelay) {
    throw invalidOption(at('maxDelay'), `at least ${at('minDelay')} (${minDelay})`, maxDelay);
  }
  const factor = given.factor ?? 2;
  if (typeof factor !== 'number' || !(factor >= 1) || !Number.isFinite(factor)) {
    throw invalidOption(at('factor'), 'a finite number ≥ 1', factor);
  }
  const jitter = given.jitter ?? true;
  if (typeof jitter !== 'boolean') throw invalidOption(at('jitter'), 'a boolean', jitter);
  const random = given.random ?? Math.random;
  if (typeof random !== 'function') {
    throw invalidOption(at('random'), 'a function returning a number in [0, 1)', random);
  }
  return { maxAttempts, minDelay, maxDelay, factor, jitter, random: random as () => number };
}

/**
 * The delay before retry number `retry` (1 for the first retry): `minDelay × factor ** (retry −
 * 1)`, capped by `maxDelay`, then with full jitter a uniform draw in `[0, that]`. A `random` that
 * throws or returns something outside `[0, 1]` gives the full delay, and `onBadRandom` hears of
 * it (a package counts it where it counts its hooks' failures).
 */
export function retryDelay(
  policy: RetryPolicy,
  retry: number,
  onBadRandom: (value: unknown) => void = () => undefined,
): number {
  const computed =
    policy.minDelay === 0
      ? 0
      : Math.min(policy.maxDelay, policy.minDelay * policy.factor ** Math.max(0, retry - 1));
  if (!policy.jitter || computed === 0 || computed === Infinity) return computed;
  let drawn: unknown;
  try {
    drawn = policy.random();
  } catch (error) {
    onBadRandom(error);
    return computed;
  }
  if (typeof drawn !== 'number' || !(drawn >= 0 && drawn <= 1)) {
    onBadRandom(drawn);
    return computed;
  }
  return drawn * computed;
}
