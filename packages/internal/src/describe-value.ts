/**
 * How an error message shows a value the user passed: what it is *and* its type, so that `NaN`
 * reads `NaN`, the string `'65536'` reads `"65536" (string)` and not `65536`. Never throws and
 * never calls user code (no getters, no `toString`): the value may be anything.
 */
export function describeValue(value: unknown): string {
  switch (typeof value) {
    case 'number':
    case 'bigint':
    case 'boolean':
      return `${typeof value === 'bigint' ? `${value}n` : String(value)} (${typeof value})`;
    case 'string':
      return `${JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value)} (string)`;
    case 'undefined':
      return 'undefined';
    case 'symbol':
      return `${safeSymbol(value)} (symbol)`;
    case 'function':
      return 'a function';
    default:
      return describeObject(value as object | null);
  }
}

function describeObject(value: object | null): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  // Object.keys reads no getter and no prototype: safe on proxies-free user objects.
  let keys: string[];
  try {
    keys = Object.keys(value);
  } catch {
    return 'an object';
  }
  const shown = keys.slice(0, 5).join(', ');
  if (keys.length === 0) return 'an object with no keys';
  return `an object with keys ${shown}${keys.length > 5 ? ', …' : ''}`;
}

function safeSymbol(value: symbol): string {
  return value.description === undefined ? 'Symbol()' : `Symbol(${value.description})`;
}
