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
 * The cause of item `index`'s error, for a message that names the item already: a cause that
 * names it too (one of this package's errors, a timeout classified fatal) does not say it twice.
 */
export function describeCause(cause: unknown, index: number): string {
  const text = describeThrown(cause);
  const prefix = `item ${index}: `;
  return text.startsWith(prefix) ? text.slice(prefix.length) : text;
}
