/**
 * What every part of the pool shares: its options, budgets, outputs and chunks, its counters,
 * its one guarded `emit`, and the parts themselves, each one concern:
 *
 * - {@link Admission}: whether a record fits (the budgets, the outputs' limits, `whenFull` drops);
 * - {@link AppendWaiters}: appends waiting for room, let in in order;
 * - {@link Placement}: putting an admitted record into its tag's open chunk;
 * - {@link Persistence}: sealing, writing to storage, `flush()`;
 * - {@link Memory}: which chunks are up, and moving them down to make room;
 * - {@link Delivery} and {@link Leases}: handing chunks to outputs, retries, dead letters;
 * - {@link Departures}: a route done, a chunk dropped, a chunk leaving the pool;
 * - {@link Recovery}, {@link DeadLetterCalls} and {@link UnroutedChunks}: what storage held.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import { WaiterQueue } from '@holdfast/internal';
import { MemoryBudget } from '../budget.js';
import type { Chunk } from '../chunk.js';
import { DeliveryAcks } from '../delivery-acks.js';
import { ChunkPoolError } from '../errors.js';
import type { ChunkPoolEvents } from '../events.js';
import { describeThrown } from '../describe-value.js';
import { emitGuarded } from '../guarded-emit.js';
import type { ResolvedOptions } from '../options.js';
import type { OutputQuota } from '../output-quota.js';
import { OutputState, VolumeCounter } from '../output-state.js';
import { Admission } from './admission.js';
import { AppendWaiters } from './append-waiters.js';
import { DeadLetterCalls } from './dead-letter-calls.js';
import { Delivery } from './delivery.js';
import { Departures } from './departures.js';
import { Leases } from './leases.js';
import { Memory } from './memory.js';
import { Persistence } from './persistence.js';
import { Placement } from './placement.js';
import { abortedError, storageFailure, unknownOutput } from './pool-errors.js';
import { Recovery } from './recovery.js';
import { UnroutedChunks } from './unrouted.js';

export class PoolCore {
  readonly options: ResolvedOptions;
  /** `fsync: 'always'`: each append is written (and durable) before it counts as accepted. */
  readonly writesEachAppend: boolean;
  readonly budget: MemoryBudget;
  readonly outputs = new Map<string, OutputState>();
  /** Every chunk not yet done nor parked, in creation order. */
  readonly chunks = new Set<Chunk>();
  /** The open chunk of each tag. */
  readonly openChunks = new Map<string, Chunk>();
  /**
   * The chunks charged to the inputs' share, in creation order (a chunk is charged to it only
   * when opened or recovered, and leaves when its charge is released): what `drop-oldest` under
   * memory pressure chooses from, without a walk past the backlog that is down.
   */
  readonly inputChunks = new Set<Chunk>();
  /** Payload bytes of every chunk not yet done (what `maxBytesStored` limits). */
  storedBytes = 0;
  /** Set by the first `close()`: nothing more is accepted or handed out. */
  closed = false;
  readonly accepted = new VolumeCounter();
  readonly droppedWhenFull = new VolumeCounter();
  /** Delivery acknowledgements: per-tag settled watermarks (see delivery-acks.ts). */
  readonly acks: DeliveryAcks;
  /** `drain()` calls waiting for the pool to hold no chunk. */
  readonly drainWaiters = new WaiterQueue<void>({ abortError: abortedError });
  /** Damaged chunks moved aside, at open and since. */
  quarantined = 0;
  /** Listeners (and `onRecovered`) that threw or rejected (see {@link emit}). */
  listenerErrors = 0;
  /** Storage calls that failed after the pool had moved on (done marks, deletions, quarantine). */
  storageErrors = 0;
  /** Some output has a limit of its own (see output-quota.ts): admission checks it. */
  readonly limited: boolean;
  /** Some output is best effort: the pool's budget, when full, is relieved by its drops first. */
  readonly bestEffort: boolean;
  readonly quotaOf = (output: string): OutputQuota | undefined => this.outputs.get(output)?.quota;

  readonly admission: Admission;
  readonly appendWaiters: AppendWaiters;
  readonly placement: Placement;
  readonly persistence: Persistence;
  readonly memory: Memory;
  readonly delivery: Delivery;
  readonly leases: Leases;
  readonly departures: Departures;
  readonly recovery: Recovery;
  readonly deadLetterCalls: DeadLetterCalls;
  readonly unrouted: UnroutedChunks;

  readonly #emitter: EventEmitter<ChunkPoolEvents>;
  readonly #runId = randomBytes(3).toString('hex');
  #sequence = 0;

  constructor(options: ResolvedOptions, emitter: EventEmitter<ChunkPoolEvents>) {
    this.options = options;
    this.#emitter = emitter;
    this.writesEachAppend = options.storage.persistent && options.storage.syncEachAppend;
    this.budget = new MemoryBudget(options.inputShare, options.outputs, options.reservePerOutput);
    for (const [name, retry] of options.retryByOutput) {
      const policy = options.policyByOutput.get(name);
      if (policy === undefined) throw new Error(`no policy for output ${name}`);
      this.outputs.set(name, new OutputState(name, retry, options.breakerThreshold, policy));
    }
    const states = [...this.outputs.values()];
    this.limited = states.some((state) => state.quota !== undefined);
    this.bestEffort = states.some((state) => state.bestEffort);
    this.acks = new DeliveryAcks(
      () => this.accepted.records,
      (event) => this.emit('settled', event),
    );
    this.admission = new Admission(this);
    this.appendWaiters = new AppendWaiters(this);
    this.placement = new Placement(this);
    this.persistence = new Persistence(this);
    this.memory = new Memory(this);
    this.delivery = new Delivery(this);
    this.leases = new Leases(this);
    this.departures = new Departures(this);
    this.recovery = new Recovery(this);
    this.deadLetterCalls = new DeadLetterCalls(this);
    this.unrouted = new UnroutedChunks(this);
  }

  /** The pool's only way to emit: a listener that throws is counted, never unwound into the pool. */
  emit<K extends keyof ChunkPoolEvents>(name: K, ...args: ChunkPoolEvents[K]): void {
    emitGuarded(this.#emitter, name, args, () => {
      this.listenerErrors += 1;
    });
  }

  /** Something was freed or became available: let waiting appends in and serve waiting takers. */
  wakeWaiting(): void {
    this.appendWaiters.admit();
    for (const state of this.outputs.values()) this.delivery.serve(state);
  }

  /** Resolves the `drain()` calls once no chunk is left. */
  wakeDrainedIfEmpty(): void {
    if (this.chunks.size === 0) this.drainWaiters.wakeAll();
  }

  /** Unique across restarts: time, this run's id, a sequence number. */
  newChunkId(): string {
    return `${Date.now().toString(36)}-${this.#runId}-${(this.#sequence++).toString(36)}`;
  }

  /** The outputs of `tag`'s chunks; any failure of the user's `route()` is a `ChunkPoolError`. */
  routesFor(tag: string): readonly string[] {
    let routes: unknown;
    try {
      routes = this.options.route(tag);
    } catch (error) {
      throw new ChunkPoolError(
        'INVALID_OPTION',
        `route(${JSON.stringify(tag)}) threw: ${describeThrown(error)}`,
        { cause: error },
      );
    }
    if (!Array.isArray(routes) || routes.length === 0) {
      throw new ChunkPoolError(
        'INVALID_OPTION',
        `route(${JSON.stringify(tag)}) returned no outputs`,
      );
    }
    for (const route of routes as unknown[]) {
      if (typeof route !== 'string' || !this.outputs.has(route)) {
        throw unknownOutput(route, this.options.outputs);
      }
    }
    return [...new Set(routes as string[])];
  }

  /** {@link routesFor}, or none when `route()` fails (for an event about a dropped record). */
  routesOrNone(tag: string): readonly string[] {
    try {
      return this.routesFor(tag);
    } catch {
      return [];
    }
  }

  /**
   * Reports a storage call that failed after the pool had already moved on (a done mark, a
   * deletion, a quarantine copy): counted, emitted, never rejected into the caller. What it costs
   * is at most a redelivery after a restart (the chunk's done mark was not written).
   */
  backgroundStorageError(chunk: Chunk, error: unknown, what: string): void {
    this.storageErrors += 1;
    const poolError = storageFailure(error, `${what} of chunk ${chunk.id} failed`);
    this.emit('storage-error', { chunk: chunk.info(), error: poolError });
  }
}
