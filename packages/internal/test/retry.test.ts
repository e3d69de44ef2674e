import { expect, test } from 'vitest';
import { resolveRetry, retryDelay } from '../src/retry.js';

const DEFAULTS = { maxAttempts: 3, minDelay: 100, maxDelay: 2_000 };

test('the delay grows by factor, is capped by maxDelay, and full jitter scales it by random()', () => {
  const exact = resolveRetry({ jitter: false, factor: 3 }, 'retry', DEFAULTS);
  expect([1, 2, 3, 4, 5].map((n) => retryDelay(exact, n))).toEqual([100, 300, 900, 2_000, 2_000]);
  const jittered = resolveRetry({ random: () => 0.25 }, 'retry', DEFAULTS);
  expect([1, 2, 3].map((n) => retryDelay(jittered, n))).toEqual([25, 50, 100]);
  // Full, not equal, jitter: a draw of 0 is no wait at all.
  expect(retryDelay(resolveRetry({ random: () => 0 }, 'retry', DEFAULTS), 3)).toBe(0);
});

test('a random() that throws or strays gives the full delay, and is reported', () => {
  const reported: unknown[] = [];
  for (const random of [
    () => 2,
    () => Number.NaN,
    () => '0.5' as never,
    () => {
      throw null;
    },
  ]) {
    const policy = resolveRetry({ random }, 'retry', DEFAULTS);
    expect(retryDelay(policy, 2, (value) => reported.push(value))).toBe(200);
  }
  expect(reported).toHaveLength(4);
});

test('an unset maxDelay is never below minDelay; a set one must not be', () => {
  expect(resolveRetry({ minDelay: 2 ** 31 }, 'retry', DEFAULTS).maxDelay).toBe(2 ** 31);
  expect(() => resolveRetry({ minDelay: 500, maxDelay: 100 }, 'retry', DEFAULTS)).toThrow(
    'retry.maxDelay: expected at least retry.minDelay (500), got 100 (number)',
  );
});

test('every field is checked, by its path, and unknown keys are refused with a hint', () => {
  const bad: [object, string][] = [
    [
      { maxAttempts: 0 },
      'retry.maxAttempts: expected an integer ≥ 1 (or Infinity), got 0 (number)',
    ],
    [{ minDelay: Number.NaN }, 'retry.minDelay: expected a duration'],
    [{ factor: 0.5 }, 'retry.factor: expected a finite number ≥ 1, got 0.5 (number)'],
    [{ jitter: 'yes' }, 'retry.jitter: expected a boolean, got "yes" (string)'],
    [{ random: 0.5 }, 'retry.random: expected a function'],
    [{ retries: 2 }, 'retry: unknown option `retries` (did you mean `maxAttempts`?)'],
    [{ budget: 0.1 }, 'retry: unknown option `budget`'],
  ];
  for (const [options, message] of bad)
    expect(() => resolveRetry(options, 'retry', DEFAULTS)).toThrow(message);
  expect(resolveRetry({ budget: 0.1 }, 'retry', DEFAULTS, ['budget']).maxAttempts).toBe(3);
  expect(resolveRetry({ maxAttempts: Infinity }, 'retry', DEFAULTS).maxAttempts).toBe(Infinity);
});
