/**
 * Option checks shared by every entry point: each throws a `TypeError` naming the option, the
 * form expected and the value received with its type (`NaN` as NaN, strings quoted, so that
 * `'65536'` is visibly a string).
 */

/** A value as an error message shows it; never throws, whatever the value's getters do. */
export function show(value: unknown): string {
  const type = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
  return `\`${text(value)}\` (${type})`;
}

function text(value: unknown): string {
  switch (typeof value) {
    case 'number':
    case 'bigint':
    case 'boolean':
    case 'undefined':
      return String(value); // NaN, Infinity, -1: not JSON's `null`
    case 'string':
      return JSON.stringify(value);
    case 'function':
      return '[function]';
    case 'symbol':
      return value.description === undefined ? 'Symbol()' : `Symbol(${value.description})`;
    default:
      try {
        return JSON.stringify(value) ?? '[object]';
      } catch {
        return '[object]'; // a cycle, or a getter that throws
      }
  }
}

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
  throw new TypeError(`Expected \`${name}\` to be ${expected}, got ${show(value)}`);
}

/** A duration in milliseconds: any number >= 0, `Infinity` included (long timers chain). */
export function duration(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0)
    fail(name, 'a duration in milliseconds: a number >= 0, or Infinity', value);
  return value;
}

/** A size in bytes: a whole number >= 0. */
export function bytes(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0)
    fail(name, 'a number of bytes: an integer >= 0', value);
  return value;
}

export function positiveInteger(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1)
    fail(name, 'an integer >= 1', value);
  return value;
}

export function optionalFunction<F>(name: string, value: unknown): F | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'function') fail(name, 'a function', value);
  return value as F;
}

export function optionalSignal(name: string, value: unknown): AbortSignal | undefined {
  if (value === undefined) return undefined;
  if (!(value instanceof AbortSignal)) fail(name, 'an AbortSignal', value);
  return value;
}

/**
 * An options object: `undefined` (no options) or a plain object whose every own key is one of
 * `known`. An unknown key is a `TypeError` naming the nearest known one (`timeout`: did you
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
  for (const key of Object.keys(value)) {
    if (!(known as readonly string[]).includes(key)) {
      throw new TypeError(
        `Unknown option \`${key}\` in \`${name}\`: did you mean \`${nearest(key, known)}\`? (known: ${known.join(', ')})`,
      );
    }
  }
  return value as Partial<T>;
}

/** The known name closest to `key` (edit distance, case-insensitive). */
function nearest(key: string, known: readonly string[]): string {
  let best = known[0] ?? '';
  let bestDistance = Infinity;
  for (const candidate of known) {
    const d = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      current[j] = Math.min(
        previous[j]! + 1,
        current[j - 1]! + 1,
        previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length]!;
}
