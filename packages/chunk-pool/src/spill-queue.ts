/**
 * The chunks the pool may move down to relieve the inputs' share, newest first: kept up to date
 * on every transition that makes a chunk spillable or not, so a spill costs O(log n) per chunk
 * moved down, never a scan of every chunk (issue #18: under an outage the scan made each
 * admission cost as much as the backlog).
 *
 * @module
 */
import type { Chunk } from './chunk.js';

/**
 * A set of chunks ordered by creation (`Chunk.sequence`), as a binary max-heap whose positions
 * are indexed, so that any chunk can be removed in O(log n) when it stops being spillable.
 */
export class SpillQueue {
  readonly #heap: Chunk[] = [];
  readonly #positions = new Map<Chunk, number>();

  get size(): number {
    return this.#heap.length;
  }

  has(chunk: Chunk): boolean {
    return this.#positions.has(chunk);
  }

  /** The newest chunk, left in the queue. */
  newest(): Chunk | undefined {
    return this.#heap[0];
  }

  add(chunk: Chunk): void {
    if (this.#positions.has(chunk)) return;
    this.#heap.push(chunk);
    this.#positions.set(chunk, this.#heap.length - 1);
    this.#up(this.#heap.length - 1);
  }

  delete(chunk: Chunk): void {
    const at = this.#positions.get(chunk);
    if (at === undefined) return;
    this.#positions.delete(chunk);
    const last = this.#heap.pop() as Chunk;
    if (at === this.#heap.length) return; // it was the last one
    this.#place(last, at);
    this.#up(at);
    this.#down(at);
  }

  #place(chunk: Chunk, at: number): void {
    this.#heap[at] = chunk;
    this.#positions.set(chunk, at);
  }

  #up(from: number): void {
    let at = from;
    const chunk = this.#heap[at] as Chunk;
    while (at > 0) {
      const parentAt = (at - 1) >> 1;
      const parent = this.#heap[parentAt] as Chunk;
      if (parent.sequence >= chunk.sequence) break;
      this.#place(parent, at);
      at = parentAt;
    }
    this.#place(chunk, at);
  }

  #down(from: number): void {
    let at = from;
    const chunk = this.#heap[at] as Chunk;
    const { length } = this.#heap;
    for (;;) {
      const left = 2 * at + 1;
      if (left >= length) break;
      const right = left + 1;
      const childAt =
        right < length &&
        (this.#heap[right] as Chunk).sequence > (this.#heap[left] as Chunk).sequence
          ? right
          : left;
      const child = this.#heap[childAt] as Chunk;
      if (child.sequence <= chunk.sequence) break;
      this.#place(child, at);
      at = childAt;
    }
    this.#place(chunk, at);
  }
}
