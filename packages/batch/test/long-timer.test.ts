import { afterEach, describe, expect, test, vi } from 'vitest';
import { MAX_TIMER_MS, setLongTimeout } from '../src/internal/long-timer.js';

/** A stubbed global setTimeout: records each step, fires them when the test says. */
function stubTimers() {
  const pending: { fn: () => void; ms: number; unref: boolean; cleared: boolean }[] = [];
  vi.spyOn(globalThis, 'setTimeout').mockImplementation(((fn: () => void, ms: number) => {
    const timer = { fn, ms, unref: false, cleared: false };
    pending.push(timer);
    return { unref: () => (timer.unref = true) } as never;
  }) as never);
  vi.spyOn(globalThis, 'clearTimeout').mockImplementation(((handle: unknown) => {
    for (const t of pending) if (handle !== undefined && !t.cleared) t.cleared = true;
  }) as never);
  const fireNext = () => {
    const timer = pending.shift();
    if (timer === undefined || timer.cleared) return false;
    timer.fn();
    return true;
  };
  return { pending, fireNext };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('setLongTimeout', () => {
  test('a 30-day timer is chained in steps of at most 2^31 - 1 ms and fires once, at the end', () => {
    const { pending, fireNext } = stubTimers();
    const day = 86_400_000;
    let fired = 0;
    setLongTimeout(() => (fired += 1), 30 * day);
    const steps: number[] = [];
    while (pending.length > 0) {
      steps.push(pending[0]!.ms);
      expect(fired).toBe(0);
      fireNext();
    }
    expect(fired).toBe(1);
    expect(Math.max(...steps)).toBe(MAX_TIMER_MS);
    expect(steps.reduce((a, b) => a + b, 0)).toBe(30 * day);
  });

  test('a short timer is one setTimeout; Infinity sets none and never fires', () => {
    const { pending } = stubTimers();
    setLongTimeout(() => {}, 5);
    expect(pending.map((t) => t.ms)).toEqual([5]);
    setLongTimeout(() => {}, Infinity);
    expect(pending).toHaveLength(1);
  });

  test('clear() stops the chain; unref() reaches every step', () => {
    const { pending, fireNext } = stubTimers();
    let fired = false;
    const timer = setLongTimeout(() => (fired = true), 2 ** 32).unref();
    expect(pending[0]!.unref).toBe(true);
    fireNext();
    expect(pending[0]!.unref).toBe(true); // the next step is unref'd too
    timer.clear();
    fireNext();
    expect(fired).toBe(false);
  });
});
