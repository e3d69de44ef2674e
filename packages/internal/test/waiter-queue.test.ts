import { getEventListeners } from 'node:events';
import { expect, test } from 'vitest';
import { WaiterQueue } from '../src/waiter-queue.js';

/** How many abort listeners a signal holds (Node's own introspection of EventTarget). */
function listeners(signal: AbortSignal): number {
  return getEventListeners(signal, 'abort').length;
}

test('waiters are woken first in, first out', async () => {
  const queue = new WaiterQueue<string>();
  const order: string[] = [];
  const a = queue.wait().then((v) => order.push(`a:${v}`));
  const b = queue.wait().then((v) => order.push(`b:${v}`));
  expect(queue.size).toBe(2);
  expect(queue.wakeOne('1')).toBe(true);
  expect(queue.wakeOne('2')).toBe(true);
  expect(queue.wakeOne('3')).toBe(false);
  await Promise.all([a, b]);
  expect(order).toEqual(['a:1', 'b:2']);
});

test('an aborted waiter rejects with the reason and leaves no listener or queue entry', async () => {
  const queue = new WaiterQueue<number>();
  const controller = new AbortController();
  const waiting = queue.wait(controller.signal);
  expect(listeners(controller.signal)).toBe(1);
  controller.abort(new Error('gave up'));
  await expect(waiting).rejects.toThrow('gave up');
  expect(queue.size).toBe(0);
  expect(listeners(controller.signal)).toBe(0);
  await expect(queue.wait(controller.signal)).rejects.toThrow('gave up');
  expect(queue.size).toBe(0);
});

test('a woken or rejected waiter takes its abort listener with it', async () => {
  const queue = new WaiterQueue<number>();
  const controller = new AbortController();
  const woken = queue.wait(controller.signal);
  queue.wakeAll(7);
  await expect(woken).resolves.toBe(7);
  const rejected = queue.wait(controller.signal);
  expect(queue.rejectAll(new Error('closed'))).toBe(1);
  await expect(rejected).rejects.toThrow('closed');
  expect(listeners(controller.signal)).toBe(0);
});

test('wakeAll wakes only those waiting when it is called', async () => {
  const queue = new WaiterQueue<number>();
  const late: Promise<number>[] = [];
  const first = queue.wait().then((v) => {
    late.push(queue.wait());
    return v;
  });
  expect(queue.wakeAll(1)).toBe(1);
  await first;
  expect(queue.size).toBe(1);
  queue.wakeOne(2);
  await expect(late[0]).resolves.toBe(2);
});

test('peek shows the data the head waits with; rejectOne rejects only the head', async () => {
  const queue = new WaiterQueue<string, { tag: string }>();
  expect(queue.peek()).toBeUndefined();
  const a = queue.wait(undefined, { tag: 'a' });
  const b = queue.wait(undefined, { tag: 'b' });
  expect(queue.peek()).toEqual({ tag: 'a' });
  expect(queue.rejectOne(new Error('full'))).toBe(true);
  await expect(a).rejects.toThrow('full');
  expect(queue.peek()).toEqual({ tag: 'b' });
  // Woken with a promise: the wait settles as that promise does.
  expect(queue.wakeOne(Promise.reject(new Error('placing failed')))).toBe(true);
  await expect(b).rejects.toThrow('placing failed');
  expect(queue.peek()).toBeUndefined();
  expect(queue.rejectOne(new Error('nobody'))).toBe(false);
});

test('abortError and onAbort: an aborted wait rejects with what abortError makes of the signal', async () => {
  const aborted: string[] = [];
  const queue = new WaiterQueue<number>({
    abortError: (signal) => new Error(`aborted: ${String(signal.reason)}`),
    onAbort: () => aborted.push(`left, ${queue.size} waiting`),
  });
  const controller = new AbortController();
  const waiting = queue.wait(controller.signal);
  const other = queue.wait();
  controller.abort('stop');
  await expect(waiting).rejects.toThrow('aborted: stop');
  expect(aborted).toEqual(['left, 1 waiting']);
  // Already aborted: rejects the same way, at once, without calling onAbort (it never waited).
  await expect(queue.wait(controller.signal)).rejects.toThrow('aborted: stop');
  expect(aborted).toHaveLength(1);
  queue.wakeOne(3);
  await expect(other).resolves.toBe(3);
});

test('wakeWhere wakes only the waiters whose data matches, in order; the others keep waiting', async () => {
  const queue = new WaiterQueue<number, number>();
  const order: string[] = [];
  const waits = [5, 2, 9, 1].map((below) =>
    queue.wait(undefined, below).then((value) => order.push(`${below}:${value}`)),
  );
  expect(queue.wakeWhere((below) => below <= 5, 5)).toBe(3);
  expect(queue.size).toBe(1);
  expect(queue.peek()).toBe(9);
  expect(queue.wakeWhere((below) => below <= 8, 8)).toBe(0);
  expect(queue.wakeWhere((below) => below <= 9, 9)).toBe(1);
  await Promise.all(waits);
  expect(order).toEqual(['5:5', '2:5', '1:5', '9:9']);
});
