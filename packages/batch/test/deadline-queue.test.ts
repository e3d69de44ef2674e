/**
 * The DeadlineQueue's contract (src/internal/deadline-queue.ts): entries expire at their time, in
 * order, never early and never twice, a cancelled one never; ONE timer is armed at a time (none
 * once nothing is live); and expired or cancelled entries are released while the queue lives on,
 * so a long batch's queue stays O(in flight), not O(attempts so far).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, test } from 'vitest';
import type { Clock } from '../src/clock.js';
import { DeadlineQueue, type QueueEntry } from '../src/internal/deadline-queue.js';
import { VirtualClock } from '../src/testing.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** An entry that records, in `log`, its name and the clock time it expired at. */
function entry(name: string, clock: Clock, log: string[]): QueueEntry {
  return { at: 0, live: false, expire: () => log.push(`${name}@${clock.now()}`) };
}

/**
 * A clock whose timers the test fires by hand, at any time it likes (on time, early, late):
 * `now` is set by the test.
 */
function manualClock() {
  const timers = new Map<number, { callback: () => void; ms: number }>();
  let nextId = 1;
  const state = { now: 0 };
  const clock: Clock = {
    now: () => state.now,
    setTimeout: (callback, ms) => {
      timers.set(nextId, { callback, ms });
      return nextId++;
    },
    clearTimeout: (handle) => timers.delete(handle as number),
  };
  /** Fires the only pending timer (the queue arms one at a time) at time `at`. */
  const fireAt = (at: number) => {
    expect(timers.size).toBe(1);
    const [id, timer] = [...timers][0]!;
    timers.delete(id);
    state.now = at;
    timer.callback();
  };
  return { clock, timers, state, fireAt };
}

describe('DeadlineQueue', () => {
  test('entries expire at their time, in order, served by one timer at a time', async () => {
    const clock = new VirtualClock();
    const queue = new DeadlineQueue(clock);
    const log: string[] = [];
    queue.add(entry('a', clock, log), 10);
    queue.add(entry('b', clock, log), 10);
    queue.add(entry('c', clock, log), 25);
    expect(clock.pendingTimers()).toBe(1);
    await clock.advanceTo(9);
    expect(log).toEqual([]);
    await clock.advanceTo(10);
    expect(log).toEqual(['a@10', 'b@10']);
    expect(clock.pendingTimers()).toBe(1);
    await clock.advanceTo(100);
    expect(log).toEqual(['a@10', 'b@10', 'c@25']);
    expect(clock.pendingTimers()).toBe(0);
  });

  test('an entry marks itself live when added and not live once expired', async () => {
    const clock = new VirtualClock();
    const queue = new DeadlineQueue(clock);
    const e = entry('a', clock, []);
    queue.add(e, 5);
    expect(e).toMatchObject({ at: 5, live: true });
    await clock.advanceTo(5);
    expect(e.live).toBe(false);
  });

  test('an entry due exactly when the timer fires expires on that turn; one the timer reached early waits for its time', () => {
    const { clock, timers, fireAt } = manualClock();
    const queue = new DeadlineQueue(clock);
    const log: string[] = [];
    queue.add(entry('a', clock, log), 10);
    queue.add(entry('b', clock, log), 20);
    expect([...timers.values()].map((t) => t.ms)).toEqual([10]);
    fireAt(10);
    expect(log).toEqual(['a@10']);
    // Re-armed for the rest of b's wait; fired 3 ms early (a coarse timer), it must not expire b.
    expect([...timers.values()].map((t) => t.ms)).toEqual([10]);
    fireAt(17);
    expect(log).toEqual(['a@10']);
    expect([...timers.values()].map((t) => t.ms)).toEqual([3]);
    fireAt(20);
    expect(log).toEqual(['a@10', 'b@20']);
    expect(timers.size).toBe(0);
  });

  test('a timer that fires late expires everything due by then, and re-arms at 0 ms at the earliest', () => {
    const { clock, timers, state, fireAt } = manualClock();
    const queue = new DeadlineQueue(clock);
    const log: string[] = [];
    queue.add(entry('a', clock, log), 10);
    queue.add(entry('b', clock, log), 20);
    queue.add(entry('c', clock, log), 30);
    fireAt(25);
    expect(log).toEqual(['a@25', 'b@25']);
    expect([...timers.values()].map((t) => t.ms)).toEqual([5]);
    // Added while c waits: no second timer.
    queue.add(entry('d', clock, log), 30);
    expect(timers.size).toBe(1);
    // A clock that has run past an entry's time before it was armed gets 0, never a negative delay.
    fireAt(40);
    expect(log).toEqual(['a@25', 'b@25', 'c@40', 'd@40']);
    state.now = 50;
    queue.add(entry('e', clock, log), 45);
    expect([...timers.values()].map((t) => t.ms)).toEqual([0]);
  });

  test('a cancelled entry never expires; cancelling every live entry clears the timer', async () => {
    const clock = new VirtualClock();
    const queue = new DeadlineQueue(clock);
    const log: string[] = [];
    const a = entry('a', clock, log);
    const b = entry('b', clock, log);
    const c = entry('c', clock, log);
    queue.add(a, 10);
    queue.add(b, 20);
    queue.add(c, 30);
    queue.cancel(b); // in the middle: skipped when reached
    expect(b.live).toBe(false);
    await clock.advanceTo(25);
    expect(log).toEqual(['a@10']);
    queue.cancel(c); // the head, and the last live one: no timer is left armed
    expect(clock.pendingTimers()).toBe(0);
    await clock.advanceTo(100);
    expect(log).toEqual(['a@10']);
    // The queue works on afterwards.
    queue.add(entry('d', clock, log), 110);
    expect(clock.pendingTimers()).toBe(1);
    await clock.advanceTo(110);
    expect(log).toEqual(['a@10', 'd@110']);
  });

  test('cancelling the head while later entries live keeps the timer for them, and they fire on time', async () => {
    const clock = new VirtualClock();
    const queue = new DeadlineQueue(clock);
    const log: string[] = [];
    const a = entry('a', clock, log);
    queue.add(a, 10);
    queue.add(entry('b', clock, log), 20);
    queue.cancel(a);
    expect(clock.pendingTimers()).toBe(1);
    await clock.advanceTo(19);
    expect(log).toEqual([]);
    await clock.advanceTo(20);
    expect(log).toEqual(['b@20']);
    expect(clock.pendingTimers()).toBe(0);
  });

  test('an entry added from inside expire() neither delays an earlier pending one nor arms a second timer', async () => {
    const clock = new VirtualClock();
    const queue = new DeadlineQueue(clock);
    const log: string[] = [];
    const again = entry('again', clock, log);
    queue.add(
      {
        at: 0,
        live: false,
        expire: () => {
          log.push(`first@${clock.now()}`);
          queue.add(again, clock.now() + 10);
        },
      },
      5,
    );
    queue.add(entry('second', clock, log), 8);
    await clock.advanceTo(5);
    expect(clock.pendingTimers()).toBe(1);
    await clock.advanceTo(100);
    expect(log).toEqual(['first@5', 'second@8', 'again@15']);
    expect(clock.pendingTimers()).toBe(0);
  });

  test('clearTimeout() is given only handles setTimeout() returned (an entry cancelled while the queue fires)', () => {
    const { clock, fireAt } = manualClock();
    const given: unknown[] = [];
    const strict: Clock = {
      now: clock.now,
      setTimeout: (callback, ms) => {
        const handle = clock.setTimeout(callback, ms);
        given.push(handle);
        return handle;
      },
      clearTimeout: (handle) => {
        // A user's clock may well throw on a handle it never gave out.
        if (!given.includes(handle)) throw new Error(`clearTimeout(${String(handle)})`);
        clock.clearTimeout(handle);
      },
    };
    const queue = new DeadlineQueue(strict);
    const log: string[] = [];
    const b = entry('b', strict, log);
    queue.add({ at: 0, live: false, expire: () => queue.cancel(b) }, 10);
    queue.add(b, 10);
    fireAt(10); // the first entry cancels the last live one while no timer is armed
    expect(log).toEqual([]);
    queue.close();
  });

  test('close() clears the timer and forgets every entry; the queue can be used again', async () => {
    const clock = new VirtualClock();
    const queue = new DeadlineQueue(clock);
    const log: string[] = [];
    queue.add(entry('a', clock, log), 10);
    queue.add(entry('b', clock, log), 20);
    queue.close();
    expect(clock.pendingTimers()).toBe(0);
    await clock.advanceTo(100);
    expect(log).toEqual([]);
    queue.close(); // twice: nothing to clear
    queue.add(entry('c', clock, log), 110);
    expect(clock.pendingTimers()).toBe(1);
    await clock.advanceTo(110);
    expect(log).toEqual(['c@110']);
  });

  // The queue reclaims its consumed prefix in bulk (amortised O(1)): it may hold up to 1,024 dead
  // entries, never a number that grows with the entries it has served.
  describe('memory: what expired or was cancelled is released while the queue lives on', () => {
    /** Adds `n` weakly tracked entries at 1..n ms; returns their weak references. */
    const addTracked = (queue: DeadlineQueue, n: number) => {
      const refs: WeakRef<QueueEntry>[] = [];
      for (let i = 1; i <= n; i += 1) {
        const e: QueueEntry = { at: 0, live: false, expire: () => undefined };
        refs.push(new WeakRef(e));
        queue.add(e, i);
      }
      return refs;
    };
    const alive = async (refs: WeakRef<QueueEntry>[]) => {
      // A WeakRef keeps its target alive until the end of the job that created it.
      await new Promise((resolve) => setImmediate(resolve));
      gc();
      return refs.filter((r) => r.deref() !== undefined).length;
    };

    test('a drained queue holds no entry', async () => {
      const clock = new VirtualClock();
      const queue = new DeadlineQueue(clock);
      const refs = addTracked(queue, 200);
      await clock.advanceTo(200);
      expect(await alive(refs)).toBe(0);
      expect(queue).toBeDefined();
    });

    test('thousands expired ahead of one still pending are released (no O(attempts) growth)', async () => {
      const clock = new VirtualClock();
      const queue = new DeadlineQueue(clock);
      const refs = addTracked(queue, 3_000);
      queue.add({ at: 0, live: false, expire: () => undefined }, 1e6);
      await clock.advanceTo(3_000);
      expect(await alive(refs)).toBeLessThanOrEqual(1_024);
      expect(clock.pendingTimers()).toBe(1);
    });

    test('thousands cancelled at the head, ahead of one still pending, are released', async () => {
      const clock = new VirtualClock();
      const queue = new DeadlineQueue(clock);
      const entries: QueueEntry[] = [];
      for (let i = 1; i <= 3_000; i += 1) {
        const e: QueueEntry = { at: 0, live: false, expire: () => undefined };
        entries.push(e);
        queue.add(e, i);
      }
      queue.add({ at: 0, live: false, expire: () => undefined }, 1e6);
      const refs = entries.map((e) => new WeakRef(e));
      for (const e of entries.splice(0)) queue.cancel(e);
      expect(await alive(refs)).toBeLessThanOrEqual(1_024);
      expect(clock.pendingTimers()).toBe(1);
    });
  });
});
