/**
 * Option validators shared by `fetchAll`, `fetchEach` and `createInventory`. Every failure is a
 * `TypeError` naming the option's path, the expected form and the value received with its type.
 */
import { showValue } from './describe.js';

export function fail(path: string, expected: string, value: unknown): never {
  throw new TypeError(`Expected \`${path}\` to be ${expected}, got ${showValue(value)}`);
}

/** Edit distance between two names (insertions, deletions, substitutions). */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      const cost = a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1;
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
    }
    previous = current;
  }
  return previous[b.length]!;
}

/** How far `key` is from `name`: the edit distance, less the prefix they share (`min` is near `minRetries`). */
function score(key: string, name: string): number {
  let shared = 0;
  while (shared < key.length && key[shared]!.toLowerCase() === name[shared]?.toLowerCase())
    shared += 1;
  return distance(key, name) - 2 * shared;
}

/** Names of earlier releases, renamed per docs/conventions.md: the hint names the new one. */
const RENAMED: Readonly<Record<string, string>> = {
  retries: 'maxAttempts',
  ttlMs: 'ttl',
  delayMs: 'delay',
  timeoutMs: 'timeout',
};

/**
 * Rejects a key of `object` that is not in `known`, naming the nearest known one: a user who
 * writes `{ timeoutMs: 5 }` must hear about it, not get no timeout.
 */
export function knownKeys(path: string, object: object, known: readonly string[]): void {
  for (const key of Object.keys(object)) {
    if (known.includes(key)) continue;
    const renamed = RENAMED[key];
    const nearest =
      renamed !== undefined && known.includes(renamed)
        ? renamed
        : known.reduce((best, name) => (score(key, name) < score(key, best) ? name : best));
    const where = path === '' ? key : `${path}.${key}`;
    throw new TypeError(
      `Unknown option \`${where}\`: did you mean \`${path === '' ? nearest : `${path}.${nearest}`}\`? (known: ${known.join(', ')})`,
    );
  }
}

/** An object (or `undefined`); anything else fails. */
export function optionalObject(path: string, value: unknown): object | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    fail(path, 'an object', value);
  return value;
}

export function integer(
  path: string,
  value: unknown,
  fallback: number,
  { min = 0, infinite = false } = {},
): number {
  if (value === undefined) return fallback;
  const ok =
    typeof value === 'number' &&
    ((infinite && value === Infinity) || (Number.isInteger(value) && value >= min));
  if (!ok) fail(path, `an integer >= ${min}${infinite ? ' or Infinity' : ''}`, value);
  return value;
}

/** A duration in ms: any number >= 0 up to `Infinity` (long timers are chained, never clamped). */
export function duration(path: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !(value >= 0))
    fail(path, 'a number of milliseconds >= 0 or Infinity', value);
  return value;
}

export function callback<F>(path: string, value: unknown): F | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'function') fail(path, 'a function', value);
  return value as F;
}
