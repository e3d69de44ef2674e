import { afterEach, describe, expect, test, vi } from 'vitest';
import { MAX_TIMEOUT_MS, setLongTimeout } from '../src/internal/long-timer.js';

/** A stubbed setTimeout: records each armed step and fires them when asked. */
function stubTimers() {
  const armed: { ms: number; fn: () => void; unref: ReturnType<typeof vi.fn> }[] = [];
  vi.spyOn(globalThis, 'setTimeout').mockImplementation(((fn: () => void, ms: number) => {
    const entry = { ms, fn, unref: vi.fn() };
    armed.push(entry);
    return { unref: entry.unref } as unknown as NodeJS.Timeout;
  }) as unknown as typeof setTimeout);
  const cleared = vi.spyOn(globalThis, 'clearTimeout').mockImplementation(() => undefined);
  return { armed, cleared };
}

afterEach(() => vi.restoreAllMocks());

describe('setLongTimeout', () => {
  test('a 30-day timer is armed in steps of at most 2^31 - 1 ms and fires after the last', () => {
    const { armed } = stubTimers();
    const fired = vi.fn();
    const thirtyDays = 30 * 24 * 3_600_000;
    setLongTimeout(fired, thirtyDays);
    let total = 0;
    while (fired.mock.calls.length === 0) {
      const step = armed.at(-1)!;
      expect(step.ms).toBeLessThanOrEqual(MAX_TIMEOUT_MS);
      total += step.ms;
      step.fn();
    }
    expect(total).toBe(thirtyDays);
    expect(armed).toHaveLength(Math.ceil(thirtyDays / MAX_TIMEOUT_MS));
    expect(fired).toHaveBeenCalledTimes(1);
  });

  test('a short timer is one setTimeout of its own length', () => {
    const { armed } = stubTimers();
    const fired = vi.fn();
    setLongTimeout(fired, 250);
    expect(armed.map((a) => a.ms)).toEqual([250]);
    armed[0]!.fn();
    expect(fired).toHaveBeenCalledTimes(1);
  });

  test('Infinity arms nothing and never fires', () => {
    const { armed } = stubTimers();
    setLongTimeout(() => undefined, Infinity)
      .unref()
      .clear();
    expect(armed).toEqual([]);
  });

  test('clear() clears the current step; unref() applies to the current and later steps', () => {
    const { armed, cleared } = stubTimers();
    const timer = setLongTimeout(() => undefined, MAX_TIMEOUT_MS + 10).unref();
    expect(armed[0]!.unref).toHaveBeenCalled();
    armed[0]!.fn();
    expect(armed[1]!.ms).toBe(10);
    expect(armed[1]!.unref).toHaveBeenCalled();
    timer.clear();
    expect(cleared).toHaveBeenCalledTimes(1);
  });
});
