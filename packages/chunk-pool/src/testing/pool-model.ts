import fc from 'fast-check';
import type { ChunkPoolStats } from '../stats.js';
import { VirtualClock } from './virtual-clock.js';

/**
 * The model-based property run behind `checkChunkStorage`: fast-check commands drive a pool
 * (append, flush, take, ack, retry, drop, let a lease time out, an output going down and coming
 * back, a restart), and after every step the invariants are checked against a model; at the end
 * outputs become healthy and the pool must drain within a bounded number of steps.
 *
 * It drives anything shaped like a pool ({@link PoolSubject}), so the same property can be run on
 * a deliberately naive pool to show that it can fail.
 *
 * @module
 */

/** The outputs and tags of the model: `both` goes to both outputs, `only-a`/`only-b` to one. */
export const MODEL_OUTPUTS = ['a', 'b'] as const;
const TAGS = ['both', 'only-a', 'only-b'] as const;
type Tag = (typeof TAGS)[number];
type Output = (typeof MODEL_OUTPUTS)[number];

/** The model's routing, for the pool's `route` option. */
export function modelRoute(tag: string): readonly string[] {
  if (tag === 'only-a') return ['a'];
  if (tag === 'only-b') return ['b'];
  return MODEL_OUTPUTS;
}

/** A lease as the model uses it. */
export interface SubjectLease {
  /** `recordCount`, when the subject has it, is checked against the records handed out. */
  readonly chunk: { readonly records: readonly Buffer[]; readonly recordCount?: number };
  ack(): Promise<void>;
  retry(options?: { delay?: number }): Promise<void>;
  drop(reason: string): Promise<void>;
}

/** What the property needs of a pool. */
export interface PoolSubject {
  append(tag: string, record: string, options?: { signal?: AbortSignal }): Promise<string>;
  take(output: string, options?: { signal?: AbortSignal }): Promise<SubjectLease>;
  flush(): Promise<void>;
  close(): Promise<void>;
  stats(): Pick<ChunkPoolStats, 'bytesUp' | 'maxBytesUp' | 'input' | 'appendsWaiting'> & {
    readonly outputs: Readonly<
      Record<
        string,
        Pick<
          ChunkPoolStats['outputs'][string],
          'reserve' | 'pendingRecords' | 'delivered' | 'dropped' | 'deadLettered'
        >
      >
    >;
  };
}

/** Opens a pool under test; `restart` is true when it reopens the same storage. */
export type OpenSubject = (context: {
  readonly clock: VirtualClock;
  readonly scheduler: fc.Scheduler;
  readonly restart: boolean;
}) => Promise<PoolSubject>;

/** How a model run is set up. */
export interface PoolModelSetup {
  readonly open: OpenSubject;
  /** Whether the pool keeps its backlog across a restart (file storage). */
  readonly persistent: boolean;
  /** Waits for storage work that is not under the scheduler's control (real I/O). */
  readonly idle?: () => Promise<void>;
  /** Called once the run is over, to clean up (close the pool, remove folders). */
  readonly dispose?: () => Promise<void>;
  /** The longest retry delay plus the lease timeout: enough virtual time for any wait to end. */
  readonly longestWaitMs: number;
}

/** The state a run keeps beside the pool. */
class Model {
  nextRecord = 0;
  /** Records accepted, per output they are routed to. */
  readonly routed = { a: 0, b: 0 };
  /** Totals carried over from pools closed by a restart. */
  readonly carried = {
    a: { delivered: 0, dropped: 0, deadLettered: 0 },
    b: { delivered: 0, dropped: 0, deadLettered: 0 },
  };
  /** Record names each output acked. */
  readonly delivered = { a: new Set<string>(), b: new Set<string>() };
  /** Records that were in a retried, expired or restarted lease: they may come again. */
  readonly mayRepeat = new Set<string>();
  readonly healthy = { a: true, b: true };
  readonly leases: { output: Output; lease: SubjectLease }[] = [];
  /** Appends still waiting for room. */
  readonly waiting = new Set<Promise<unknown>>();
}

interface Real {
  pool: PoolSubject;
  readonly clock: VirtualClock;
  readonly scheduler: fc.Scheduler;
  readonly setup: PoolModelSetup;
}

/**
 * Waits for `operation` while releasing scheduled storage calls: a pool operation may wait on
 * storage, and storage waits on the scheduler.
 */
async function settled<T>(real: Real, operation: Promise<T>): Promise<T> {
  let done = false;
  operation.then(
    () => (done = true),
    () => (done = true),
  );
  for (let round = 0; !done; round++) {
    if (round === 10_000) throw new Error('a pool operation never completed');
    await settle(real);
    if (!done) await new Promise((resolve) => setTimeout(resolve, 0));
  }
  return operation;
}

async function settle(real: Real): Promise<void> {
  for (let round = 0; round < 1000; round++) {
    await real.scheduler.waitIdle();
    await real.setup.idle?.();
    await new Promise((resolve) => setImmediate(resolve));
    if (real.scheduler.count() === 0) return;
  }
  throw new Error('storage never became idle');
}

/**
 * The names of a lease's records. A lease whose records do not match its chunk's count lost (or
 * invented) records on the way: a storage whose read-back drops one is caught here, since the
 * pool's counters alone cannot see it.
 */
function recordNames(lease: SubjectLease): string[] {
  const { records, recordCount } = lease.chunk;
  if (recordCount !== undefined && records.length !== recordCount) {
    throw new Error(`a lease holds ${records.length} records of a chunk of ${recordCount}`);
  }
  return records.map((record) => record.toString().split('|')[0] as string);
}

/** Checks the safety invariants after a step. */
function checkInvariants(model: Model, real: Real): void {
  const stats = real.pool.stats();
  if (stats.bytesUp > stats.maxBytesUp) {
    throw new Error(`memory ${stats.bytesUp} exceeds maxBytesUp ${stats.maxBytesUp}`);
  }
  if (stats.input.bytesUp > stats.input.limitBytes) {
    throw new Error(`inputs hold ${stats.input.bytesUp} > their share ${stats.input.limitBytes}`);
  }
  for (const output of MODEL_OUTPUTS) {
    const own = stats.outputs[output];
    if (own === undefined) throw new Error(`stats() has no output ${output}`);
    if (own.reserve.bytesUp > own.reserve.limitBytes) {
      throw new Error(`reserve of ${output} overdrawn: ${own.reserve.bytesUp}`);
    }
    // Every accepted record is pending, delivered or dropped for each of its routes, once.
    const carried = model.carried[output];
    const accounted =
      own.pendingRecords +
      own.delivered.records +
      carried.delivered +
      own.dropped.records +
      carried.dropped +
      own.deadLettered.records +
      carried.deadLettered;
    if (accounted !== model.routed[output]) {
      throw new Error(
        `output ${output}: ${model.routed[output]} records accepted, but ${accounted} accounted ` +
          `(pending ${own.pendingRecords}, delivered ${own.delivered.records}+${carried.delivered}, ` +
          `dropped ${own.dropped.records}+${carried.dropped}, dead ${own.deadLettered.records}+${carried.deadLettered})`,
      );
    }
  }
}

type Command = fc.AsyncCommand<Model, Real>;

class Append implements Command {
  constructor(
    readonly tag: Tag,
    readonly count: number,
  ) {}
  check = () => true;
  async run(model: Model, real: Real): Promise<void> {
    for (let i = 0; i < this.count; i++) {
      const name = `r${model.nextRecord++}`;
      const outcome = real.pool.append(this.tag, `${name}|`.padEnd(100, '.'));
      const tracked: Promise<void> = outcome
        .then(
          (result) => {
            if (result === 'accepted')
              for (const route of modelRoute(this.tag)) model.routed[route as Output] += 1;
          },
          () => undefined, // POOL_CLOSED at a restart: never accepted.
        )
        .finally(() => model.waiting.delete(tracked));
      model.waiting.add(tracked);
    }
    await settle(real);
    checkInvariants(model, real);
  }
  toString = () => `append(${this.tag} × ${this.count})`;
}

class Flush implements Command {
  check = () => true;
  async run(model: Model, real: Real): Promise<void> {
    await settled(real, real.pool.flush()).catch(() => undefined);
    checkInvariants(model, real);
  }
  toString = () => 'flush';
}

class Take implements Command {
  constructor(readonly output: Output) {}
  check = () => true;
  async run(model: Model, real: Real): Promise<void> {
    const controller = new AbortController();
    const taking = real.pool.take(this.output, { signal: controller.signal });
    await settle(real);
    controller.abort();
    const lease = await taking.catch(() => undefined);
    if (lease !== undefined) model.leases.push({ output: this.output, lease });
    checkInvariants(model, real);
  }
  toString = () => `take(${this.output})`;
}

class Settle implements Command {
  constructor(
    readonly pick: number,
    readonly how: 'settle' | 'drop' | 'hang',
  ) {}
  check = (model: Readonly<Model>) => model.leases.length > 0;
  async run(model: Model, real: Real): Promise<void> {
    const [held] = model.leases.splice(this.pick % model.leases.length, 1);
    if (held === undefined) return;
    const names = recordNames(held.lease);
    if (this.how === 'hang') {
      // The output never answers: the lease must come back after leaseTimeout.
      for (const name of names) model.mayRepeat.add(name);
    } else if (this.how === 'drop') {
      await settled(real, held.lease.drop('model drop')).catch(() => undefined);
    } else if (model.healthy[held.output]) {
      const acked = await settled(real, held.lease.ack()).then(
        () => true,
        () => false, // expired meanwhile: it will come again
      );
      for (const name of names) {
        if (acked && model.delivered[held.output].has(name) && !model.mayRepeat.has(name)) {
          throw new Error(
            `${name} delivered twice to ${held.output} without a retry, timeout or restart`,
          );
        }
        if (acked) model.delivered[held.output].add(name);
        else model.mayRepeat.add(name);
      }
    } else {
      for (const name of names) model.mayRepeat.add(name);
      await settled(real, held.lease.retry()).catch(() => undefined);
    }
    await settle(real);
    checkInvariants(model, real);
  }
  toString = () => `${this.how}(lease #${this.pick})`;
}

class AdvanceTime implements Command {
  constructor(readonly ms: number) {}
  check = () => true;
  async run(model: Model, real: Real): Promise<void> {
    await real.clock.advanceBy(this.ms);
    await settle(real);
    checkInvariants(model, real);
  }
  toString = () => `advance(${this.ms} ms)`;
}

class SetHealth implements Command {
  constructor(
    readonly output: Output,
    readonly healthy: boolean,
  ) {}
  check = () => true;
  run(model: Model): Promise<void> {
    model.healthy[this.output] = this.healthy;
    return Promise.resolve();
  }
  toString = () => `${this.output} ${this.healthy ? 'up' : 'down'}`;
}

class Restart implements Command {
  check = () => true;
  async run(model: Model, real: Real): Promise<void> {
    await settled(real, real.pool.flush()).catch(() => undefined);
    const final = real.pool.stats();
    for (const output of MODEL_OUTPUTS) {
      const own = final.outputs[output];
      model.carried[output].delivered += own?.delivered.records ?? 0;
      model.carried[output].dropped += own?.dropped.records ?? 0;
      model.carried[output].deadLettered += own?.deadLettered.records ?? 0;
    }
    for (const { lease } of model.leases.splice(0)) {
      for (const name of recordNames(lease)) model.mayRepeat.add(name);
    }
    await settled(real, real.pool.close());
    real.pool = await settled(
      real,
      real.setup.open({ clock: real.clock, scheduler: real.scheduler, restart: true }),
    );
    checkInvariants(model, real);
  }
  toString = () => 'restart';
}

/** The command arbitraries; output failures come from `failures`. */
export function poolCommands(
  persistent: boolean,
  failures: fc.Arbitrary<Command>,
): fc.Arbitrary<Iterable<Command>> {
  const commands: fc.Arbitrary<Command>[] = [
    fc
      .tuple(fc.constantFrom(...TAGS), fc.integer({ min: 1, max: 8 }))
      .map(([tag, count]) => new Append(tag, count)),
    fc.constant(new Flush()),
    fc.constantFrom(...MODEL_OUTPUTS).map((output) => new Take(output)),
    fc.constantFrom(...MODEL_OUTPUTS).map((output) => new Take(output)),
    fc
      .tuple(
        fc.nat(),
        fc.constantFrom('settle', 'settle', 'settle', 'drop', 'hang') as fc.Arbitrary<
          'settle' | 'drop' | 'hang'
        >,
      )
      .map(([pick, how]) => new Settle(pick, how)),
    fc.integer({ min: 1, max: 3_000 }).map((ms) => new AdvanceTime(ms)),
    failures,
  ];
  if (persistent) commands.push(fc.constant(new Restart()));
  return fc.commands(commands, { maxCommands: 60 });
}

/**
 * An output going down (its leases are retried) or coming back: the arbitrary of failure
 * schedules. Pass your own to weight outages differently.
 *
 * @example
 * ```ts
 * // Outages twice as often as the default mix.
 * const failures = fc.oneof(outputFailures(), outputFailures());
 * await checkChunkStorage(() => ({ create: () => memoryStorage() }), { failures, numRuns: 20 });
 * ```
 */
export function outputFailures(): fc.Arbitrary<Command> {
  return fc
    .tuple(fc.constantFrom(...MODEL_OUTPUTS), fc.boolean())
    .map(([output, healthy]) => new SetHealth(output, healthy));
}

/**
 * Liveness: with every output healthy, take and ack until nothing is pending, advancing virtual
 * time when no chunk is available. Fails if the pool has not drained after `maxSteps`.
 */
async function drainsWhenHealthy(model: Model, real: Real): Promise<void> {
  model.healthy.a = true;
  model.healthy.b = true;
  for (const { lease } of model.leases.splice(0)) {
    await settled(real, lease.ack()).catch(() => undefined);
  }
  await settle(real);
  const pending = (): number => {
    const stats = real.pool.stats();
    return MODEL_OUTPUTS.reduce(
      (sum, output) => sum + (stats.outputs[output]?.pendingRecords ?? 0),
      0,
    );
  };
  const maxSteps = 60 + pending() + model.nextRecord;
  for (let step = 0; step < maxSteps; step++) {
    await settled(real, real.pool.flush()).catch(() => undefined);
    if (pending() === 0 && model.waiting.size === 0) return;
    let progressed = false;
    for (const output of MODEL_OUTPUTS) {
      const controller = new AbortController();
      const taking = real.pool.take(output, { signal: controller.signal });
      await settle(real);
      controller.abort();
      const lease = await taking.catch(() => undefined);
      if (lease === undefined) continue;
      recordNames(lease); // checks the lease is whole
      progressed = true;
      await settled(real, lease.ack()).catch(() => undefined);
    }
    if (!progressed) {
      await real.clock.advanceBy(real.setup.longestWaitMs);
      await settle(real);
    }
    checkInvariants(model, real);
  }
  const stats = real.pool.stats();
  throw new Error(
    `not drained after ${maxSteps} steps with healthy outputs: ${pending()} records pending, ` +
      `${stats.appendsWaiting} appends waiting, ${stats.bytesUp} bytes up (a deadlock)`,
  );
}

/** Runs one model run: the commands, then the liveness check. */
export async function runPoolModel(
  setup: PoolModelSetup,
  scheduler: fc.Scheduler,
  commands: Iterable<Command>,
): Promise<void> {
  const clock = new VirtualClock();
  const pool = await setup.open({ clock, scheduler, restart: false });
  const real: Real = { pool, clock, scheduler, setup };
  const model = new Model();
  try {
    await fc.asyncModelRun(() => ({ model, real }), commands);
    await drainsWhenHealthy(model, real);
  } finally {
    await settled(real, real.pool.close()).catch(() => undefined);
    await setup.dispose?.();
  }
}
