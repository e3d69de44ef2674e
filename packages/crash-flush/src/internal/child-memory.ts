/**
 * The peak memory of a running child, sampled from /proc: its resident high-water mark (VmHWM),
 * and the memory cgroup it runs in when that cgroup is its own (systemd-run --scope, a runtime),
 * whose peak then counts instead.
 *
 * Two reads of /proc make a sample, and the child may die between them. Invariants:
 * - A sample counts only if the child was still alive after its cgroup was read: a zombie's
 *   /proc/<pid>/cgroup reads as the root cgroup, and a reaped pid may already be another
 *   process's. So the cgroup is read first and VmHWM (absent for a zombie) after it.
 * - A cgroup is the child's own only if it is neither the supervisor's nor an ancestor of it
 *   (the root cgroup above all): those hold other processes, and their peak is not the child's.
 * - Sampling stops when the child's exit is seen: after that its pid may be reused.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, relative } from 'node:path';
import { memoryCgroup, type MemoryCgroup } from './memory-cgroup.js';

/** The two reads a sample makes; replaced in tests to put a death between them. */
export interface MemoryProbe {
  /** VmHWM of `pid` in bytes; undefined when the process is gone or a zombie. */
  residentBytes(pid: number): number | undefined;
  /** The memory cgroup of `pid`, as /proc/<pid>/cgroup names it. */
  cgroupOf(pid: number): MemoryCgroup | undefined;
}

const procProbe: MemoryProbe = {
  residentBytes(pid) {
    try {
      const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      return match === null ? undefined : Number(match[1]) * 1_024;
    } catch {
      return undefined;
    }
  },
  cgroupOf: (pid) => memoryCgroup(pid),
};

/** Whether directory `dir` is `of` or one of its ancestors (trailing slashes ignored). */
function isSelfOrAncestor(dir: string, of: string): boolean {
  const path = relative(dir, of);
  return path === '' || (!path.startsWith('..') && !isAbsolute(path));
}

/** Samples one child's memory until stopped; `peakBytes` and `ownCgroup` are what was seen. */
export class ChildMemory {
  /** The highest VmHWM sampled, in bytes; 0 when no sample counted. */
  peakBytes = 0;
  /** The last memory cgroup of the child's own that a counted sample saw. */
  ownCgroup: MemoryCgroup | undefined;
  private stopped = false;

  constructor(
    private readonly pid: number,
    /** The supervisor's own memory cgroup, never taken for the child's. */
    private readonly supervisorCgroup: MemoryCgroup | undefined,
    private readonly probe: MemoryProbe = procProbe,
  ) {}

  /** Takes one sample, unless stopped. */
  sample(): void {
    if (this.stopped) return;
    const cgroup = this.probe.cgroupOf(this.pid);
    const resident = this.probe.residentBytes(this.pid);
    if (resident === undefined) return; // dead by now: the cgroup read may not be the child's
    this.peakBytes = Math.max(this.peakBytes, resident);
    const supervisor = this.supervisorCgroup;
    if (cgroup === undefined) return;
    if (supervisor !== undefined && isSelfOrAncestor(cgroup.dir, supervisor.dir)) return;
    this.ownCgroup = cgroup;
  }

  /** No sample after this one: the child's exit was seen. */
  stop(): void {
    this.stopped = true;
  }
}
