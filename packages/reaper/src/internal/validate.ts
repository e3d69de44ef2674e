/** Option checks shared by every entry point: each throws a `TypeError` naming the option. */

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

export function fail(name: string, expected: string, value: unknown): never {
  throw new TypeError(`Expected \`${name}\` to be ${expected}, got ${show(value)}`);
}

export function milliseconds(
  name: string,
  value: unknown,
  fallback: number,
  { infinite = false } = {},
): number {
  if (value === undefined) return fallback;
  const ok =
    typeof value === 'number' &&
    value >= 0 &&
    (infinite ? !Number.isNaN(value) : Number.isFinite(value));
  if (!ok) fail(name, `a number of milliseconds >= 0${infinite ? ' or Infinity' : ''}`, value);
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
