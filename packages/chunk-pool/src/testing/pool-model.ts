import fc from 'fast-check';
import { describeThrown } from '../describe-value.js';
import type { ModelCoverage } from './model-coverage.js';
import type { Command } from './model-commands.js';
import {
  checkInvariants,
  Model,
  MODEL_OUTPUTS,
  recordNames,
  settle,
  settled,
  type PoolModelSetup,
  type Real,
} from './model-state.js';
import { VirtualClock } from './virtual-clock.js';

/**
 * The model-based property run behind `checkChunkStorage`: fast-check commands drive a pool
 * (append and tryAppend of tiny to huge records, flush, take, ack, retry, drop, let a lease time
 * out, an output going down and coming back, a restart), and after every step the invariants are
 * checked against a model; at the end outputs become healthy and the pool must drain within a
 * bounded number of steps. Each run reports which states it reached (`ModelCoverage`), so a
 * test can require that the runs reach them (see `model-coverage.ts`).
 *
 * It drives anything shaped like a pool ({@link PoolSubject}), so the same property can be run on
 * a deliberately naive or broken pool to show that it can fail.
 *
 * @module
 */

export {
  checkAppendFailure,
  modelRoute,
  MODEL_OUTPUTS,
  MODEL_TAGS,
  type OpenSubject,
  type PoolModelSetup,
  type PoolSubject,
  type SubjectLease,
} from './model-state.js';
export { outputFailures, poolCommands, type PoolCommandsOptions } from './model-commands.js';

/**
 * Liveness: with every output healthy, take and ack until nothing is pending, advancing virtual
 * time when no chunk is available. Fails if the pool has not drained after `maxSteps`.
 */
async function drainsWhenHealthy(model: Model, real: Real): Promise<void> {
  if (!model.healthy.a || !model.healthy.b) model.coverage.reached.add('output-down-at-end');
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
    if (pending() === 0 && model.waiting.size === 0) {
      checkInvariants(model, real);
      return;
    }
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

/**
 * Runs one model run: the commands, then the liveness check. Resolves with the states the run
 * reached. A rejection the pool leaves unhandled meanwhile fails the run.
 */
export async function runPoolModel(
  setup: PoolModelSetup,
  scheduler: fc.Scheduler,
  commands: Iterable<Command>,
): Promise<ModelCoverage> {
  const clock = new VirtualClock();
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => {
    unhandled.push(reason);
  };
  process.on('unhandledRejection', onUnhandled);
  const model = new Model();
  let real: Real | undefined;
  try {
    const pool = await setup.open({ clock, scheduler, restart: false });
    real = { pool, clock, scheduler, setup, unhandled };
    const started = real;
    await fc.asyncModelRun(() => ({ model, real: started }), commands);
    await drainsWhenHealthy(model, real);
    return model.coverage;
  } catch (error) {
    // A pool throws only Errors of its own; anything else is a user callback's throw it let out.
    if (error instanceof Error) throw error;
    throw new Error(`a pool call threw a value that is not an Error: ${describeThrown(error)}`, {
      cause: error,
    });
  } finally {
    if (real !== undefined) await settled(real, real.pool.close()).catch(() => undefined);
    await setup.dispose?.();
    process.off('unhandledRejection', onUnhandled);
  }
}
