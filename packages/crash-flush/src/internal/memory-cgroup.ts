/**
 * The memory cgroup of a process, and what it tells about memory: the kernel's OOM kills and the
 * peak. cgroup v2 (`memory.events`' `oom_kill`, `memory.peak`) where the memory controller is on
 * the unified hierarchy; cgroup v1 (`memory.oom_control`'s `oom_kill`, Linux 4.13 and later, and
 * `memory.max_usage_in_bytes`) where it is still on its own hierarchy, as on hybrid hosts. The
 * mount points are read from /proc/self/mountinfo, not assumed (`/sys/fs/cgroup` is a tmpfs of v1
 * mounts on a hybrid host, with v2 at `/sys/fs/cgroup/unified`). Every read is synchronous and
 * never throws: what cannot be read is undefined.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** A memory cgroup directory, and which interface it speaks. */
export interface MemoryCgroup {
  readonly version: 1 | 2;
  readonly dir: string;
}

interface Mount {
  readonly root: string;
  readonly mountPoint: string;
}

const read = (path: string): string | undefined => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
};

let mounts: { v2: Mount | undefined; v1: Mount | undefined } | undefined;

/** The cgroup2 mount and the v1 memory-controller mount of this mount namespace (read once). */
function cgroupMounts(): { v2: Mount | undefined; v1: Mount | undefined } {
  if (mounts !== undefined) return mounts;
  let v2: Mount | undefined;
  let v1: Mount | undefined;
  for (const line of (read('/proc/self/mountinfo') ?? '').split('\n')) {
    // id parent major:minor root mount-point options [optional…] - fstype source super-options
    const [before, after] = line.split(' - ');
    if (before === undefined || after === undefined) continue;
    const [, , , root, mountPoint] = before.split(' ');
    const [fsType, , superOptions = ''] = after.split(' ');
    if (root === undefined || mountPoint === undefined) continue;
    if (fsType === 'cgroup2') v2 ??= { root, mountPoint };
    if (fsType === 'cgroup' && superOptions.split(',').includes('memory'))
      v1 ??= { root, mountPoint };
  }
  mounts = { v2, v1 };
  return mounts;
}

/** `path` (a cgroup path as /proc/<pid>/cgroup gives it) under `mount`. */
const under = (mount: Mount, path: string) =>
  join(mount.mountPoint, mount.root === '/' ? path : path.slice(mount.root.length));

/** The memory cgroup of `pid` (this process by default), if the memory controller is there. */
export function memoryCgroup(pid: number | 'self' = 'self'): MemoryCgroup | undefined {
  const lines = (read(`/proc/${pid}/cgroup`) ?? '').split('\n');
  const { v2, v1 } = cgroupMounts();
  const unified = lines.find((l) => l.startsWith('0::'));
  if (v2 !== undefined && unified !== undefined) {
    const dir = under(v2, unified.slice(3).trim());
    if (read(join(dir, 'memory.events')) !== undefined) return { version: 2, dir };
  }
  // hierarchy-id:controllers:path, the controllers comma-separated
  const legacy = lines.find((l) => l.split(':')[1]?.split(',').includes('memory') === true);
  if (v1 !== undefined && legacy !== undefined) {
    const dir = under(v1, legacy.slice(legacy.indexOf(':', legacy.indexOf(':') + 1) + 1).trim());
    if (read(join(dir, 'memory.oom_control')) !== undefined) return { version: 1, dir };
  }
  return undefined;
}

/** How many processes of the cgroup the kernel's OOM killer has killed so far. */
export function oomKills(cgroup: MemoryCgroup | undefined): number | undefined {
  if (cgroup === undefined) return undefined;
  const file = cgroup.version === 2 ? 'memory.events' : 'memory.oom_control';
  const match = /^oom_kill (\d+)$/m.exec(read(join(cgroup.dir, file)) ?? '');
  return match === null ? undefined : Number(match[1]);
}

/** The cgroup's peak memory in bytes (v2 `memory.peak`, Linux 5.19+; v1 `max_usage_in_bytes`). */
export function peakBytes(cgroup: MemoryCgroup): number | undefined {
  const file = cgroup.version === 2 ? 'memory.peak' : 'memory.max_usage_in_bytes';
  const value = Number((read(join(cgroup.dir, file)) ?? '').trim());
  return Number.isSafeInteger(value) && value > 0 ? value : undefined;
}
