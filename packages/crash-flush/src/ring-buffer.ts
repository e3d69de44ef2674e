/**
 * A fixed-size ring of the last records: O(1) per push, no allocation once full.
 *
 * @module
 */
import { invalidOption } from '@holdfast/internal';

/**
 * Keeps the last `capacity` items pushed.
 *
 * @example
 * ```ts run
 * const ring = new RingBuffer<string>(2); ring.push('a'); ring.push('b'); ring.push('c');
 * ring.toArray(); // => ['b', 'c']
 * ```
 */
export class RingBuffer<T> {
  readonly #items: (T | undefined)[];
  // Invariant: `#next` is where the next push goes; once `#full`, it is also the oldest item.
  #next = 0;
  #full = false;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw invalidOption('ringSize', 'an integer ≥ 1', capacity);
    }
    this.#items = new Array<T | undefined>(capacity);
  }

  push(item: T): void {
    this.#items[this.#next] = item;
    this.#next += 1;
    if (this.#next === this.capacity) {
      this.#next = 0;
      this.#full = true;
    }
  }

  /** Oldest first. */
  toArray(): T[] {
    const head = this.#full ? this.#items.slice(this.#next) : [];
    return [...head, ...this.#items.slice(0, this.#next)] as T[];
  }
}
