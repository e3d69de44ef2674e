import type fc from 'fast-check';
import {
  checkInvariants,
  MODEL_OUTPUTS,
  recordNames,
  settle,
  settled,
  type Model,
  type Real,
} from './model-state.js';

/**
 * The model's restart: what a pool must keep when it is closed and opened again.
 *
 * @module
 */

/**
 * Closes the pool and opens it again on the same storage. What a persistent pool held pending
 * must come back exactly, except what a failed storage call excuses (a failed append may lose
 * its records, a failed done mark may bring them back); any other pool must have counted what it
 * held as dropped when it closed. The new pool starts its own accounting from what it recovered.
 */
export class Restart implements fc.AsyncCommand<Model, Real> {
  check = () => true;
  async run(model: Model, real: Real): Promise<void> {
    model.coverage.commands += 1;
    await settled(real, real.pool.flush()).catch(() => undefined);
    for (const { lease } of model.leases.splice(0)) {
      for (const name of recordNames(lease)) model.mayRepeat.add(name);
    }
    await settled(real, real.pool.close());
    await settle(real);
    checkInvariants(model, real); // a pool that is not persistent dropped what it held, counted
    const before = real.pool.stats();
    const excuses = real.setup.takeExcuses?.() ?? { lost: [], redelivered: [] };
    for (const { records } of excuses.redelivered) {
      for (const record of records) model.mayRepeat.add(record.toString().split('|')[0] as string);
    }
    real.pool = await settled(
      real,
      real.setup.open({ clock: real.clock, scheduler: real.scheduler, restart: true }),
    );
    const after = real.pool.stats();
    for (const output of MODEL_OUTPUTS) {
      const held = before.outputs[output]?.pendingRecords ?? 0;
      const recovered = after.outputs[output]?.pendingRecords ?? 0;
      let lost = 0;
      for (const failed of excuses.lost) if (failed.routes.includes(output)) lost += failed.records;
      let again = 0;
      for (const failed of excuses.redelivered) {
        if (failed.output === output) again += failed.records.length;
      }
      const least = real.setup.persistent ? held - lost : 0;
      const most = real.setup.persistent ? held + again : 0;
      if (recovered < least || recovered > most) {
        throw new Error(
          `output ${output}: ${held} records pending at close, ${recovered} after the restart ` +
            `(failed appends excuse ${lost} lost, failed done marks ${again} again)`,
        );
      }
      model.routed[output] = recovered;
    }
    model.coverage.reached.add('restart');
    checkInvariants(model, real);
  }
  toString = () => 'restart';
}
