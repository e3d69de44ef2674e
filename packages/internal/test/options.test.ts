import { expect, test } from 'vitest';
import { describeValue } from '../src/describe-value.js';
import {
  callOptions,
  countOption,
  durationOption,
  nearestName,
  parseDurationFlag,
  rejectUnknownKeys,
  signalOption,
} from '../src/options.js';

test('a value is shown with its type: NaN as NaN, a string number as a string', () => {
  expect(describeValue(Number.NaN)).toBe('NaN (number)');
  expect(describeValue('65536')).toBe('"65536" (string)');
  expect(describeValue(2 ** 31)).toBe('2147483648 (number)');
  expect(describeValue(-Infinity)).toBe('-Infinity (number)');
  expect(describeValue(10n)).toBe('10n (bigint)');
  expect(describeValue(null)).toBe('null');
  expect(describeValue(undefined)).toBe('undefined');
  expect(describeValue(Symbol('x'))).toBe('Symbol(x) (symbol)');
  expect(describeValue([1, 2])).toBe('an array of 2');
  expect(describeValue(() => 1)).toBe('a function');
});

test('describing a hostile object calls none of its code', () => {
  const hostile = Object.create(null, {
    toString: {
      value: () => {
        throw new Error('toString');
      },
      enumerable: true,
    },
    boom: {
      get: () => {
        throw new Error('getter');
      },
      enumerable: true,
    },
  }) as object;
  expect(describeValue(hostile)).toBe('an object with keys toString, boom');
  expect(
    describeValue(
      new Proxy(
        {},
        {
          ownKeys: () => {
            throw new Error('trap');
          },
        },
      ),
    ),
  ).toBe('an object');
});

test('an unknown key names the nearest known one, nested paths included', () => {
  const known = ['timeout', 'deadline', 'concurrency', 'retry'];
  expect(() => rejectUnknownKeys({ timeoutMs: 5 }, known, 'options')).toThrow(
    /^options: unknown option `timeoutMs` \(did you mean `timeout`\?\)/,
  );
  expect(() => rejectUnknownKeys({ retires: 3 }, ['retries', 'minDelay'], 'options.retry')).toThrow(
    expect.objectContaining({ name: 'TypeError', option: 'options.retry.retires' }),
  );
  expect(() => rejectUnknownKeys({ zzz: 1 }, known, 'options')).toThrow(
    /unknown option `zzz`; known options: timeout, deadline, concurrency, retry$/,
  );
  expect(() => rejectUnknownKeys({ timeout: 1, [Symbol('s')]: 1 }, known, 'options')).not.toThrow();
  expect(nearestName('concurency', known)).toBe('concurrency');
  expect(nearestName('xyz', known)).toBeUndefined();
});

test.each([
  [Number.NaN, 'NaN (number)'],
  ['500', '"500" (string)'],
  [-1, '-1 (number)'],
  [null, 'null'],
])('durationOption refuses %s, showing it as %s', (value, shown) => {
  expect(() => durationOption(value, 'options.timeout')).toThrow(TypeError);
  expect(() => durationOption(value, 'options.timeout')).toThrow(
    `options.timeout: expected a duration in milliseconds: a number ≥ 0 (Infinity allowed), got ${shown}`,
  );
});

test('durationOption takes 0, 2^31 and Infinity unless finite is asked', () => {
  expect(durationOption(0, 'd')).toBe(0);
  expect(durationOption(2 ** 31, 'd')).toBe(2 ** 31);
  expect(durationOption(Infinity, 'd')).toBe(Infinity);
  expect(() => durationOption(Infinity, 'd', { finite: true })).toThrow(/finite number/);
  expect(() => durationOption(0, 'd', { min: 1 })).toThrow(/≥ 1/);
});

test('countOption takes whole numbers only, Infinity when allowed', () => {
  expect(countOption(3, 'c')).toBe(3);
  expect(() => countOption(1.5, 'c')).toThrow(/c: expected an integer ≥ 0, got 1.5 \(number\)/);
  expect(() => countOption('65536', 'chunkBytes', { unit: 'bytes', min: 1 })).toThrow(
    'chunkBytes: expected an integer number of bytes ≥ 1, got "65536" (string)',
  );
  expect(countOption(Infinity, 'c', { infinite: true })).toBe(Infinity);
  expect(() => countOption(Infinity, 'c')).toThrow(TypeError);
});

test('a CLI duration needs a unit; a bare number says that it has none', () => {
  expect(parseDurationFlag('500ms', '--timeout')).toBe(500);
  expect(parseDurationFlag('2s', '--timeout')).toBe(2_000);
  expect(parseDurationFlag('1.5m', '--timeout')).toBe(90_000);
  expect(parseDurationFlag('1h', '--timeout')).toBe(3_600_000);
  expect(() => parseDurationFlag('2', '--timeout')).toThrow(/got "2": a bare number has no unit$/);
  expect(() => parseDurationFlag('fast', '--timeout')).toThrow(/^--timeout: expected a duration/);
  expect(() => parseDurationFlag('-1s', '--timeout')).toThrow(TypeError);
});

test('a renamed key names its new name; a unit suffix is read past; an exact name wins', () => {
  expect(() =>
    rejectUnknownKeys({ retries: 1 }, ['maxAttempts', 'minDelay'], 'retry', {
      retries: 'maxAttempts',
    }),
  ).toThrow('retry: unknown option `retries` (did you mean `maxAttempts`?)');
  expect(nearestName('attemptTimeoutMs', ['timeout', 'interval', 'attemptTimeout'])).toBe(
    'attemptTimeout',
  );
  expect(nearestName('shutdownGraceSeconds', ['flushTimeout', 'shutdownGrace'])).toBe(
    'shutdownGrace',
  );
});

test('a signal option is undefined or an AbortSignal; anything else is named', () => {
  const signal = new AbortController().signal;
  expect(signalOption(signal, 'signal')).toBe(signal);
  expect(signalOption(undefined, 'signal')).toBeUndefined();
  expect(() => signalOption(5, 'take(output, options).signal')).toThrow(
    'take(output, options).signal: expected an AbortSignal, got 5 (number)',
  );
  // Looks like one, is not one: its listeners would never be called by an abort.
  expect(() => signalOption({ aborted: false, addEventListener() {} }, 'signal')).toThrow(
    TypeError,
  );
  expect(() => signalOption(null, 'signal')).toThrow('signal: expected an AbortSignal, got null');
});

test("a call's options are undefined or a plain object with known keys only", () => {
  expect(callOptions(undefined, ['signal'], 'options')).toEqual({});
  const given = { signal: undefined };
  expect(callOptions(given, ['signal'], 'options')).toBe(given);
  expect(() => callOptions(null, ['signal'], 'take(output, options)')).toThrow(
    'take(output, options): expected an object, got null',
  );
  expect(() => callOptions(5, ['signal'], 'options')).toThrow('expected an object, got 5 (number)');
  expect(() => callOptions([], ['signal'], 'options')).toThrow('got an array of 0');
  expect(() => callOptions({ signl: 1 }, ['signal'], 'options')).toThrow(
    'options: unknown option `signl` (did you mean `signal`?)',
  );
});
