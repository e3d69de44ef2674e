import fc from 'fast-check';
import { Restart } from './model-restart.js';
import { describeThrown } from '../describe-value.js';
import { isChunkPoolError } from '../errors.js';
import {
  checkAppendFailure,
  checkInvariants,
  modelRoute,
  MODEL_OUTPUTS,
  recordNames,
  settle,
  settled,
  type Model,
  type Output,
  type Real,
  type SubjectLease,
  type Tag,
  unroutable,
} from './model-state.js';

/**
 * The commands of the model-based property (see `pool-model.ts`) and the arbitrary of command
 * sequences: appends of tiny, usual and huge records (also through `tryAppend`), flush, take,
 * ack/retry/drop/hang a lease, delivery loops, virtual time passing, outputs going down and
 * coming back, and restarts (in `model-restart.ts`). Over 300 lines: one short class per command,
 * kept together so that the command set reads in one place.
 *
 * @module
 */

export type Command = fc.AsyncCommand<Model, Real>;

/** Record sizes: just the record's name, the usual 100 bytes, or the model's largest. */
type Size = 'tiny' | 'usual' | 'huge';

function recordOf(name: string, size: Size, real: Real): string {
  const padded = `${name}|`;
  if (size === 'tiny') return padded;
  return padded.padEnd(size === 'usual' ? 100 : (real.setup.hugeRecordBytes ?? 600), '.');
}

/** Counts a record the pool accepted, for each output its tag routes to. */
function accepted(model: Model, tag: Tag, size: Size): void {
  if (unroutable(tag))
    throw new Error(`the pool accepted a record of ${tag}, which it cannot route`);
  for (const route of modelRoute(tag)) model.routed[route as Output] += 1;
  if (size === 'tiny') model.coverage.reached.add('tiny-record');
  if (size === 'huge') model.coverage.reached.add('huge-record');
}

class Append implements Command {
  constructor(
    readonly tag: Tag,
    readonly count: number,
    readonly size: Size,
    readonly viaTryAppend: boolean,
  ) {}
  check = () => true;
  async run(model: Model, real: Real): Promise<void> {
    model.coverage.commands += 1;
    for (let i = 0; i < this.count; i++) {
      const record = recordOf(`r${model.nextRecord++}`, this.size, real);
      model.smallestAccepted = Math.min(model.smallestAccepted, Buffer.byteLength(record));
      if (this.viaTryAppend && this.#tryAppend(model, real, record)) {
        continue;
      }
      let outcome: Promise<string>;
      try {
        outcome = real.pool.append(this.tag, record);
      } catch (error) {
        throw new Error(
          `append(${this.tag}) threw instead of rejecting: ${describeThrown(error)}`,
          {
            cause: error,
          },
        );
      }
      const tracked: Promise<void> = outcome
        .then(
          (result) => {
            if (result === 'accepted') accepted(model, this.tag, this.size);
            else if (result === 'dropped') {
              if (real.setup.whenFull === 'block') throw new Error(`'block' dropped a record`);
              model.coverage.reached.add('drop-when-full');
            } else throw new Error(`append resolved ${String(result)}`);
          },
          (error: unknown) => {
            checkAppendFailure(this.tag, error);
            if (
              isChunkPoolError(error, 'INVALID_OPTION') ||
              isChunkPoolError(error, 'UNKNOWN_OUTPUT')
            ) {
              model.coverage.reached.add('unroutable-refused');
            }
          },
        )
        .catch((error: unknown) => {
          model.failures.push(error);
        })
        .finally(() => model.waiting.delete(tracked));
      model.waiting.add(tracked);
    }
    await settle(real);
    checkInvariants(model, real);
  }

  /** `true` when tryAppend placed the record; `false` when it must be appended (waited for). */
  #tryAppend(model: Model, real: Real, record: string): boolean {
    let placed: boolean;
    try {
      placed = real.pool.tryAppend?.(this.tag, record) ?? false;
    } catch (error) {
      checkAppendFailure(this.tag, error);
      if (isChunkPoolError(error, 'INVALID_OPTION') || isChunkPoolError(error, 'UNKNOWN_OUTPUT')) {
        model.coverage.reached.add('unroutable-refused');
      }
      return true; // refused: nothing to append
    }
    if (placed) {
      accepted(model, this.tag, this.size);
      model.coverage.reached.add('try-append-accepted');
    }
    return placed;
  }

  toString = () =>
    `${this.viaTryAppend ? 'tryAppend' : 'append'}(${this.tag} × ${this.count}, ${this.size})`;
}

class Flush implements Command {
  check = () => true;
  async run(model: Model, real: Real): Promise<void> {
    model.coverage.commands += 1;
    await settled(real, real.pool.flush()).catch(() => undefined); // a storage fault: reported
    checkInvariants(model, real);
  }
  toString = () => 'flush';
}

class Take implements Command {
  constructor(readonly output: Output) {}
  check = () => true;
  async run(model: Model, real: Real): Promise<void> {
    model.coverage.commands += 1;
    const lease = await takeNow(real, this.output);
    if (lease !== undefined) model.leases.push({ output: this.output, lease });
    checkInvariants(model, real);
  }
  toString = () => `take(${this.output})`;
}

/** How the model settles a lease: as its output's health says, dropped, or never (it hangs). */
type How = 'settle' | 'drop' | 'hang';

async function settleLease(
  model: Model,
  real: Real,
  held: { output: Output; lease: SubjectLease },
  how: How,
): Promise<void> {
  const names = recordNames(held.lease);
  if (how === 'hang') {
    // The output never answers: the lease must come back after leaseTimeout.
    for (const name of names) model.mayRepeat.add(name);
  } else if (how === 'drop') {
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
}

/** A lease for `output` if one is ready after the released storage calls ran, else none. */
async function takeNow(real: Real, output: Output): Promise<SubjectLease | undefined> {
  const controller = new AbortController();
  const taking = real.pool.take(output, { signal: controller.signal });
  await settle(real);
  controller.abort();
  return taking.catch(() => undefined);
}

class Settle implements Command {
  constructor(
    readonly pick: number,
    readonly how: How,
  ) {}
  check = (model: Readonly<Model>) => model.leases.length > 0;
  async run(model: Model, real: Real): Promise<void> {
    model.coverage.commands += 1;
    const [held] = model.leases.splice(this.pick % model.leases.length, 1);
    if (held === undefined) return;
    await settleLease(model, real, held, this.how);
    checkInvariants(model, real);
  }
  toString = () => `${this.how}(lease #${this.pick})`;
}

/**
 * An output's delivery loop for a few rounds: take, then ack or retry as the output's health
 * says; when nothing is ready, virtual time passes (a retry delay) before the next round. What
 * makes a chunk fail attempt after attempt on a down output, to its dead letter.
 */
class Deliver implements Command {
  constructor(
    readonly output: Output,
    readonly rounds: number,
  ) {}
  check = () => true;
  async run(model: Model, real: Real): Promise<void> {
    model.coverage.commands += 1;
    for (let round = 0; round < this.rounds; round++) {
      const lease = await takeNow(real, this.output);
      if (lease === undefined) {
        await real.clock.advanceBy(real.setup.retryDelayMs ?? 1_000);
        await settle(real);
      } else {
        await settleLease(model, real, { output: this.output, lease }, 'settle');
      }
      checkInvariants(model, real);
    }
  }
  toString = () => `deliver(${this.output} × ${this.rounds})`;
}

class AdvanceTime implements Command {
  constructor(readonly ms: number) {}
  check = () => true;
  async run(model: Model, real: Real): Promise<void> {
    model.coverage.commands += 1;
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
    model.coverage.commands += 1;
    model.healthy[this.output] = this.healthy;
    return Promise.resolve();
  }
  toString = () => `${this.output} ${this.healthy ? 'up' : 'down'}`;
}

/** How {@link poolCommands} shapes a sequence. */
export interface PoolCommandsOptions {
  /** Include restarts even though the pool is not persistent (memory storage reopened). */
  readonly restarts?: boolean;
  /** @default 200 */
  readonly maxCommands?: number;
  /** fast-check's size of the sequence; `'xlarge'` spreads lengths evenly up to the maximum. @default 'xlarge' */
  readonly size?: fc.SizeForArbitrary;
}

/**
 * The arbitrary of command sequences; output failures come from `failures`. Restarts are
 * included when the pool is persistent (or `options.restarts`).
 */
export function poolCommands(
  persistent: boolean,
  failures: fc.Arbitrary<Command>,
  options: PoolCommandsOptions = {},
): fc.Arbitrary<Iterable<Command>> {
  const size = fc.constantFrom<Size>('usual', 'usual', 'tiny', 'huge');
  const append = fc
    .tuple(
      fc.constantFrom<Tag>(
        'both',
        'both',
        'both',
        'only-a',
        'only-b',
        'nowhere',
        'unknown',
        'throws',
      ),
      fc.integer({ min: 1, max: 12 }),
      size,
      fc.boolean(),
    )
    .map(([tag, count, size, viaTryAppend]) => new Append(tag, count, size, viaTryAppend));
  const take = fc.constantFrom(...MODEL_OUTPUTS).map((output) => new Take(output));
  const settle = fc
    .tuple(fc.nat(), fc.constantFrom<How>('settle', 'settle', 'drop', 'hang'))
    .map(([pick, how]) => new Settle(pick, how));
  const deliver = fc
    .tuple(fc.constantFrom(...MODEL_OUTPUTS), fc.integer({ min: 1, max: 16 }))
    .map(([output, rounds]) => new Deliver(output, rounds));
  // Weights: appends and deliveries most, a restart every 25 commands or so (each one resets
  // the attempts a chunk has had, so restarting more often would make dead letters rare).
  const commands: fc.WeightedArbitrary<Command>[] = [
    { arbitrary: append, weight: 8 },
    { arbitrary: fc.constant(new Flush()), weight: 2 },
    { arbitrary: take, weight: 4 },
    { arbitrary: settle, weight: 4 },
    { arbitrary: deliver, weight: 4 },
    { arbitrary: fc.integer({ min: 1, max: 3_000 }).map((ms) => new AdvanceTime(ms)), weight: 2 },
    { arbitrary: failures, weight: 2 },
  ];
  if (persistent || options.restarts === true) {
    commands.push({ arbitrary: fc.constant(new Restart()), weight: 1 });
  }
  return fc.commands([fc.oneof(...commands)], {
    maxCommands: options.maxCommands ?? 200,
    size: options.size ?? 'xlarge',
  });
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
