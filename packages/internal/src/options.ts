/**
 * The one way every holdfast package checks its options (docs/conventions.md): a bad value is a
 * `TypeError` naming the option's path, the expected form and the value received with its type;
 * an unknown key is a `TypeError` naming the nearest known key.
 *
 * @module
 */
import { describeValue } from './describe-value.js';

/** A `TypeError` about one option, with the option's path as a field. */
export interface OptionError extends TypeError {
  readonly option: string;
}

/** The error for a bad value at `path` (`"retry.maxDelay"`): `expected` says the form wanted. */
export function invalidOption(path: string, expected: string, value: unknown): OptionError {
  return Object.assign(
    new TypeError(`${path}: expected ${expected}, got ${describeValue(value)}`),
    { option: path },
  );
}

/**
 * Throws when `options` has an own key that is not in `known`, naming the nearest known one
 * (`timeoutMs`: "did you mean `timeout`?"). `path` is the object's own path (`"options"`,
 * `"retry"`). Symbol keys are not options and are ignored. `renamed` maps names of earlier
 * releases to their new names: the hint names the new one even when it is not the nearest
 * (`retries`: "did you mean `maxAttempts`?").
 */
export function rejectUnknownKeys(
  options: object,
  known: readonly string[],
  path: string,
  renamed: Readonly<Record<string, string>> = {},
): void {
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    const newName = Object.hasOwn(renamed, key) ? renamed[key] : undefined;
    const nearest =
      newName !== undefined && known.includes(newName) ? newName : nearestName(key, known);
    const hint = nearest === undefined ? '' : ` (did you mean \`${nearest}\`?)`;
    throw Object.assign(
      new TypeError(
        `${path}: unknown option \`${key}\`${hint}; known options: ${known.join(', ')}`,
      ),
      { option: `${path}.${key}` },
    );
  }
}

/** The known name closest to `name` (case-insensitive edit distance), if any is close enough. */
export function nearestName(name: string, known: readonly string[]): string | undefined {
  // A unit suffix is the commonest mistake (`timeoutMs`): compare what is left without it.
  const lower = name.replace(/(?<=.)(Ms|Millis|Milliseconds|Seconds|Secs?)$/, '').toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const c = candidate.toLowerCase();
    // A unit suffix or prefix on a known name (`timeoutMs`, `maxTimeout`) is the closest of all.
    const distance =
      lower === c ? 0 : lower.includes(c) || c.includes(lower) ? 0.5 : editDistance(lower, c);
    if (distance < bestDistance) {
      bestDistance = distance;
      best = candidate;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/**
 * A duration in milliseconds: a number from `min` (default 0) up to `Infinity` (allowed unless
 * `finite`). A string, even `'500'`, is refused: options take numbers; CLIs take units
 * ({@link parseDurationFlag}).
 */
export function durationOption(
  value: unknown,
  path: string,
  { min = 0, finite = false }: { min?: number; finite?: boolean } = {},
): number {
  const ok =
    typeof value === 'number' &&
    !Number.isNaN(value) &&
    value >= min &&
    (!finite || Number.isFinite(value));
  if (!ok) {
    const range = finite ? `a finite number ≥ ${min}` : `a number ≥ ${min} (Infinity allowed)`;
    throw invalidOption(path, `a duration in milliseconds: ${range}`, value);
  }
  return value;
}

/** A whole count or size (records, bytes, attempts) from `min` (default 0), finite unless allowed. */
export function countOption(
  value: unknown,
  path: string,
  {
    min = 0,
    infinite = false,
    unit = '',
  }: { min?: number; infinite?: boolean; unit?: string } = {},
): number {
  const ok =
    typeof value === 'number' &&
    value >= min &&
    (Number.isInteger(value) || (infinite && value === Infinity));
  if (!ok) {
    const what = unit === '' ? 'an integer' : `an integer number of ${unit}`;
    throw invalidOption(path, `${what} ≥ ${min}${infinite ? ' (or Infinity)' : ''}`, value);
  }
  return value;
}

const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/**
 * A CLI duration: a number with a unit (`500ms`, `2s`, `1.5m`, `1h`). A bare number is refused,
 * saying so: `--timeout 2` is ambiguous, and was read as 2 ms by mistake before.
 */
export function parseDurationFlag(text: string, flag: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text.trim());
  if (match === null) {
    const bare = /^\d+(?:\.\d+)?$/.test(text.trim());
    throw Object.assign(
      new TypeError(
        `${flag}: expected a duration with a unit (500ms, 2s, 1m, 1h), got ${JSON.stringify(text)}` +
          (bare ? ': a bare number has no unit' : ''),
      ),
      { option: flag },
    );
  }
  return Number(match[1]) * (UNITS[match[2] ?? 'ms'] ?? 1);
}

/** An optional `AbortSignal` at `path`: `undefined`, or a `TypeError` for anything else. */
export function signalOption(value: unknown, path: string): AbortSignal | undefined {
  if (value === undefined || value instanceof AbortSignal) return value;
  throw invalidOption(path, 'an AbortSignal', value);
}

/**
 * The options object of one call (`pool.take(output, options)`): `undefined` is `{}`; anything
 * but a plain object, or an object with a key not in `known`, is a `TypeError` naming `path`.
 */
export function callOptions(
  value: unknown,
  known: readonly string[],
  path: string,
): Readonly<Record<string, unknown>> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidOption(path, 'an object', value);
  }
  rejectUnknownKeys(value, known, path);
  return value as Record<string, unknown>;
}
