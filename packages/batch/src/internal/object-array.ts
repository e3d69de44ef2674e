/**
 * An empty array whose elements are objects from the start (V8's `PACKED_ELEMENTS`), for the
 * arrays that every batch fills anew on its hot path (its wakers, its timeout queue, its
 * outcomes). `[]` starts as an array of small integers: the first object stored converts it, and
 * code optimized during an earlier batch, which only ever met converted arrays, is thrown away at
 * that store — a deoptimization of the item loop, and its compilation again, in every batch
 * (test/hot-path.test.ts watches for them).
 */
export function emptyObjectArray<T>(): T[] {
  const array: (T | undefined)[] = [undefined];
  array.length = 0;
  return array as T[];
}
