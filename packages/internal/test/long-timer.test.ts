import { afterEach, expect, test, vi } from 'vitest';
import { MAX_TIMER_MS, setLongTimeout, type TimerFunctions } from '../src/long-timer.js';
import { VirtualClock } from '../src/virtual-clock.js';

const DAY = 24 * 3600 * 1000;

/** Timer functions that record each delay asked for and fire only when told. */
function stubbedTimers() {
  const armed: { ms: number; fire: () => void; cleared: boolean }[] = [];
  const timers: TimerFunctions = {
    setTimeout: (callback, ms) => {
      const entry = { ms, fire: callback, cleared: false };
      armed.push(entry);
      return entry;
    },
    clearTimeout: (handle) => {
      (handle as { cleared: boolean }).cleared = true;
    },
  };
  return { timers, armed };
}

afterEach(() => {
  vi.useRealTimers();
});

test('a 60-day timer chains steps of at most 2^31 − 1 ms and fires after the whole delay', () => {
  const { timers, armed } = stubbedTimers();
  const fired = vi.fn();
  setLongTimeout(fired, 60 * DAY, timers); // three steps
  // Every step Node is asked for is one it honours (a longer one would be clamped to 1 ms).
  for (let step = 0; step < 2; step++) {
    expect(armed.at(-1)?.ms).toBeLessThanOrEqual(MAX_TIMER_MS);
    armed.at(-1)?.fire();
    expect(fired).not.toHaveBeenCalled();
  }
  armed.at(-1)?.fire();
  expect(fired).toHaveBeenCalledTimes(1);
  expect(armed).toHaveLength(3);
  expect(armed.reduce((sum, entry) => sum + entry.ms, 0)).toBe(60 * DAY);
});

test('real timers: no "TimeoutOverflowWarning", and 2^31 ms does not fire after 1 ms', () => {
  vi.useFakeTimers();
  const warning = vi.spyOn(process, 'emitWarning');
  const fired = vi.fn();
  setLongTimeout(fired, 2 ** 31);
  vi.advanceTimersByTime(MAX_TIMER_MS);
  expect(fired).not.toHaveBeenCalled();
  vi.advanceTimersByTime(1);
  expect(fired).toHaveBeenCalledTimes(1);
  expect(warning).not.toHaveBeenCalled();
});

test('Infinity never fires and arms nothing; NaN and negatives mean 0, as for setTimeout', () => {
  const { timers, armed } = stubbedTimers();
  setLongTimeout(() => undefined, Infinity, timers);
  expect(armed).toHaveLength(0);
  setLongTimeout(() => undefined, Number.NaN, timers);
  setLongTimeout(() => undefined, -5, timers);
  expect(armed.map((entry) => entry.ms)).toEqual([0, 0]);
});

test('clear() in the middle of a chain stops it; unref() reaches every chained step', () => {
  const { timers, armed } = stubbedTimers();
  const fired = vi.fn();
  const timer = setLongTimeout(fired, 3 * MAX_TIMER_MS, timers);
  armed.at(-1)?.fire();
  timer.clear();
  expect(armed.at(-1)?.cleared).toBe(true);
  expect(fired).not.toHaveBeenCalled();

  vi.useFakeTimers();
  const unrefTimer = setLongTimeout(fired, 2 * MAX_TIMER_MS).unref();
  vi.advanceTimersByTime(MAX_TIMER_MS);
  // The second step was armed unref'd too: only the pending step keeps a handle.
  expect(fired).not.toHaveBeenCalled();
  unrefTimer.clear();
  vi.advanceTimersByTime(2 * MAX_TIMER_MS);
  expect(fired).not.toHaveBeenCalled();
});

test('on a virtual clock, a 30-day timer fires at 30 days, not before', async () => {
  const clock = new VirtualClock();
  const fired = vi.fn();
  setLongTimeout(fired, 30 * DAY, clock);
  await clock.advanceBy(30 * DAY - 1);
  expect(fired).not.toHaveBeenCalled();
  await clock.advanceBy(1);
  expect(fired).toHaveBeenCalledTimes(1);
  expect(clock.now()).toBe(30 * DAY);
});
