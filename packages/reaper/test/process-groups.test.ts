// The registry of tracked process groups (internal/process-groups.ts), in real processes: what
// a tracked group receives, what an untracked or emptied one no longer does, and who ends a
// group when the agent dies (the exit hook; the watchdog, for tracked groups only).
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, test } from 'vitest';
import {
  signalGroup,
  trackedGroups,
  trackGroup,
  untrackGroup,
} from '../src/internal/process-groups.js';
import { fixture, runToEnd, TSX } from './support.js';

/** `R`, `S`, `Z`…, or `gone`: a process's state from /proc. */
function state(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0]!;
  } catch {
    return 'gone';
  }
}
const alive = (pid: number) => !['Z', 'X', 'gone'].includes(state(pid));

/** Waits (bounded by the test's timeout) until `pid` no longer runs. */
async function ended(pid: number): Promise<void> {
  while (alive(pid)) await new Promise((resolve) => setTimeout(resolve, 10));
}

const started: number[] = [];
afterEach(() => {
  for (const pid of started.splice(0)) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

function sleeperGroup(): ChildProcess & { pid: number } {
  const child = spawn('sleep', ['60'], { detached: true, stdio: 'ignore' });
  started.push(child.pid!);
  return child as ChildProcess & { pid: number };
}

describe('tracked groups, in this process', () => {
  test('a tracked group is signalled; untracked, it is counted out and never signalled again', async () => {
    const before = trackedGroups();
    const child = sleeperGroup();
    trackGroup(child.pid);
    expect(trackedGroups()).toBe(before + 1);
    expect(signalGroup(child.pid, 0)).toBe(true);
    untrackGroup(child.pid);
    expect(trackedGroups()).toBe(before);
    expect(signalGroup(child.pid, 'SIGKILL')).toBe(false);
    expect(alive(child.pid)).toBe(true);
    untrackGroup(child.pid); // twice is harmless
    expect(trackedGroups()).toBe(before);
  });

  test('a group never tracked is not signalled', () => {
    const child = sleeperGroup();
    expect(signalGroup(child.pid, 'SIGKILL')).toBe(false);
    expect(alive(child.pid)).toBe(true);
  });

  test('a tracked group found empty (ESRCH) is forgotten: its id may be reused', async () => {
    const before = trackedGroups();
    const child = sleeperGroup();
    trackGroup(child.pid);
    const exited = new Promise((resolve) => child.once('exit', resolve));
    expect(signalGroup(child.pid, 'SIGKILL')).toBe(true);
    await exited; // reaped by this process: the group is empty now
    expect(trackedGroups()).toBe(before + 1);
    expect(signalGroup(child.pid, 0)).toBe(false);
    expect(trackedGroups()).toBe(before);
  });
});

describe('when the agent dies', () => {
  const agent = (mode: string) =>
    runToEnd(process.execPath, [...TSX, fixture('groups-agent.ts'), mode]);

  test('process.exit(): the exit hook kills every tracked group (no watchdog here)', async () => {
    const { stdout, code } = await agent('exit-hook');
    const [group, watchdog] = stdout.trim().split(' ');
    started.push(Number(group));
    expect(code).toBe(0);
    expect(watchdog).toBe('-');
    // The hook's SIGKILL was sent before the agent exited; under load its delivery may trail the
    // agent's exit by a moment. Without the hook the sleeper lives 60 s: the test times out.
    await ended(Number(group));
  });

  test('SIGKILL: the watchdog kills only what is still tracked, not a group untracked before', async () => {
    const { stdout, signal } = await agent('untracked');
    const [group, watchdog] = stdout.trim().split(' ').map(Number) as [number, number];
    started.push(group);
    expect(signal).toBe('SIGKILL');
    await ended(watchdog); // it saw the agent die and did its work
    expect(alive(group)).toBe(true);
  });
});
