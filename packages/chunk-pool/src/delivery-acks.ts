/**
 * Delivery acknowledgements back to inputs: which accepted records have reached their final
 * state on every route (delivered, dropped by a policy, dead-lettered, or held for an output no
 * longer configured), as a per-tag watermark over a pool-wide record sequence.
 *
 * Sequence numbers: the pool numbers every record it accepts, 0, 1, 2, ... in one run (the
 * records recovered at open first, in the order they were appended, then every accepted append).
 * A chunk holds records of one tag, all numbered at or after its `firstSequence`, and a tag's
 * chunks are numbered in the order they were opened. So for a tag, "every record numbered below
 * N is settled" holds for N = the `firstSequence` of its oldest unsettled chunk, or, when none
 * is left, for every number handed out so far. That is the watermark: it only grows, it costs
 * nothing per record (a chunk is numbered when it opens), and what it keeps is bounded by the
 * chunks not yet settled.
 *
 * @module
 */
import { invalidOption, WaiterQueue } from '@holdfast/internal';
import type { Chunk, ChunkInfo } from './chunk.js';
import { abortedError, closedError } from './pool/pool-errors.js';

/**
 * The final state of a chunk's records on one route. `'done-earlier'`: done in a run before a
 * restart (storage keeps that a route is done, not how).
 */
export type RouteOutcome = 'delivered' | 'done-earlier' | 'unrouted' | 'dead-lettered' | 'dropped';

/**
 * A chunk's records reached their final state on every route. `outcome` is the worst of
 * `routes` (as Vector's end-to-end acks report the worst status of every copy): `'dropped'`
 * (gone for some route) over `'dead-lettered'` (kept in `rejected/<output>/`) over
 * `'unrouted'` (kept stored for an output no longer configured) over `'done-earlier'` over
 * `'delivered'`.
 */
export interface SettledEvent {
  readonly tag: string;
  readonly chunk: ChunkInfo;
  /** The sequence number of the chunk's first record (see `pool.nextSequence()`). */
  readonly firstSequence: number;
  /** The tag's watermark after this chunk: every record of `tag` numbered below it is settled. */
  readonly settledBelow: number;
  readonly routes: Readonly<Record<string, RouteOutcome>>;
  readonly outcome: RouteOutcome;
}

/** Worst last: the order in which outcomes override one another. */
const SEVERITY: readonly RouteOutcome[] = [
  'delivered',
  'done-earlier',
  'unrouted',
  'dead-lettered',
  'dropped',
];

/** What the pool keeps per chunk while the chunk is tracked. */
interface Tracked {
  readonly firstSequence: number;
  readonly routes: Record<string, RouteOutcome>;
}

/** Per-tag watermarks, their waiters, and the `settled` event. */
export class DeliveryAcks {
  /** Per tag: its unsettled chunks, oldest (lowest `firstSequence`) first. */
  readonly #pending = new Map<string, Set<Chunk>>();
  readonly #tracked = new WeakMap<Chunk, Tracked>();
  /** Per tag: `whenSettled` calls waiting for the watermark to pass their `below`. */
  readonly #waiting = new Map<string, WaiterQueue<number, number>>();
  /** Records numbered before this run accepted any (the recovered ones). */
  #recoveredRecords = 0;
  #replayedRecords = 0;
  /** Records accepted and then taken back (their durable write failed): numbers not reused. */
  #unacceptedRecords = 0;
  readonly #acceptedRecords: () => number;
  readonly #emit: (event: SettledEvent) => void;
  #closed = false;

  /** `acceptedRecords`: how many records this run has accepted so far, and still counts. */
  constructor(acceptedRecords: () => number, emit: (event: SettledEvent) => void) {
    this.#acceptedRecords = acceptedRecords;
    this.#emit = emit;
  }

  /** The sequence number the next accepted record gets. */
  nextSequence(): number {
    return (
      this.#recoveredRecords +
      this.#replayedRecords +
      this.#unacceptedRecords +
      this.#acceptedRecords()
    );
  }

  /** Accepted records were taken back (`fsync: 'always'`, their write failed). */
  unaccepted(records: number): void {
    this.#unacceptedRecords += records;
  }

  /** Every record of `tag` numbered below the result is settled. */
  settledBelow(tag: string): number {
    const pending = this.#pending.get(tag);
    if (pending !== undefined) {
      for (const chunk of pending) return (this.#tracked.get(chunk) as Tracked).firstSequence;
    }
    return this.nextSequence();
  }

  /** A chunk was opened for appends: numbered from the next sequence number. */
  opened(chunk: Chunk): void {
    this.#track(chunk, this.nextSequence());
  }

  /**
   * A dead letter replayed into the running pool: numbered from the next sequence number. (The
   * pool sealed its open chunks first, so no chunk still taking records owns those numbers.)
   */
  replayed(chunk: Chunk): void {
    this.#track(chunk, this.nextSequence());
    this.#replayedRecords += chunk.recordCount;
  }

  /** A recovered chunk was taken over: numbered next among the recovered records. */
  recovered(chunk: Chunk): void {
    this.#track(chunk, this.#recoveredRecords);
    this.#recoveredRecords += chunk.recordCount;
  }

  /** `route` is done with `chunk`: its records' final state there. */
  routeSettled(chunk: Chunk, route: string, outcome: RouteOutcome): void {
    const tracked = this.#tracked.get(chunk);
    if (tracked !== undefined) tracked.routes[route] = outcome;
  }

  /**
   * `chunk` left the pool's pending chunks (every configured route done, or dropped whole). A
   * route without an outcome is one it is still stored for (an output no longer configured), or
   * one done before a restart.
   */
  settled(chunk: Chunk): void {
    const tracked = this.#tracked.get(chunk);
    const pending = this.#pending.get(chunk.tag);
    if (tracked === undefined || pending?.delete(chunk) !== true) return;
    this.#tracked.delete(chunk);
    if (pending.size === 0) this.#pending.delete(chunk.tag);
    const settledBelow = this.settledBelow(chunk.tag);
    if (chunk.recordCount > 0) {
      for (const route of chunk.routes) {
        tracked.routes[route] ??= chunk.unroutedRoutes.has(route) ? 'unrouted' : 'done-earlier';
      }
      this.#emit({
        tag: chunk.tag,
        chunk: chunk.info(),
        firstSequence: tracked.firstSequence,
        settledBelow,
        routes: tracked.routes,
        outcome: worst(tracked.routes),
      });
    }
    this.#wake(chunk.tag, settledBelow);
  }

  /**
   * Resolves with `tag`'s watermark once every record of `tag` numbered below `below` is settled.
   * Rejects (never throws) on a bad argument, an aborted `signal`, or a pool closed first.
   */
  whenSettled(tag: string, below: number, signal: AbortSignal | undefined): Promise<number> {
    if (typeof tag !== 'string') {
      return Promise.reject(invalidOption('tag', 'a string', tag));
    }
    const next = this.nextSequence();
    if (typeof below !== 'number' || !Number.isInteger(below) || below < 0 || below > next) {
      return Promise.reject(
        invalidOption('below', `a whole number from 0 to nextSequence() (${next})`, below),
      );
    }
    if (this.#closed) return Promise.reject(closedError());
    if (signal?.aborted === true) return Promise.reject(abortedError(signal));
    const now = this.settledBelow(tag);
    if (now >= below) return Promise.resolve(now);
    let waiting = this.#waiting.get(tag);
    if (waiting === undefined) {
      const queue = new WaiterQueue<number, number>({
        abortError: abortedError,
        // The last wait of a tag given up: the tag keeps no queue.
        onAbort: () => {
          if (queue.size === 0 && this.#waiting.get(tag) === queue) this.#waiting.delete(tag);
        },
      });
      this.#waiting.set(tag, queue);
      waiting = queue;
    }
    return waiting.wait(signal, below);
  }

  /**
   * The pool closed: waits not yet met reject with `POOL_CLOSED` (with file storage, their
   * records are recovered, and numbered again, at the next open).
   */
  close(): void {
    this.#closed = true;
    for (const waiting of this.#waiting.values()) waiting.rejectAll(closedError());
    this.#waiting.clear();
  }

  #track(chunk: Chunk, firstSequence: number): void {
    // No prototype: route names come from storage too (a previous run's outputs).
    const routes = Object.create(null) as Record<string, RouteOutcome>;
    this.#tracked.set(chunk, { firstSequence, routes });
    const pending = this.#pending.get(chunk.tag);
    if (pending === undefined) this.#pending.set(chunk.tag, new Set([chunk]));
    else pending.add(chunk);
  }

  #wake(tag: string, settledBelow: number): void {
    const waiting = this.#waiting.get(tag);
    if (waiting === undefined) return;
    waiting.wakeWhere((below) => below <= settledBelow, settledBelow);
    if (waiting.size === 0) this.#waiting.delete(tag);
  }
}

function worst(routes: Readonly<Record<string, RouteOutcome>>): RouteOutcome {
  let index = 0;
  for (const outcome of Object.values(routes)) index = Math.max(index, SEVERITY.indexOf(outcome));
  return SEVERITY[index] as RouteOutcome;
}
