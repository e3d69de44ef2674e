// run()'s edges, each in a real process: the output cap at its boundary, a signal aborted before
// the call, a custom killSignal, the working directory, binary input, and the tracked-group
// bookkeeping after every way a run ends (a group left tracked would be signalled later).
import { performance } from 'node:perf_hooks';
import { describe, expect, test } from 'vitest';
import { trackedGroups } from '../src/internal/process-groups.js';
import { run } from '../src/index.js';
import { liveProcessesInGroup } from '../src/testing.js';
import { waitUntil } from './support.js';

describe('run: the output cap at its boundary', () => {
  test.each([
    ['exactly maxOutput bytes: kept whole, not truncated', 'printf hello', 5, 'hello', false],
    ['one byte more: cut at maxOutput, truncated', 'printf hello!', 5, 'hello', true],
    ['maxOutput 0 and no output: nothing to drop, not truncated', 'true', 0, '', false],
    ['maxOutput 0 and some output: all dropped, truncated', 'printf x', 0, '', true],
    ['over two writes: the second is cut', 'printf abc; sleep 0.05; printf def', 4, 'abcd', true],
  ] as const)('%s', async (_, script, maxOutput, stdout, truncated) => {
    const r = await run('sh', ['-c', script], { maxOutput });
    expect({ stdout: r.stdout, truncated: r.truncated }).toEqual({ stdout, truncated });
  });

  test('the cap is per stream: stderr keeps its own maxOutput bytes', async () => {
    const r = await run('sh', ['-c', 'printf 1234; printf abcd >&2'], { maxOutput: 4 });
    expect(r).toMatchObject({ stdout: '1234', stderr: 'abcd', truncated: false });
  });
});

describe('run: signals and stops', () => {
  test('a signal aborted before the call stops the child at once (cancelled, not timed out)', async () => {
    const controller = new AbortController();
    controller.abort();
    const r = await run('sleep', ['30'], { signal: controller.signal });
    expect(r).toMatchObject({
      cancelled: true,
      timedOut: false,
      exitCode: null,
      signal: 'SIGTERM',
    });
  });

  test('an abort after the exit changes nothing', async () => {
    const controller = new AbortController();
    const r = await run('true', [], { signal: controller.signal });
    controller.abort();
    expect(r).toMatchObject({ cancelled: false, exitCode: 0 });
  });

  test('killSignal is the signal sent at the deadline', async () => {
    const r = await run('sleep', ['30'], { timeout: 20, killSignal: 'SIGINT' });
    expect(r).toMatchObject({ timedOut: true, signal: 'SIGINT', escalated: false });
  });

  test('a run that exits by itself is neither timed out nor cancelled, and counts its duration', async () => {
    const started = performance.now();
    const r = await run('sleep', ['0.05'], { timeout: 60_000 });
    const elapsed = performance.now() - started;
    expect(r).toMatchObject({ exitCode: 0, timedOut: false, cancelled: false, escalated: false });
    expect(r.durationMs).toBeGreaterThanOrEqual(50);
    expect(r.durationMs).toBeLessThanOrEqual(elapsed);
  });
});

describe('run: where and what the child gets', () => {
  test('cwd is the working directory of the child', async () => {
    const r = await run('pwd', [], { cwd: '/tmp' });
    expect(r.stdout).toBe('/tmp\n');
  });

  test('input may be bytes (a Uint8Array), written whole, then stdin closes', async () => {
    const r = await run('wc', ['-c'], { input: new Uint8Array([0, 1, 2, 255]) });
    expect(r.stdout.trim()).toBe('4');
  });

  test('a child that never reads its input still has its result', async () => {
    const r = await run('true', [], { input: 'x'.repeat(1 << 20) });
    expect(r.exitCode).toBe(0);
  });
});

describe('run: no group stays tracked once its run is over', () => {
  test.each([
    ['an exit', 'true', {}],
    ['a deadline', 'sleep 30', { timeout: 20 }],
    ['a grandchild left behind', 'sleep 30 & echo ready', { killGrace: 100 }],
  ] as const)('after %s', async (_, script, options) => {
    const before = trackedGroups();
    const r = await run('sh', ['-c', script], options);
    await waitUntil('the group to be gone', () => liveProcessesInGroup(r.pid).length === 0);
    // An escalation timer may still be pending for the group's stragglers: it untracks then.
    await waitUntil('the group to be untracked', () => trackedGroups() === before);
  });

  test('after an escalation before the exit was seen (it stayed tracked forever: its id, once reused, would be signalled at our exit)', async () => {
    const before = trackedGroups();
    const r = await run('sh', ['-c', "trap '' TERM; sleep 30 & sleep 30"], {
      timeout: 20,
      killGrace: 50,
    });
    expect(r.escalated).toBe(true);
    await waitUntil('the group to be untracked', () => trackedGroups() === before);
  });
});
