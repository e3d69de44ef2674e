import type { ChunkPoolStats } from '../stats.js';

/**
 * Which states one model run reached, so that a test can require a minimum share of runs to
 * reach each (its coverage floors): a property whose generator quietly stopped reaching a state
 * proves nothing about it, and the floors make that a failure instead of a silent loss.
 *
 * @module
 */

/** The states a run can reach; the test picks the ones it sets a floor for. */
export type ModelState =
  /** An append waited for room (backpressure: the Fluent Bit deadlock's path). */
  | 'backpressure'
  /** The inputs' share had no room for one more 100-byte record. */
  | 'input-full'
  /** An output brought a chunk up inside its own reserve. */
  | 'reserve-in-use'
  | 'lease-timeout'
  | 'dead-letter'
  /** A record dropped for room (`whenFull` `'drop-newest'` or `'drop-oldest'`). */
  | 'drop-when-full'
  /** Records dropped for an output, for any reason (an output's `drop()`, room, a close). */
  | 'dropped'
  | 'restart'
  /** A record of the model's smallest (just its name) or largest size was accepted. */
  | 'tiny-record'
  | 'huge-record'
  | 'try-append-accepted'
  /** An append of a tag the pool cannot route was refused (as it must be). */
  | 'unroutable-refused'
  /** An output was still down when the commands ended (it came back for the drain). */
  | 'output-down-at-end'
  /** A storage fault fired, as `fault:<call> <kind>` (see `plannedFaults`). */
  | `fault:${string}`;

/** What one run reached, and how many commands it ran. */
export class ModelCoverage {
  commands = 0;
  readonly reached = new Set<ModelState>();

  /** Notes the states `stats` shows; `overheadBytes` is what a record costs beyond its payload. */
  sample(
    stats: Pick<ChunkPoolStats, 'input' | 'appendsWaiting'> &
      Partial<Pick<ChunkPoolStats, 'droppedWhenFull'>> & {
        readonly outputs: Readonly<
          Record<
            string,
            Pick<ChunkPoolStats['outputs'][string], 'reserve' | 'deadLettered' | 'dropped'> &
              Partial<Pick<ChunkPoolStats['outputs'][string], 'leaseTimeouts'>>
          >
        >;
      },
    overheadBytes: number,
  ): void {
    if (stats.appendsWaiting > 0) this.reached.add('backpressure');
    if (stats.input.bytesUp + 100 + overheadBytes > stats.input.limitBytes) {
      this.reached.add('input-full');
    }
    if ((stats.droppedWhenFull?.records ?? 0) > 0) this.reached.add('drop-when-full');
    for (const own of Object.values(stats.outputs)) {
      if (own.reserve.bytesUp > 0) this.reached.add('reserve-in-use');
      if ((own.leaseTimeouts ?? 0) > 0) this.reached.add('lease-timeout');
      if (own.deadLettered.records > 0) this.reached.add('dead-letter');
      if (own.dropped.records > 0) this.reached.add('dropped');
    }
  }
}

/** The share of runs (0 to 1) that reached each state, and the mean commands a run. */
export function coverageShares(runs: readonly ModelCoverage[]): {
  readonly runs: number;
  readonly meanCommands: number;
  readonly shares: ReadonlyMap<ModelState, number>;
} {
  const counts = new Map<ModelState, number>();
  let commands = 0;
  for (const run of runs) {
    commands += run.commands;
    for (const state of run.reached) counts.set(state, (counts.get(state) ?? 0) + 1);
  }
  const shares = new Map<ModelState, number>();
  for (const [state, count] of [...counts].sort(([a], [b]) => a.localeCompare(b))) {
    shares.set(state, count / Math.max(1, runs.length));
  }
  return { runs: runs.length, meanCommands: commands / Math.max(1, runs.length), shares };
}

/** The shares as one line a test can print: `backpressure 62%, dead-letter 40%, ...`. */
export function describeCoverage(runs: readonly ModelCoverage[]): string {
  const { runs: count, meanCommands, shares } = coverageShares(runs);
  const parts = [...shares].map(([state, share]) => `${state} ${Math.round(share * 100)}%`);
  return `${count} runs, ${meanCommands.toFixed(1)} commands a run: ${parts.join(', ')}`;
}

/**
 * Fails unless, for each state in `floors`, at least that share of `runs` reached it (and unless
 * the runs averaged at least `floors.meanCommands` commands, when given). The error names every
 * floor that was missed, with the share measured.
 */
export function assertCoverageFloors(
  runs: readonly ModelCoverage[],
  floors: Partial<Record<ModelState, number>> & { readonly meanCommands?: number },
): void {
  const { meanCommands, shares } = coverageShares(runs);
  const missed: string[] = [];
  for (const [state, floor = 0] of Object.entries(floors)) {
    if (state === 'meanCommands') {
      if (meanCommands < floor)
        missed.push(`mean commands a run ${meanCommands.toFixed(1)} < ${floor}`);
      continue;
    }
    const share = shares.get(state as ModelState) ?? 0;
    if (share < floor) {
      missed.push(
        `${state} reached in ${(share * 100).toFixed(0)}% of runs < ${Math.round(floor * 100)}%`,
      );
    }
  }
  if (missed.length > 0) {
    throw new Error(
      `coverage floors not reached (${missed.join('; ')}); measured: ${describeCoverage(runs)}`,
    );
  }
}
