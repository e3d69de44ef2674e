import { readdirSync } from 'node:fs';
import { watchdogPid } from '../internal/process-groups.js';
import { childPids, procStat } from '../internal/proc.js';

/** One process of a tree, as /proc shows it. */
export interface TreeProcess {
  readonly pid: number;
  readonly ppid: number;
  readonly pgid: number;
  /** R running, S sleeping, Z zombie, … */
  readonly state: string;
}

/**
 * Every descendant of `root` (default: this process), from Linux's /proc — except this package's
 * own watchdog (the `/bin/sh` that kills `run()`'s groups if the agent is killed), which is not
 * something the agent started.
 *
 * @example
 * ```ts
 * expect(descendants().filter((p) => p.state !== 'Z')).toEqual([]); // nothing left running
 * ```
 */
export function descendants(root: number = process.pid): TreeProcess[] {
  const out: TreeProcess[] = [];
  const watchdog = watchdogPid();
  const queue = [root];
  while (queue.length > 0) {
    const parent = queue.shift()!;
    for (const pid of childPids(parent === process.pid ? 'self' : parent)) {
      const stat = procStat(pid);
      if (stat === undefined || pid === watchdog) continue;
      out.push(stat);
      queue.push(pid);
    }
  }
  return out;
}

/**
 * Zombies among the descendants of `root` (default: this process).
 *
 * @example
 * ```ts
 * expect(countZombies()).toBe(0);
 * ```
 */
export function countZombies(root: number = process.pid): number {
  return descendants(root).filter((p) => p.state === 'Z').length;
}

/**
 * Processes still alive (not zombies) in the process group `pgid`, anywhere on the machine.
 *
 * @example
 * ```ts
 * const r = await run('sh', ['-c', 'sleep 60 & sleep 60'], { timeout: 50 });
 * await expect.poll(() => liveProcessesInGroup(r.pid)).toEqual([]);
 * ```
 */
export function liveProcessesInGroup(pgid: number): number[] {
  return allPids().filter((pid) => {
    const stat = procStat(pid);
    return stat !== undefined && stat.pgid === pgid && stat.state !== 'Z';
  });
}

/** Every process of this PID namespace: the numeric entries of /proc. */
function allPids(): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number);
}
