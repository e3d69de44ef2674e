/**
 * Reads items from any iterable or async iterable, one at a time, for several workers.
 * Calls to `next()` are serialised, so an async iterator never sees two `next()` in flight.
 */
export interface ItemSource<T> {
  next(): Promise<{ readonly item: T; readonly index: number } | undefined>;
  /** Present for synchronous iterables: the same as `next()` without a promise per item. */
  readonly nextSync?: () => { readonly item: T; readonly index: number } | undefined;
  /** Closes the underlying iterator early (calls its `return()`), at most once. */
  close(): Promise<void>;
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
    throw new TypeError(
      `Expected \`items\` to be an iterable or async iterable, got \`${String(items)}\` (${items === null ? 'null' : typeof items})`,
    );
  }
}

export function itemSource<T>(items: Iterable<T> | AsyncIterable<T>): ItemSource<T> {
  assertItems(items);
  const asyncIterator = (items as AsyncIterable<T>)[Symbol.asyncIterator];
  const syncIterator = (items as Iterable<T>)[Symbol.iterator];
  let index = 0;
  let finished = false;

  if (typeof asyncIterator !== 'function') {
    const iterator = syncIterator.call(items);
    const nextSync = () => {
      if (finished) return undefined;
      const step = iterator.next();
      if (step.done === true) {
        finished = true;
        return undefined;
      }
      return { item: step.value, index: index++ };
    };
    return {
      nextSync,
      next: () => Promise.resolve(nextSync()),
      // eslint-disable-next-line @typescript-eslint/require-await -- async so that a throw here rejects (an async entry point never throws synchronously)
      close: async () => {
        if (finished) return;
        finished = true;
        iterator.return?.();
      },
    };
  }

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
      chain = step.catch(() => undefined);
      return step;
    },
    close: async () => {
      if (finished) return;
      finished = true;
      await chain;
      await iterator.return?.();
    },
  };
}
