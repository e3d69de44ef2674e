import { expect, test, vi } from 'vitest';
import { VirtualClock } from '../src/virtual-clock.js';

test('timers fire in deadline order, then in the order they were set', async () => {
  const clock = new VirtualClock();
  const order: string[] = [];
  clock.setTimeout(() => order.push('b'), 20);
  clock.setTimeout(() => order.push('a'), 10);
  clock.setTimeout(() => order.push('c'), 20);
  await clock.advanceBy(20);
  expect(order).toEqual(['a', 'b', 'c']);
  expect(clock.now()).toBe(20);
});

test('an Infinity timer never fires; advanceTo never moves time back', async () => {
  const clock = new VirtualClock();
  const fired = vi.fn();
  clock.setTimeout(fired, Infinity);
  await clock.advanceTo(1e12);
  expect(fired).not.toHaveBeenCalled();
  await clock.advanceTo(5);
  expect(clock.now()).toBe(1e12);
  await expect(clock.runUntilSettled(new Promise(() => undefined))).rejects.toThrow(
    /still pending at virtual time/,
  );
});

test('spend() moves time without firing: a timer due meanwhile fires late, at the next turn', async () => {
  const clock = new VirtualClock();
  const firedAt: number[] = [];
  clock.setTimeout(() => firedAt.push(clock.now()), 10);
  clock.spend(25);
  expect(firedAt).toEqual([]);
  await clock.advanceBy(0);
  expect(firedAt).toEqual([25]);
});

test('runUntilSettled resolves with the value once the timers it needs have fired', async () => {
  const clock = new VirtualClock();
  const value = clock.sleep(30 * 24 * 3600 * 1000).then(() => 'later');
  await expect(clock.runUntilSettled(value, { maxMs: Infinity })).resolves.toBe('later');
  expect(clock.pendingTimers()).toBe(0);
});
