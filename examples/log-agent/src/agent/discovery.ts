/**
 * Container discovery with `@holdfast/batch`: list every container, inspect each, and merge the
 * round's partial result into the last good state. Exited containers are optional: their
 * inspects may hang or fail (the iLogtail incident) and cost only themselves.
 */
import { createInventory } from '@holdfast/batch';
import {
  inspectContainer,
  listContainers,
  type ContainerDetails,
  type ContainerSummary,
} from './docker-client.js';

export interface DiscoveryRound {
  readonly listed: number;
  readonly running: number;
  readonly failed: number;
  readonly timedOut: number;
  readonly fatal: boolean;
  /** `BatchResult.summary()`: one line for the agent's log. */
  readonly summary: string;
}

export interface Discovery {
  /** Runs one round; never rejects because some containers misbehave. */
  round(): Promise<DiscoveryRound>;
  /** Running containers known now, by name order (a stable order for the log source). */
  containers(): ContainerDetails[];
}

export function createDiscovery(socketPath: string): Discovery {
  // One call types the whole inventory: items and keys from `key`, values from `fetchOne`.
  const inventory = createInventory({
    key: (c: ContainerSummary) => c.Id,
    ttl: 60_000,
    fetchOne: (c, { signal }) => inspectContainer(socketPath, c.Id, signal),
  });
  return {
    async round() {
      const listing = await listContainers(socketPath);
      // A fatal round (the breaker opened) is not applied: the last good state is kept.
      const { result } = await inventory.refresh(listing, {
        concurrency: 32,
        timeout: 300,
        deadline: 10_000,
        maxAbandoned: Infinity,
        importance: (c) => (c.State === 'running' ? 'required' : 'optional'),
        // A daemon that fails most inspects is sick: stop asking it for the rest of the round.
        breaker: { failureRatio: 0.8, minSamples: 50 },
      });
      return {
        listed: listing.length,
        running: listing.filter((c) => c.State === 'running').length,
        failed: result.stats.rejected - result.stats.timedOut,
        timedOut: result.stats.timedOut,
        fatal: result.fatal !== undefined,
        summary: result.summary(),
      };
    },
    containers() {
      return [...inventory.entries()]
        .map(([, entry]) => entry.value)
        .filter((details) => details.State.Running)
        .sort((a, b) => a.Name.localeCompare(b.Name));
    },
  };
}
