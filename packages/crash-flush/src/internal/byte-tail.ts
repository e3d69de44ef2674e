/**
 * The last `maxBytes` of a stream, kept as the chunks it arrived in (references, not copies): the
 * bounded stderr tail. Decoded into lines only once, when the child has exited.
 */
export class ByteTail {
  readonly #chunks: Buffer[] = [];
  #bytes = 0;
  /** Bytes dropped from the front: when non-zero, the first kept line may be cut. */
  #dropped = 0;
  constructor(readonly maxBytes: number) {}

  push(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#bytes += chunk.length;
    // Invariant: the chunks after the first always hold fewer than maxBytes.
    while (this.#chunks.length > 1 && this.#bytes - this.#chunks[0]!.length >= this.maxBytes) {
      const first = this.#chunks.shift()!;
      this.#bytes -= first.length;
      this.#dropped += first.length;
    }
  }

  /** The last `count` complete-or-final lines (a line cut by the byte bound is left out). */
  lines(count: number): string[] {
    let bytes = Buffer.concat(this.#chunks);
    const cut = bytes.length > this.maxBytes || this.#dropped > 0;
    if (bytes.length > this.maxBytes) bytes = bytes.subarray(bytes.length - this.maxBytes);
    const lines = bytes.toString('utf8').split('\n');
    if (lines.at(-1) === '') lines.pop();
    if (cut && lines.length > 1) lines.shift();
    return lines.slice(-count);
  }
}

/** Bytes of stderr kept per tail line requested: long stack lines fit, a flood does not. */
export const TAIL_BYTES_PER_LINE = 1_024;
