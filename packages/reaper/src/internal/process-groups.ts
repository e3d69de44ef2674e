/**
 * The process groups this package created and still tracks, shared by every copy of the package
 * in the thread (a `Symbol.for` singleton), so that "kill tracked groups when the agent dies"
 * covers all.
 *
 * Invariant: a group id is in the set only while its group may still have members, and the
 * watchdog's list is the same set. Signals go only to tracked groups, never to a bare pid, so a
 * reused pid is never signalled.
 *
 * How the groups die with the agent: the `'exit'` event (process.exit(), the end of the event
 * loop, an uncaught exception, an unhandled rejection) kills them synchronously; every other death
 * (a signal with no handler, SIGKILL, abort) is seen by the watchdog (./watchdog.ts). No signal
 * handler is installed, so how the agent dies is never changed.
 */
import { Watchdog } from './watchdog.js';

const KEY = Symbol.for('holdfast.reaper.groups');

interface Registry {
  readonly groups: Set<number>;
  readonly watchdog: Watchdog;
  exitHookInstalled: boolean;
}

function registry(): Registry {
  const store = globalThis as Record<symbol, Registry | undefined>;
  store[KEY] ??= { groups: new Set(), watchdog: new Watchdog(), exitHookInstalled: false };
  return store[KEY];
}

/** Call before spawning a child whose group will be tracked: the watchdog runs from then on. */
export function prepareToTrack(): void {
  const r = registry();
  r.watchdog.ensureRunning(r.groups);
}

export function trackGroup(pgid: number): void {
  const r = registry();
  r.groups.add(pgid);
  r.watchdog.track(pgid);
  if (!r.exitHookInstalled) {
    r.exitHookInstalled = true;
    // Whatever way the process exits, nothing it started outlives it.
    process.once('exit', () => {
      for (const group of r.groups) signalGroup(group, 'SIGKILL');
    });
  }
}

function forget(r: Registry, pgid: number): void {
  if (r.groups.delete(pgid)) r.watchdog.untrack(pgid);
}

export function untrackGroup(pgid: number): void {
  forget(registry(), pgid);
}

/** The watchdog's pid, if one runs in this thread (the testing kit leaves it out). */
export function watchdogPid(): number | undefined {
  return registry().watchdog.pid;
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
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') forget(r, pgid);
    return false;
  }
}
