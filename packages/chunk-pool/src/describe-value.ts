/**
 * A short, safe description of any value the user's code threw or returned, for error messages.
 *
 * @module
 */

/**
 * Describes `value` without trusting it: a thrown value may be anything, including a
 * null-prototype object or one whose `message` or `toString` getter throws.
 */
export function describeThrown(value: unknown): string {
  try {
    if (value instanceof Error) return `${value.name}: ${value.message}`;
    if (typeof value === 'string') return JSON.stringify(value);
    if (typeof value === 'object' && value !== null) {
      const message = (value as { message?: unknown }).message;
      if (typeof message === 'string') return message;
      return Object.prototype.toString.call(value);
    }
    return `${typeof value} ${String(value)}`;
  } catch {
    return 'a value that cannot be described';
  }
}
