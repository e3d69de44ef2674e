/**
 * The option checks of `fetchAll`, `fetchEach` and `createInventory`: @holdfast/internal's, with
 * the default an unset option takes. Every failure is a `TypeError` naming the option's path, the
 * expected form and the value received with its type (docs/conventions.md).
 */
import { countOption, durationOption, invalidOption, rejectUnknownKeys } from '@holdfast/internal';

export function fail(path: string, expected: string, value: unknown): never {
  throw invalidOption(path, expected, value);
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
 * writes `{ timeoutMs: 5 }` must hear about it, not get no timeout. `path` is `'options'` for
 * the top level, else the nested object's path (`'retry'`).
 */
export function knownKeys(path: string, object: object, known: readonly string[]): void {
  rejectUnknownKeys(object, known, path, RENAMED);
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
  return value === undefined ? fallback : countOption(value, path, { min, infinite });
}

/** A duration in ms: any number >= 0 up to `Infinity` (long timers are chained, never clamped). */
export function duration(path: string, value: unknown, fallback: number): number {
  return value === undefined ? fallback : durationOption(value, path);
}

export function callback<F>(path: string, value: unknown): F | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'function') fail(path, 'a function', value);
  return value as F;
}
