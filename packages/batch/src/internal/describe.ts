/**
 * Putting user values into words without ever throwing. A thrown value may be anything: `null`,
 * an `Object.create(null)`, an object whose `toString` throws, an `Error` whose `message` getter
 * throws, a Proxy whose every trap throws. Building a message from it must not throw, or the
 * description of an item's failure would reject the whole batch.
 */

/** A one-line description of a thrown value: its `message` if it has a string one, else `String(value)`. */
export function describeThrown(value: unknown): string {
  try {
    if (typeof value === 'string') return value;
    if ((typeof value === 'object' && value !== null) || typeof value === 'function') {
      let message: unknown;
      try {
        message = (value as { message?: unknown }).message;
      } catch {
        message = undefined;
      }
      if (typeof message === 'string') return message;
    }
    return String(value);
  } catch {
    // String() threw: no toString, or one that throws.
  }
  try {
    return Object.prototype.toString.call(value);
  } catch {
    return '[a value that cannot be described]';
  }
}

/**
 * How an option's value is shown in a `TypeError`: its text and its type, so that `NaN` reads
 * `NaN` (not `null`) and the string `'65536'` reads `"65536"` (string), visibly not a number.
 */
export function showValue(value: unknown): string {
  const type = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
  let text: string;
  try {
    if (typeof value === 'string') text = JSON.stringify(value);
    else if (typeof value === 'function') text = '[function]';
    else if (typeof value === 'object' && value !== null)
      text = JSON.stringify(value) ?? describeThrown(value);
    else text = String(value);
  } catch {
    text = describeThrown(value);
  }
  return `\`${text}\` (${type})`;
}
