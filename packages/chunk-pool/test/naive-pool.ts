import type { Clock } from '../src/clock.js';
import { ChunkPoolError } from '../src/errors.js';
import type { PoolSubject, SubjectLease } from '../src/testing/pool-model.js';

/**
 * The control for the liveness property: a pool built the way Fluent Bit's was, with one
 * shared memory budget and no reserve. Sealed chunks go down to storage; every take (first try
 * or retry) must bring its chunk back up from the shared budget, and an append takes its memory
 * first and then waits for storage space while holding it. Inputs can therefore hold all memory
 * while waiting for storage that only a delivery can free, and a delivery needs memory: the
 * deadlock the property must catch.
 */
export class NaivePool implements PoolSubject {
  readonly #clock: Clock;
  readonly #route: (tag: string) => readonly string[];
  readonly #maxBytesUp: number;
  readonly #maxBytesStored: number;
  readonly #chunkBytes: number;
  #bytesUp = 0;
  #stored = 0;
  readonly #open = new Map<string, NaiveChunk>();
  readonly #chunks: NaiveChunk[] = [];
  readonly #memoryWaiters: (() => boolean)[] = [];
  readonly #delivered = new Map<string, number>();
  readonly #dropped = new Map<string, number>();
  readonly #outputs: readonly string[];

  constructor(options: {
    clock: Clock;
    outputs: readonly string[];
    route: (tag: string) => readonly string[];
    maxBytesUp: number;
    maxBytesStored: number;
    chunkBytes: number;
  }) {
    this.#clock = options.clock;
    this.#route = options.route;
    this.#maxBytesUp = options.maxBytesUp;
    this.#maxBytesStored = options.maxBytesStored;
    this.#chunkBytes = options.chunkBytes;
    this.#outputs = options.outputs;
  }

  async append(tag: string, record: string): Promise<string> {
    this.#routesFor(tag); // refuses a record it cannot route, as the pool does
    const bytes = Buffer.byteLength(record);
    await this.#waitFor(
      () => this.#bytesUp + bytes <= this.#maxBytesUp,
      () => (this.#bytesUp += bytes),
    );
    // Holds its memory while it waits for storage: hold-and-wait.
    await this.#waitFor(
      () => this.#stored + bytes <= this.#maxBytesStored,
      () => (this.#stored += bytes),
    );
    let chunk = this.#open.get(tag);
    if (chunk === undefined) {
      chunk = {
        records: [],
        bytes: 0,
        routes: new Set(this.#routesFor(tag)),
        up: true,
        leased: new Set(),
        notBefore: 0,
      };
      this.#open.set(tag, chunk);
      this.#chunks.push(chunk);
    }
    chunk.records.push(Buffer.from(record));
    chunk.bytes += bytes;
    if (chunk.bytes + 100 > this.#chunkBytes) this.#seal(tag, chunk);
    return 'accepted';
  }

  #routesFor(tag: string): readonly string[] {
    let routes: readonly string[];
    try {
      routes = this.#route(tag);
    } catch (error) {
      throw new ChunkPoolError('INVALID_OPTION', `route(${JSON.stringify(tag)}) threw`, {
        cause: error,
      });
    }
    if (routes.length === 0) throw new ChunkPoolError('INVALID_OPTION', 'no outputs');
    const unknown = routes.find((route) => !this.#outputs.includes(route));
    if (unknown !== undefined) throw new ChunkPoolError('UNKNOWN_OUTPUT', unknown);
    return routes;
  }

  flush(): Promise<void> {
    for (const [tag, chunk] of this.#open) this.#seal(tag, chunk);
    return Promise.resolve();
  }

  async take(output: string, options: { signal?: AbortSignal } = {}): Promise<SubjectLease> {
    let chosen: NaiveChunk | undefined;
    await this.#waitFor(
      () => {
        // Strictly in order: the oldest chunk this output still has to deliver.
        chosen = this.#chunks.find(
          (c) => c.sealed === true && c.routes.has(output) && !c.leased.has(output),
        );
        if (chosen === undefined || chosen.notBefore > this.#clock.now()) return false;
        return chosen.up || this.#bytesUp + chosen.bytes <= this.#maxBytesUp;
      },
      () => {
        const chunk = chosen as NaiveChunk;
        if (!chunk.up) {
          this.#bytesUp += chunk.bytes;
          chunk.up = true;
        }
      },
      options.signal,
    );
    const chunk = chosen as NaiveChunk;
    chunk.leased.add(output);
    const done = (counter: Map<string, number>): Promise<void> => {
      chunk.leased.delete(output);
      chunk.routes.delete(output);
      counter.set(output, (counter.get(output) ?? 0) + chunk.records.length);
      if (chunk.routes.size === 0) {
        this.#chunks.splice(this.#chunks.indexOf(chunk), 1);
        this.#stored -= chunk.bytes;
      }
      this.#goDown(chunk);
      return Promise.resolve();
    };
    return {
      chunk,
      ack: () => done(this.#delivered),
      drop: () => done(this.#dropped),
      retry: (retry = {}) => {
        chunk.leased.delete(output);
        chunk.notBefore = this.#clock.now() + (retry.delay ?? 100);
        this.#goDown(chunk);
        return Promise.resolve();
      },
    };
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  stats(): ReturnType<PoolSubject['stats']> {
    const outputs: Record<string, ReturnType<PoolSubject['stats']>['outputs'][string]> = {};
    for (const output of this.#outputs) {
      let pending = 0;
      for (const chunk of this.#chunks)
        if (chunk.routes.has(output)) pending += chunk.records.length;
      outputs[output] = {
        reserve: { bytesUp: 0, chunksUp: 0, limitBytes: 0 },
        pendingRecords: pending,
        delivered: { records: this.#delivered.get(output) ?? 0, bytes: 0 },
        dropped: { records: this.#dropped.get(output) ?? 0, bytes: 0 },
        deadLettered: { records: 0, bytes: 0 },
      };
    }
    return {
      bytesUp: this.#bytesUp,
      maxBytesUp: this.#maxBytesUp,
      input: { bytesUp: this.#bytesUp, chunksUp: 0, limitBytes: this.#maxBytesUp },
      appendsWaiting: this.#memoryWaiters.length,
      outputs,
    };
  }

  #seal(tag: string, chunk: NaiveChunk): void {
    this.#open.delete(tag);
    chunk.tag = tag;
    chunk.sealed = true;
    this.#goDown(chunk);
  }

  /** Sealed chunks live in storage; memory is only held while a lease needs the records. */
  #goDown(chunk: NaiveChunk): void {
    if (chunk.up && chunk.leased.size === 0 && chunk.sealed === true) {
      chunk.up = false;
      this.#bytesUp -= chunk.bytes;
    }
    this.#wake();
  }

  #waitFor(ready: () => boolean, take: () => void, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const attempt = (): boolean => {
        if (signal?.aborted === true) {
          reject(new Error('aborted'));
          return true;
        }
        if (!ready()) return false;
        take();
        resolve();
        return true;
      };
      if (attempt()) return;
      this.#memoryWaiters.push(attempt);
      signal?.addEventListener('abort', () => this.#wake(), { once: true });
    });
  }

  #wake(): void {
    for (const waiter of [...this.#memoryWaiters]) {
      if (waiter()) this.#memoryWaiters.splice(this.#memoryWaiters.indexOf(waiter), 1);
    }
  }
}

interface NaiveChunk {
  tag?: string;
  sealed?: boolean;
  readonly records: Buffer[];
  bytes: number;
  readonly routes: Set<string>;
  up: boolean;
  readonly leased: Set<string>;
  notBefore: number;
}
