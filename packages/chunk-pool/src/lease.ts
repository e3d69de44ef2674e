/**
 * A lease: one output's hold on one chunk while it tries to deliver it. Exactly one of `ack`,
 * `retry` and `drop` settles it; a lease not settled within `leaseTimeout` returns by itself.
 *
 * @module
 */
import {
  describeValue,
  durationOption,
  invalidOption,
  rejectUnknownKeys,
} from '@holdfast/internal';
import type { ChunkInfo } from './chunk.js';
import { ChunkPoolError } from './errors.js';

/** The chunk as a lease shows it: its records are in memory for as long as the lease is out. */
export interface LeasedChunk extends ChunkInfo {
  /** The records, in append order. Do not modify them. */
  readonly records: readonly Buffer[];
}

/** How a lease was settled, as the pool is told. */
export type Settlement =
  | { readonly kind: 'ack' }
  | { readonly kind: 'retry'; readonly delay: number | undefined }
  | { readonly kind: 'drop'; readonly reason: string };

/**
 * One output's hold on one chunk.
 *
 * **When to use:** send `lease.chunk.records`, then `ack()` on success, `retry()` on a failure
 * worth retrying (the output's retry policy picks the delay, or pass one, e.g. from
 * `Retry-After`), `drop(reason)` on a failure no retry can fix (the records are counted and
 * emitted as `dropped`).
 *
 * @example
 * ```ts
 * for await (const lease of pool.consume('otlp', { signal })) {
 *   const response = await fetch(url, { method: 'POST', body: lease.chunk.records.join('\n') });
 *   if (response.ok) await lease.ack();
 *   else if (response.status >= 500) await lease.retry();
 *   else await lease.drop(`HTTP ${response.status}`);
 * }
 * ```
 */
export class ChunkLease {
  readonly output: string;
  readonly chunk: LeasedChunk;
  /** 1 for the first attempt of this chunk on this output. */
  readonly attempt: number;
  readonly #settle: (settlement: Settlement) => Promise<void>;
  #settled = false;

  /** @internal Leases are made by the pool. */
  constructor(
    output: string,
    chunk: LeasedChunk,
    attempt: number,
    settle: (settlement: Settlement) => Promise<void>,
  ) {
    this.output = output;
    this.chunk = chunk;
    this.attempt = attempt;
    this.#settle = settle;
  }

  /** Whether the lease is still out (not settled, not expired). */
  get active(): boolean {
    return !this.#settled;
  }

  /** Delivered: the chunk is done for this output. Resolves once that is recorded in storage. */
  ack(): Promise<void> {
    return this.#once({ kind: 'ack' });
  }

  /**
   * Not delivered, try again after `delay` ms (default: the output's backoff; `Infinity`: not in
   * this process, the chunk stays stored for a restart). Past `retry.maxAttempts` the chunk goes
   * to the output's dead letters instead. Bad options reject with a `TypeError` naming them; the
   * lease is then still out.
   */
  retry(options: { readonly delay?: number } = {}): Promise<void> {
    let delay: number | undefined;
    try {
      delay = retryDelay(options);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#once({ kind: 'retry', delay });
  }

  /**
   * Will never be delivered to this output: drop it, counted and emitted as `dropped` with
   * `reason` (a value that is not a string is described, as an error message would be).
   */
  drop(reason: string): Promise<void> {
    const text = typeof reason === 'string' ? reason : describeValue(reason);
    return this.#once({ kind: 'drop', reason: text });
  }

  /** @internal The pool ends the lease (timeout, close) without a settlement. */
  expire(): void {
    this.#settled = true;
  }

  #once(settlement: Settlement): Promise<void> {
    if (this.#settled) {
      return Promise.reject(
        new ChunkPoolError(
          'LEASE_SETTLED',
          `lease of chunk ${this.chunk.id} for ${this.output} was already settled or expired`,
        ),
      );
    }
    this.#settled = true;
    return this.#settle(settlement);
  }
}

/** The `delay` of `lease.retry(options)`, validated; `undefined`: the output's backoff. */
function retryDelay(options: unknown): number | undefined {
  const path = 'lease.retry(options)';
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw invalidOption(path, 'an object such as { delay: 5000 }', options);
  }
  rejectUnknownKeys(options, ['delay'], path);
  const delay = (options as { readonly delay?: unknown }).delay;
  return delay === undefined ? undefined : durationOption(delay, `${path}.delay`);
}
