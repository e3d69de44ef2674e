/**
 * The process groups this package created and still tracks, shared by every copy of the package
 * in the process (a `Symbol.for` singleton), so that "kill tracked groups on exit" covers all.
 *
 * Invariant: a group id is in the set only while its group may still have members. Signals go
 * only to tracked groups, never to a bare pid, so a reused pid is never signalled.
 */
const KEY = Symbol.for('holdfast.reaper.groups');

interface Registry {
  readonly groups: Set<number>;
  exitHookInstalled: boolean;
}

function registry(): Registry {
  const store = globalThis as Record<symbol, Registry | undefined>;
  store[KEY] ??= { groups: new Set(), exitHookInstalled: false };
  return store[KEY];
}

export function trackGroup(pgid: number): void {
  const r = registry();
  r.groups.add(pgid);
  if (!r.exitHookInstalled) {
    r.exitHookInstalled = true;
    // Whatever way the process exits, nothing it started outlives it.
    process.once('exit', () => {
      for (const group of r.groups) signalGroup(group, 'SIGKILL');
    });
  }
}

export function untrackGroup(pgid: number): void {
  registry().groups.delete(pgid);
}

export function trackedGroups(): number {
  return registry().groups.size;
}

/**
 * Sends `signal` (0: only checks) to every process of a tracked group. Returns false when the group is empty
 * (ESRCH), and then stops tracking it: its id may be reused from now on.
 */
export function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  const r = registry();
  if (!r.groups.has(pgid)) return false;
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') r.groups.delete(pgid);
    return false;
  }
}
