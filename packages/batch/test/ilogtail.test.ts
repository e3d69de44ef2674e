/**
 * The iLogtail incident as a test. At start-up the agent lists every container and inspects
 * each; inspects of long-exited containers hang or fail. The original code kept only the last
 * error, and when the last container was such a one, Docker discovery was switched off for good.
 */
import { describe, expect, test } from 'vitest';
import { createInventory, fetchAll, isFatalError, type FetchContext } from '../src/index.js';
import { VirtualClock } from '../src/testing.js';

interface Container {
  readonly id: string;
  readonly state: 'running' | 'exited';
}

/** 300 containers, 100 exited (every third), the LAST one exited too. */
function containers(): Container[] {
  return Array.from({ length: 300 }, (_, i) => ({
    id: `c${i}`,
    state: i % 3 === 2 || i === 299 ? 'exited' : 'running',
  }));
}

/** A Docker daemon on virtual time: running containers answer; exited ones hang or fail. */
function daemon(clock: VirtualClock, { down = false } = {}) {
  return (c: Container, { signal }: Pick<FetchContext, 'signal'>) =>
    new Promise<{ id: string; logPath: string }>((resolve, reject) => {
      if (down)
        return reject(
          Object.assign(new Error('connect ECONNREFUSED /var/run/docker.sock'), {
            code: 'ECONNREFUSED',
          }),
        );
      const n = Number(c.id.slice(1));
      if (c.state === 'exited' && (n % 2 === 0 || n === 299)) {
        return reject(
          Object.assign(new Error(`Error: No such container: ${c.id}`), { status: 404 }),
        );
      }
      if (c.state === 'exited') {
        signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
        return; // hangs until its timeout
      }
      clock.setTimeout(
        () => resolve({ id: c.id, logPath: `/var/lib/docker/containers/${c.id}.log` }),
        5,
      );
    });
}

const options = (clock: VirtualClock) => ({
  clock,
  concurrency: 16,
  timeout: 2_000,
  deadline: 30_000,
  retry: 1,
  importance: (c: Container) =>
    (c.state === 'running' ? 'required' : 'optional') as 'required' | 'optional',
  breaker: { failureRatio: 0.5, minSamples: 20 },
});

describe('the iLogtail scenario', () => {
  test('every running container comes back and the verdict is not fatal', async () => {
    const clock = new VirtualClock();
    const list = containers();
    const result = await clock.runUntilSettled(fetchAll(list, daemon(clock), options(clock)));

    const running = list.filter((c) => c.state === 'running');
    expect(result.values.map((v) => v.id)).toEqual(running.map((c) => c.id));
    expect(result.fatal).toBeUndefined();
    expect(result.stats.rejected).toBe(100);
    expect(result.outcomes.at(-1)).toMatchObject({ status: 'rejected', item: { id: 'c299' } });

    const inventory = createInventory({ key: (c: Container) => c.id, ttl: 60_000, clock });
    expect(inventory.apply(result).added).toHaveLength(200);
  });

  test('control: the original "last error wins" loop switches discovery off on the same input', async () => {
    const clock = new VirtualClock();
    const inspect = daemon(clock);
    // The shape of the original code: sequential, no timeout, the last error returned to Init().
    const fetchAllLastErrorWins = async (list: Container[]) => {
      let lastErr: unknown;
      for (const c of list) {
        try {
          const controller = new AbortController();
          // Without a timeout a hanging inspect would block forever; give the loop the benefit
          // of the doubt and let each hang end at 2 s as a failure.
          const timer = clock.setTimeout(() => controller.abort(new Error('hung')), 2_000);
          await inspect(c, { signal: controller.signal }).finally(() => clock.clearTimeout(timer));
          lastErr = undefined;
        } catch (e) {
          lastErr = e;
        }
      }
      return lastErr;
    };
    const initError = await clock.runUntilSettled(fetchAllLastErrorWins(containers()));
    const dockerDiscoveryEnabled = initError === undefined;
    expect(dockerDiscoveryEnabled).toBe(false); // the incident
  });

  test('the opposite: when the daemon itself is down, the breaker ends the batch fatal, early', async () => {
    const clock = new VirtualClock();
    let calls = 0;
    const down = daemon(clock, { down: true });
    const result = await clock.runUntilSettled(
      fetchAll(
        containers(),
        (c, ctx) => {
          calls += 1;
          return down(c, ctx);
        },
        options(clock),
      ),
    );
    expect(isFatalError(result.fatal)).toBe(true);
    expect(result.fatal?.message).toMatch(/breaker opened/);
    expect(result.outcomes).toHaveLength(300);
    expect(calls).toBeLessThan(100); // no hammering of a dead daemon: 300 × 2 calls avoided
  });
});
