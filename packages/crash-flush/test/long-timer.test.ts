import { afterEach, expect, test, vi } from 'vitest';
import { setLongTimeout } from '../src/internal/long-timer.js';

afterEach(() => vi.useRealTimers());

test('a 30-day timeout is chained in steps of at most 2^31-1 ms and fires after 30 days, not at once', () => {
  vi.useFakeTimers();
  const steps: number[] = [];
  const real = globalThis.setTimeout;
  const spy = vi.spyOn(globalThis, 'setTimeout').mockImplementation(((
    fn: () => void,
    ms: number,
  ) => {
    steps.push(ms);
    return real(fn, ms);
  }) as typeof setTimeout);
  const fired = vi.fn();
  const thirtyDays = 30 * 24 * 3_600_000;
  setLongTimeout(fired, thirtyDays);
  vi.advanceTimersByTime(thirtyDays - 1);
  expect(fired).not.toHaveBeenCalled();
  vi.advanceTimersByTime(1);
  expect(fired).toHaveBeenCalledTimes(1);
  expect(Math.max(...steps)).toBeLessThanOrEqual(2 ** 31 - 1);
  expect(steps.reduce((a, b) => a + b, 0)).toBe(thirtyDays);
  spy.mockRestore();
});

test('Infinity never fires and arms no timer; clear() stops a chained timer', () => {
  vi.useFakeTimers();
  const fired = vi.fn();
  setLongTimeout(fired, Infinity);
  expect(vi.getTimerCount()).toBe(0);
  const handle = setLongTimeout(fired, 2 ** 32);
  vi.advanceTimersByTime(2 ** 31);
  handle.clear();
  vi.advanceTimersByTime(2 ** 32);
  expect(fired).not.toHaveBeenCalled();
  expect(vi.getTimerCount()).toBe(0);
});
