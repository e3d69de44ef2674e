/**
 * Turning whatever was thrown into the report's `{ type, message, stack }`, and a log record into
 * JSON, without ever throwing: a value's getters, `toString`, `toJSON` or `Symbol.toPrimitive`
 * may throw, it may have no prototype, be circular, be a Proxy, or be a 50 MB string. Every text
 * is cut to the report's byte budget before anything else looks at it.
 */

/** `text` cut to at most `maxBytes` UTF-8 bytes, never in the middle of a character. */
export function clipUtf8(text: string, maxBytes: number): string {
  // A character is 1 to 4 bytes (a UTF-16 unit at most 3): cut the characters first, cheaply.
  const chars = text.length > maxBytes ? text.slice(0, maxBytes) : text;
  const bytes = Buffer.from(chars, 'utf8');
  if (bytes.length <= maxBytes) return chars;
  let end = Math.max(0, maxBytes);
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end -= 1; // back to a character's start
  return bytes.subarray(0, end).toString('utf8');
}

/** Reads `read()`, or `fallback` when it throws. */
function attempt<T>(read: () => T, fallback: T): T {
  try {
    return read();
  } catch {
    return fallback;
  }
}

/** A string field of an error, or undefined when it is absent, not a string, or its getter throws. */
function stringField(error: object, key: 'name' | 'message' | 'stack'): string | undefined {
  const value = attempt(() => (error as Record<string, unknown>)[key], undefined);
  return typeof value === 'string' ? value : undefined;
}

/** Any value as text, whatever it is. */
export function textOf(value: unknown, maxBytes: number): string {
  if (typeof value === 'string') return clipUtf8(value, maxBytes);
  const json = attempt(() => JSON.stringify(value) as string | undefined, undefined);
  if (typeof json === 'string') return clipUtf8(json, maxBytes);
  const text = attempt(() => String(value), undefined);
  if (typeof text === 'string') return clipUtf8(text, maxBytes);
  return attempt(() => Object.prototype.toString.call(value), '[unprintable value]');
}

function isError(value: unknown): value is Error {
  return attempt(() => value instanceof Error, false);
}

/** The report's `error` for anything thrown (undefined only for `undefined`). */
export function describeError(
  error: unknown,
  maxBytes: number,
): { type: string; message: string; stack: string } | undefined {
  if (error === undefined) return undefined;
  if (isError(error)) {
    const type = clipUtf8(stringField(error, 'name') ?? 'Error', 256);
    const message = clipUtf8(stringField(error, 'message') ?? '', maxBytes);
    const stack = clipUtf8(stringField(error, 'stack') ?? `${type}: ${message}`, maxBytes);
    return { type, message, stack };
  }
  const text = textOf(error, maxBytes);
  const type = error === null ? 'null' : typeof error;
  return { type, message: text, stack: text };
}

/**
 * A log record as a JSON text of at most `maxBytes` (a record that cannot be serialised, or is
 * too large, becomes its string form, cut).
 */
export function safeRecordJson(record: unknown, maxBytes: number): string {
  if (typeof record === 'string') {
    // A JSON line from a logger: kept as the value it encodes when it parses.
    if (record.length <= maxBytes) {
      const parsed = attempt(() => JSON.parse(record) as unknown, undefined);
      if (parsed !== undefined) return JSON.stringify(parsed);
    }
    return JSON.stringify(clipUtf8(record, maxBytes));
  }
  const json = attempt(() => JSON.stringify(record) as string | undefined, undefined);
  if (typeof json === 'string' && Buffer.byteLength(json) <= maxBytes) return json;
  return JSON.stringify(textOf(record, maxBytes));
}

/** Any value as the JSON value it serialises to, or as its text when it cannot be serialised. */
function jsonSafe(value: unknown, maxBytes: number): unknown {
  const json = attempt(() => JSON.stringify(value) as string | undefined, undefined);
  if (typeof json === 'string' && Buffer.byteLength(json) <= maxBytes) {
    return JSON.parse(json) as unknown;
  }
  return textOf(value, maxBytes);
}

/**
 * The fields of `guard.capture()`'s `extra` as JSON values, each on its own: a field that cannot
 * be serialised (a BigInt, a cycle, a getter or `toJSON` that throws) becomes its text and costs
 * nothing else. Not a plain object (from JavaScript), or one whose keys cannot be listed (a
 * Proxy): kept whole as `{ value }`.
 */
export function safeFields(fields: unknown, maxBytes: number): Record<string, unknown> {
  const keys =
    typeof fields !== 'object' || fields === null || Array.isArray(fields)
      ? undefined
      : attempt(() => Object.keys(fields), undefined);
  if (keys === undefined) return { value: jsonSafe(fields, maxBytes) };
  // fromEntries defines each key as a field of its own: a `__proto__` key stays a field.
  return Object.fromEntries(
    keys.map((key) => {
      const value = attempt(
        () => (fields as Record<string, unknown>)[key],
        '[field could not be read]',
      );
      return [key, jsonSafe(value, maxBytes)];
    }),
  );
}
