/**
 * One attempt at one item: its call of `fetchOne` (two when hedged), its timeout and its hedge,
 * and how it ended.
 *
 * These classes live at module level, shared by every batch, and reach their batch through an
 * {@link AttemptHost}. Declared inside the engine function, each batch would get classes of its
 * own: fresh hidden classes and cold inline caches every time, and an agent that runs a batch per
 * discovery cycle would pay that on every cycle (measured: 100 batches of 10,000 items ran at a
 * third of the speed of one batch of 1,000,000).
 *
 * The first attempt's path is kept lean on purpose: no timer per attempt (one `DeadlineQueue`
 * timer serves all of them), no `AbortController` unless the work reads `ctx.signal`.
 */
import type { Clock } from '../clock.js';
import type { ItemError } from '../errors.js';
import type { FetchContext } from '../options.js';
import type { BatchStats } from '../outcome.js';
import type { DeadlineQueue, QueueEntry } from './deadline-queue.js';

/** The user's per-item work. */
export type FetchOne<T, R> = (item: T, context: FetchContext) => R | PromiseLike<R>;

/**
 * How one attempt ended, as the item loop sees it. For a timeout or a stop, `error` is the very
 * object the attempt's signal was aborted with: the outcome reports that same object.
 */
export type AttemptEnd<R> =
  | { readonly kind: 'value'; readonly value: R }
  | { readonly kind: 'error'; readonly error: unknown }
  | { readonly kind: 'timeout'; readonly error: ItemError }
  | { readonly kind: 'stopped'; readonly error: ItemError };

/** Something a worker waits on, woken early when the batch stops. */
export interface Waker {
  wake(): void;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** The counters of a batch, as the engine keeps them. */
export type Counts = Mutable<Omit<BatchStats, 'durationMs'>>;

/** What an attempt needs of its batch. */
export interface AttemptHost<T, R> {
  readonly fetchOne: FetchOne<T, R>;
  readonly clock: Clock;
  /** Clock time of the batch deadline (`Infinity`: none). */
  readonly deadlineAt: number;
  /** The per-attempt timeout (`Infinity`: none) and the hedge delay (`undefined`: no hedging). */
  readonly timeoutMs: number;
  readonly hedgeDelayMs: number | undefined;
  readonly timeouts: DeadlineQueue;
  readonly hedges: DeadlineQueue;
  /** Each worker's current wake-up, at the worker's index; an attempt is its worker's. */
  readonly wakers: (Waker | undefined)[];
  readonly counts: Counts;
  /** The error an item gets when the batch stopped (deadline or cancellation). */
  stoppedError(index: number, attempts: number, last: unknown): ItemError;
  /** A timeout error for this item and attempt. */
  timeoutError(index: number, attempts: number): ItemError;
  /** A call's slot was freed while its work still runs. */
  callAbandoned(call: Call<T, R>): void;
  /** The work of an abandoned call has ended: its slot is free again. */
  abandonedCallEnded(call: Call<T, R>): void;
}

/**
 * The abort reason given to a hedged twin whose sibling answered first. One shared instance:
 * creating an Error (and its stack) on every successful attempt would dominate the hot path.
 */
const HEDGE_LOST = Object.freeze(new Error('a hedged twin answered first'));

/**
 * The work, its timeout, its hedge, and the batch stop, whichever ends first. It is its own
 * timeout entry, its own waker and its calls' owner, so the first attempt of an item allocates
 * as little as possible. The work's promise always gets handlers, so an abandoned attempt that
 * rejects later never raises an unhandled rejection.
 */
export class Attempt<T, R> implements QueueEntry, Waker {
  at = 0;
  live = false;
  /** How it ended; read by the item loop once `done` resolved. */
  ending: AttemptEnd<R> | undefined = undefined;
  first: Call<T, R> | undefined = undefined;
  twin: Call<T, R> | undefined = undefined;
  hedgeEntry: HedgeEntry<T, R> | undefined = undefined;
  readonly done: Promise<this>;
  #resolve!: (attempt: this) => void;

  constructor(
    readonly host: AttemptHost<T, R>,
    readonly worker: number,
    readonly item: T,
    readonly index: number,
    readonly attemptNo: number,
    /** Clock time at which the attempt starts: its timeout and hedge delay count from here. */
    readonly startedAt: number,
    /** The item's error from its previous attempt: the cause of a stop error. */
    readonly previousError: unknown,
  ) {
    this.done = new Promise<this>((resolve) => (this.#resolve = resolve));
    host.wakers[worker] = this;
    if (host.timeoutMs !== Infinity) host.timeouts.add(this, startedAt + host.timeoutMs);
    if (host.hedgeDelayMs !== undefined && host.hedgeDelayMs !== Infinity) {
      this.hedgeEntry = new HedgeEntry(this);
      host.hedges.add(this.hedgeEntry, startedAt + host.hedgeDelayMs);
    }
    this.#call(false);
  }

  /** Clock time at which this attempt is aborted: its timeout or the batch deadline. */
  get abortAt(): number {
    return Math.min(this.startedAt + this.host.timeoutMs, this.host.deadlineAt);
  }

  /** The timeout fired. */
  expire(): void {
    const error = this.host.timeoutError(this.index, this.attemptNo);
    this.end({ kind: 'timeout', error }, error);
  }

  /** The batch stopped. */
  wake(): void {
    const error = this.host.stoppedError(this.index, this.attemptNo, this.previousError);
    this.end({ kind: 'stopped', error }, error);
  }

  startTwin(): void {
    // No call starts after the batch deadline, a twin included (its timer may run late).
    if (this.ending !== undefined || this.host.clock.now() >= this.host.deadlineAt) return;
    this.host.counts.hedged += 1;
    this.#call(true);
  }

  /**
   * Calls `fetchOne`. The call is recorded before the work runs: work that stops the batch
   * synchronously (aborting the caller's signal) must still find its call to abort.
   */
  #call(twin: boolean): void {
    const call = new Call(this);
    if (twin) this.twin = call;
    else this.first = call;
    try {
      const work = this.host.fetchOne(this.item, call);
      Promise.resolve(work).then(
        (value) => call.settled({ kind: 'value', value }),
        (error: unknown) => call.settled({ kind: 'error', error }),
      );
    } catch (error) {
      // A synchronous throw, or a returned promise whose `constructor` getter throws.
      Promise.reject(error).then(undefined, (reason: unknown) =>
        call.settled({ kind: 'error', error: reason }),
      );
    }
  }

  settled(call: Call<T, R>, result: AttemptEnd<R>): void {
    if (result.kind === 'value') return this.end(result, HEDGE_LOST);
    // With a hedged twin still running, one failure is not the end: wait for the twin.
    const other = call === this.first ? this.twin : this.first;
    if (other?.running !== true) this.end(result, undefined);
  }

  end(result: AttemptEnd<R>, abortReason: unknown): void {
    if (this.ending !== undefined) return;
    this.ending = result;
    if (this.live) this.host.timeouts.cancel(this);
    if (this.hedgeEntry?.live === true) this.host.hedges.cancel(this.hedgeEntry);
    this.host.wakers[this.worker] = undefined;
    if (this.first?.running === true) this.first.abandon(abortReason);
    if (this.twin?.running === true) this.twin.abandon(abortReason);
    this.#resolve(this);
  }
}

/** The hedge delay of one attempt, in the hedge queue. */
class HedgeEntry<T, R> implements QueueEntry {
  at = 0;
  live = false;
  constructor(readonly attempt: Attempt<T, R>) {}
  expire(): void {
    this.attempt.startTwin();
  }
}

/** One invocation of `fetchOne`, and the context it receives. */
export class Call<T, R> implements FetchContext {
  /** Created only when the work reads `signal`. */
  controller: AbortController | undefined = undefined;
  running = true;
  /** Its slot was freed (timeout, stop, hedge lost) while the work was still running. */
  abandoned = false;

  constructor(readonly owner: Attempt<T, R>) {}

  get attempt(): number {
    return this.owner.attemptNo;
  }
  get index(): number {
    return this.owner.index;
  }
  get signal(): AbortSignal {
    this.controller ??= new AbortController();
    return this.controller.signal;
  }
  get deadlineAt(): number {
    return this.owner.abortAt;
  }
  /** A function, not a method: it works destructured (`{ signal, remainingMs }`), built when read. */
  get remainingMs(): () => number {
    const owner = this.owner;
    return () => Math.max(0, owner.abortAt - owner.host.clock.now());
  }

  settled(result: AttemptEnd<R>): void {
    this.running = false;
    if (this.abandoned) return this.owner.host.abandonedCallEnded(this);
    this.owner.settled(this, result);
  }

  /**
   * The slot is freed now; the work may still be running (it ignored or has not yet reacted to
   * its signal) and holds an abandoned slot until it ends.
   */
  abandon(reason: unknown): void {
    this.controller?.abort(reason);
    this.abandoned = true;
    this.owner.host.callAbandoned(this);
  }
}
