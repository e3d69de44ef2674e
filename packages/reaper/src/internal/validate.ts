/**
 * The option checks of every entry point: @holdfast/internal's, with the default an unset option
 * takes. Each throws a `TypeError` naming the option, the form expected and the value received
 * with its type (`NaN` as NaN, strings quoted, so that `'65536'` is visibly a string).
 */
import {
  countOption,
  describeValue,
  durationOption,
  invalidOption,
  rejectUnknownKeys,
  signalOption,
} from '@holdfast/internal';

/** A value as a message shows it; never throws, whatever the value's getters do. */
export const show = describeValue;

/** A thrown value as a short detail; never throws (null-prototype objects, throwing getters). */
export function describeError(error: unknown): string {
  try {
    if (error instanceof Error) return error.message;
    return `threw ${show(error)}`;
  } catch {
    return 'threw a value that cannot be shown';
  }
}

export function fail(name: string, expected: string, value: unknown): never {
  throw invalidOption(name, expected, value);
}

/** A duration in milliseconds: any number >= 0, `Infinity` included (long timers chain). */
export function duration(name: string, value: unknown, fallback: number): number {
  return value === undefined ? fallback : durationOption(value, name);
}

/** A size in bytes: a whole number >= 0. */
export function bytes(name: string, value: unknown, fallback: number): number {
  return value === undefined ? fallback : countOption(value, name, { unit: 'bytes' });
}

export function positiveInteger(name: string, value: unknown, fallback: number): number {
  return value === undefined ? fallback : countOption(value, name, { min: 1 });
}

export function optionalFunction<F>(name: string, value: unknown): F | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'function') fail(name, 'a function', value);
  return value as F;
}

export function optionalSignal(name: string, value: unknown): AbortSignal | undefined {
  return signalOption(value, name);
}

/**
 * An options object: `undefined` (no options) or a plain object whose every own key is one of
 * `known`. An unknown key is a `TypeError` naming the nearest known one (`timeoutMs`: did you
 * mean `timeout`?), so a misspelt option never passes silently.
 */
export function optionsObject<T extends object>(
  name: string,
  value: unknown,
  known: readonly (keyof T & string)[],
): Partial<T> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    fail(name, 'an object', value);
  rejectUnknownKeys(value, known, name);
  return value as Partial<T>;
}
