/**
 * Reads items from any iterable or async iterable, one at a time, for several workers.
 * Calls to `next()` are serialised, so an async iterator never sees two `next()` in flight.
 *
 * The source is user code: its `next()` may hang or throw anything. A hanging read must not hold
 * the batch past its deadline or the caller's abort ({@link readUntilStopped}), and closing the
 * source early never waits on it.
 */
import { invalidOption } from '@holdfast/internal';
import type { Waker } from './attempt.js';

export interface ItemSource<T> {
  next(): Promise<{ readonly item: T; readonly index: number } | undefined>;
  /** Present for synchronous iterables: the same as `next()` without a promise per item. */
  readonly nextSync?: () => { readonly item: T; readonly index: number } | undefined;
  /**
   * Closes the underlying iterator early (calls its `return()` once any read in flight has
   * ended), at most once, without waiting for it; `onError` hears of a `return()` that fails.
   */
  close(onError: () => void): void;
}

/** What {@link readUntilStopped} resolves with when the batch stopped first. */
export const STOPPED_READING = Symbol('stopped reading');

/**
 * A read of the source that the batch stop (through the worker's waker) ends at once: the batch
 * has promised to settle at once, and a read may never end. The read itself goes on; an item it
 * delivers after the stop is not reported (the batch never got it), and a failure is observed
 * and dropped.
 */
export function readUntilStopped<V>(
  read: Promise<V>,
  worker: number,
  wakers: (Waker | undefined)[],
): Promise<V | typeof STOPPED_READING> {
  return new Promise((resolve, reject) => {
    wakers[worker] = {
      wake: () => {
        wakers[worker] = undefined;
        resolve(STOPPED_READING);
      },
    };
    read.then(
      (value) => {
        wakers[worker] = undefined;
        resolve(value);
      },
      (error: unknown) => {
        wakers[worker] = undefined;
        reject(error);
      },
    );
  });
}

/** Throws a `TypeError` unless `items` is an iterable or an async iterable. */
export function assertItems(
  items: unknown,
): asserts items is Iterable<unknown> | AsyncIterable<unknown> {
  const ok =
    items !== null &&
    items !== undefined &&
    (typeof (items as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function' ||
      typeof (items as Iterable<unknown>)[Symbol.iterator] === 'function');
  if (!ok) {
    throw invalidOption('items', 'an iterable or async iterable', items);
  }
}

/** Calls `iterator.return()` if it has one; a throw or a rejection goes to `onError`. */
function callReturn(iterator: { return?: () => unknown }, onError: () => void): void {
  try {
    const returned = iterator.return?.();
    if (typeof (returned as PromiseLike<unknown> | undefined)?.then === 'function')
      Promise.resolve(returned).then(undefined, onError);
  } catch {
    onError();
  }
}

export function itemSource<T>(items: Iterable<T> | AsyncIterable<T>): ItemSource<T> {
  assertItems(items);
  const asyncIterator = (items as AsyncIterable<T>)[Symbol.asyncIterator];
  if (typeof asyncIterator !== 'function')
    return new SyncItemSource((items as Iterable<T>)[Symbol.iterator]());
  let index = 0;
  let finished = false;
  const iterator = asyncIterator.call(items);
  let chain: Promise<unknown> = Promise.resolve();
  return {
    next: () => {
      const step = chain.then(async () => {
        if (finished) return undefined;
        const result = await iterator.next();
        if (result.done === true) {
          finished = true;
          return undefined;
        }
        return { item: result.value, index: index++ };
      });
      // A failed read must not poison later reads' chain; the caller sees the failure itself.
      chain = step.then(
        () => undefined,
        () => undefined,
      );
      return step;
    },
    close: (onError) => {
      if (finished) return;
      finished = true;
      // After the read in flight, if any: a read that hangs never gets its `return()`, and the
      // batch does not wait for it either way.
      chain = chain.then(() => callReturn(iterator, onError));
    },
  };
}

/**
 * A synchronous iterable's items. A class, not closures made per batch: `nextSync` is called once
 * per item, and a call site that met one batch's closure deoptimizes on the next one's.
 */
class SyncItemSource<T> implements ItemSource<T> {
  #index = 0;
  #finished = false;
  readonly #iterator: Iterator<T>;

  constructor(iterator: Iterator<T>) {
    this.#iterator = iterator;
  }

  nextSync(): { readonly item: T; readonly index: number } | undefined {
    if (this.#finished) return undefined;
    const step = this.#iterator.next();
    if (step.done === true) {
      this.#finished = true;
      return undefined;
    }
    return { item: step.value, index: this.#index++ };
  }

  next(): Promise<{ readonly item: T; readonly index: number } | undefined> {
    return Promise.resolve(this.nextSync());
  }

  close(onError: () => void): void {
    if (this.#finished) return;
    this.#finished = true;
    callReturn(this.#iterator, onError);
  }
}
