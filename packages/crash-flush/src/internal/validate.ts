/**
 * The option checks of `installCrashGuard` and `supervise`: @holdfast/internal's, with the
 * default an unset option takes. Every bad option is a TypeError naming the option, the form
 * expected and the value received with its type (NaN as NaN, a string quoted so '65536' is
 * visibly a string); an unknown key names the nearest known one (docs/conventions.md).
 */
import { countOption, durationOption, invalidOption, rejectUnknownKeys } from '@holdfast/internal';

export { rejectUnknownKeys };

/** Throws the option TypeError: `<path>: expected <form>, got <value>`. */
export function badOption(path: string, expected: string, value: unknown): never {
  throw invalidOption(path, expected, value);
}

/** A duration in ms: a number >= `min`, `Infinity` allowed (never). */
export function duration(path: string, value: unknown, fallback: number, min = 0): number {
  return value === undefined ? fallback : durationOption(value, path, { min });
}

/** An integer >= `min`. */
export function integer(path: string, value: unknown, fallback: number, min: number): number {
  return value === undefined ? fallback : countOption(value, path, { min });
}

/** An optional nested options object (undefined allowed), its unknown keys rejected. */
export function nested<T extends object>(
  path: string,
  value: unknown,
  known: readonly string[],
): Partial<T> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    badOption(path, 'an object', value);
  rejectUnknownKeys(value, known, path);
  return value as Partial<T>;
}
