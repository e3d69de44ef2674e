/**
 * Option checks shared by `installCrashGuard` and `supervise`: every bad option is a TypeError
 * naming the option, the form expected and the value received with its type (NaN as NaN, a
 * string quoted so '65536' is visibly a string); an unknown key names the nearest known one.
 */

/** A value as an error message shows it: `'65536' (string)`, `NaN (number)`, `null`. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string')
    return `'${value.length > 80 ? `${value.slice(0, 80)}…` : value}' (string)`;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean')
    return `${String(value)} (${typeof value})`;
  if (value === undefined) return 'undefined';
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return 'an array';
  return 'an object';
}

/** Throws the option TypeError: `Expected \`path\` to be <form>, got <value>`. */
export function badOption(path: string, expected: string, value: unknown): never {
  throw new TypeError(`Expected \`${path}\` to be ${expected}, got ${describeValue(value)}`);
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i += 1) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j += 1) {
      const above = row[j]!;
      row[j] = Math.min(
        row[j]! + 1,
        row[j - 1]! + 1,
        diagonal + (a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1),
      );
      diagonal = above;
    }
  }
  return row[b.length]!;
}

/** The known name closest to `name` (edit distance, case-insensitive). */
export function nearest(name: string, known: readonly string[]): string {
  let best = known[0]!;
  for (const candidate of known)
    if (distance(name, candidate) < distance(name, best)) best = candidate;
  return best;
}

/** Rejects a key of `options` that is not in `known`, naming the nearest known one. */
export function rejectUnknownKeys(options: object, known: readonly string[], prefix = ''): void {
  for (const key of Object.keys(options)) {
    if (!known.includes(key))
      throw new TypeError(
        `Unknown option \`${prefix}${key}\`: did you mean \`${prefix}${nearest(key, known)}\`?`,
      );
  }
}

/** A duration in ms: a number >= `min`, `Infinity` allowed (never). */
export function duration(path: string, value: unknown, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || Number.isNaN(value) || value < min)
    badOption(path, `a duration in milliseconds >= ${min} (Infinity for never)`, value);
  return value;
}

/** An integer >= `min`. */
export function integer(path: string, value: unknown, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min)
    badOption(path, `an integer >= ${min}`, value);
  return value;
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
  rejectUnknownKeys(value, known, `${path}.`);
  return value as Partial<T>;
}
