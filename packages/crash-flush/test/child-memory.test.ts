/**
 * What a memory sample of a supervised child counts (src/internal/child-memory.ts): a child
 * dying between the two /proc reads of a sample, a zombie or reused pid, and the cgroups that
 * are never the child's own. The reads are faked to put the death exactly between them; one
 * test reads a real zombie.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { ChildMemory, type MemoryProbe } from '../src/internal/child-memory.js';
import { memoryCgroup, type MemoryCgroup } from '../src/internal/memory-cgroup.js';

const supervisor: MemoryCgroup = { version: 1, dir: '/sys/fs/cgroup/memory/agents/supervisor' };
const own: MemoryCgroup = { version: 1, dir: '/sys/fs/cgroup/memory/agents/supervisor/child' };

const liveChild: MemoryProbe = { residentBytes: () => 8 << 20, cgroupOf: () => own };

/** A child that dies while its cgroup is read, which then reads as `seen` (a reused pid's). */
function dyingOnCgroupRead(seen: MemoryCgroup): MemoryProbe {
  let alive = true;
  return {
    residentBytes: () => (alive ? 8 << 20 : undefined),
    cgroupOf: () => {
      alive = false;
      return seen;
    },
  };
}

describe('ChildMemory', () => {
  test('a live child in a cgroup of its own: its VmHWM and that cgroup are kept', () => {
    const memory = new ChildMemory(42, supervisor, liveChild);
    memory.sample();
    expect(memory.peakBytes).toBe(8 << 20);
    expect(memory.ownCgroup).toEqual(own);
  });

  test('a child that dies while its cgroup is read: the read (another process’s cgroup) is not taken', () => {
    // Read in the other order (VmHWM first, while alive), the foreign cgroup would be taken.
    const foreign: MemoryCgroup = { version: 1, dir: '/sys/fs/cgroup/memory/someone-else' };
    const memory = new ChildMemory(42, supervisor, dyingOnCgroupRead(foreign));
    memory.sample();
    expect(memory.ownCgroup).toBeUndefined();
    expect(memory.peakBytes).toBe(0);
  });

  test.each([
    ['the supervisor’s own', supervisor.dir],
    ['an ancestor of the supervisor’s', '/sys/fs/cgroup/memory/agents'],
    ['the root, as a zombie reads it (with a trailing slash)', '/sys/fs/cgroup/memory/'],
    ['the root, without one', '/sys/fs/cgroup/memory'],
  ])('%s cgroup is never the child’s own', (_name, dir) => {
    const probe: MemoryProbe = {
      residentBytes: () => 1 << 20,
      cgroupOf: () => ({ version: 1, dir }),
    };
    const memory = new ChildMemory(42, supervisor, probe);
    memory.sample();
    expect(memory.peakBytes).toBe(1 << 20); // the sample counted; only the cgroup was refused
    expect(memory.ownCgroup).toBeUndefined();
  });

  test('a sibling whose name starts with the supervisor’s is not an ancestor: it is taken', () => {
    const sibling: MemoryCgroup = { version: 1, dir: `${supervisor.dir}-2` };
    const probe: MemoryProbe = { residentBytes: () => 1 << 20, cgroupOf: () => sibling };
    const memory = new ChildMemory(42, supervisor, probe);
    memory.sample();
    expect(memory.ownCgroup).toEqual(sibling);
  });

  test('a supervisor outside any memory cgroup: the child’s cgroup is its own', () => {
    const memory = new ChildMemory(42, undefined, liveChild);
    memory.sample();
    expect(memory.ownCgroup).toEqual(own);
  });

  test('a child whose cgroup cannot be read: its VmHWM still counts', () => {
    const probe: MemoryProbe = { residentBytes: () => 3 << 20, cgroupOf: () => undefined };
    const memory = new ChildMemory(42, supervisor, probe);
    memory.sample();
    expect([memory.peakBytes, memory.ownCgroup]).toEqual([3 << 20, undefined]);
  });

  test('after stop() (the exit was seen, the pid may be reused) no sample counts', () => {
    const memory = new ChildMemory(42, supervisor, liveChild);
    memory.stop();
    memory.sample();
    expect(memory.peakBytes).toBe(0);
    expect(memory.ownCgroup).toBeUndefined();
  });

  test('a real zombie: no sample counts, whatever its cgroup reads as', async () => {
    // `sh` forks `true` and becomes `sleep`, which never waits: `true` stays a zombie.
    const parent = spawn('sh', ['-c', 'true & echo $!; exec sleep 5'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    try {
      const [line] = (await once(parent.stdout, 'data')) as [Buffer];
      const zombie = Number(String(line).trim());
      // Wait until `true` has exited (its state is Z).
      const state = () =>
        /^State:\s+(\S)/m.exec(readFileSync(`/proc/${zombie}/status`, 'utf8'))?.[1];
      while (state() !== 'Z') await new Promise((resolve) => setImmediate(resolve));
      const memory = new ChildMemory(zombie, memoryCgroup());
      memory.sample();
      expect(memory.peakBytes).toBe(0);
      expect(memory.ownCgroup).toBeUndefined();
    } finally {
      parent.kill('SIGKILL');
    }
  });
});
