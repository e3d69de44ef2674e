import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { isReaperError, run, shellExitCode } from '../src/index.js';
import { liveProcessesInGroup, misbehavingCommand } from '../src/testing.js';
import { fileExists, fixture, runToEnd, TSX, waitUntil } from './support.js';

const work = mkdtempSync(join(tmpdir(), 'holdfast-run-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('run: results', () => {
  test.each([0, 1, 2, 42, 127, 128, 200, 255])(
    'exit code %i is reported exactly, as a result',
    async (code) => {
      const r = await run('sh', ['-c', `exit ${code}`]);
      expect(r).toMatchObject({ exitCode: code, signal: null, timedOut: false, escalated: false });
      expect(shellExitCode(r)).toBe(code);
    },
  );

  test.each([
    ['SIGTERM', 143],
    ['SIGKILL', 137],
    ['SIGINT', 130],
    ['SIGSEGV', 139],
  ] as const)('death by %s is reported as the signal (shell status %i)', async (signal, status) => {
    const r = await run('sh', ['-c', `kill -${signal.slice(3)} $$`]);
    expect(r).toMatchObject({ exitCode: null, signal });
    expect(shellExitCode(r)).toBe(status);
  });

  test('stdout, stderr and input', async () => {
    const r = await run('sh', ['-c', 'cat; echo oops >&2'], { input: 'hello' });
    expect(r.stdout).toBe('hello');
    expect(r.stderr).toBe('oops\n');
    expect(r.pid).toBeGreaterThan(0);
  });

  test('output is capped per stream and marked truncated', async () => {
    const r = await run('sh', ['-c', 'head -c 100000 /dev/zero'], { maxOutput: 1_000 });
    expect(r.stdout.length).toBe(1_000);
    expect(r.truncated).toBe(true);
  });
});

describe('run: deadlines hold for the whole group', () => {
  test('at the deadline the group gets killSignal; a well-behaved child needs no SIGKILL', async () => {
    const r = await run('sh', ['-c', 'sleep 30 & sleep 30'], { timeout: 50 });
    expect(r).toMatchObject({
      timedOut: true,
      escalated: false,
      exitCode: null,
      signal: 'SIGTERM',
    });
    // Signalled together with the leader; it may take a moment longer to be gone.
    await waitUntil('the whole group to be gone', () => liveProcessesInGroup(r.pid).length === 0);
  });

  test('the misbehaving fixtures of the testing kit are contained too', async () => {
    const [command, args] = misbehavingCommand('pipe-holding-grandchild');
    const r = await run(command, args, { timeout: 50 });
    expect(r.timedOut).toBe(true);
    // Signalled together with the leader; it may take a moment longer to be gone.
    await waitUntil('the whole group to be gone', () => liveProcessesInGroup(r.pid).length === 0);
  });

  test('a child that ignores SIGTERM is killed by SIGKILL after the grace (escalated)', async () => {
    const ready = join(work, 'trap-ready');
    const controller = new AbortController();
    const result = run('sh', ['-c', `trap '' TERM; touch ${ready}; sleep 30`], {
      signal: controller.signal,
      killGrace: 100,
    });
    await waitUntil('the trap to be set', () => fileExists(ready));
    controller.abort();
    const r = await result;
    expect(r).toMatchObject({ cancelled: true, escalated: true, signal: 'SIGKILL' });
    // Signalled together with the leader; it may take a moment longer to be gone.
    await waitUntil('the whole group to be gone', () => liveProcessesInGroup(r.pid).length === 0);
  });

  test('killGrace: false never escalates', async () => {
    const ready = join(work, 'trap-ready-2');
    const controller = new AbortController();
    const result = run(
      'sh',
      ['-c', `trap 'exit 9' TERM; touch ${ready}; while :; do sleep 0.01; done`],
      {
        signal: controller.signal,
        killGrace: false,
      },
    );
    await waitUntil('the trap to be set', () => fileExists(ready));
    controller.abort();
    const r = await result;
    expect(r).toMatchObject({ cancelled: true, escalated: false, exitCode: 9 });
  });

  test('a grandchild holding stdout does not hold the result, and is terminated with the group', async () => {
    const r = await run('sh', ['-c', 'sleep 30 & echo ready']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe('ready\n');
    await waitUntil('the group to be gone', () => liveProcessesInGroup(r.pid).length === 0);
  });

  test('with killGroupOnExit: false the grandchild keeps running, and the result still arrives', async () => {
    const r = await run('sh', ['-c', 'sleep 30 & echo ready'], { killGroupOnExit: false });
    expect(r.stdout).toBe('ready\n');
    const left = liveProcessesInGroup(r.pid);
    expect(left.length).toBe(1); // the sleep, still holding the pipe we stopped waiting for
    process.kill(-r.pid, 'SIGKILL');
  });
});

describe('run: commands that cannot start', () => {
  test('ENOENT for a missing binary', async () => {
    const error = await run('/nonexistent/holdfast-binary').catch((e: unknown) => e);
    expect(isReaperError(error) && error.code).toBe('ENOENT');
  });

  test('EACCES for a file that is not executable', async () => {
    const file = join(work, 'not-executable.sh');
    writeFileSync(file, '#!/bin/sh\nexit 0\n');
    chmodSync(file, 0o644);
    const error = await run(file).catch((e: unknown) => e);
    expect(isReaperError(error) && error.code).toBe('EACCES');
  });

  test('bad options are TypeErrors naming the option (rejected, never thrown)', async () => {
    await expect(run('true', [], { timeout: -1 })).rejects.toThrow(
      /timeout: expected a duration in milliseconds/,
    );
    await expect(run('true', [], { killSignal: 'SIGNOPE' as NodeJS.Signals })).rejects.toThrow(
      /killSignal: expected/,
    );
    await expect(run('', [])).rejects.toThrow(/command: expected a non-empty string/);
  });

  test('an environment too large for the system (E2BIG) is a ReaperError', async () => {
    const error = await run('true', [], { env: { HUGE: 'x'.repeat(4_000_000) } }).catch(
      (e: unknown) => e,
    );
    expect(isReaperError(error) && error.code).toBe('E2BIG');
    expect((error as Error).message).toMatch(/too large/);
  });

  test.each([
    ['does not exist', '/nonexistent/holdfast-dir'],
    ['is a file', '/etc/hostname'],
  ])('a cwd that %s is reported as a bad cwd, not as a missing command', async (_, cwd) => {
    const error = await run('true', [], { cwd }).catch((e: unknown) => e);
    expect(isReaperError(error) && error.code).toBe('BAD_CWD');
    expect((error as Error).message).toContain(`the working directory \`${cwd}\``);
    expect((error as Error).message).not.toMatch(/spawn true/);
  });
});

describe('run: durations of any length', () => {
  const overflowWarnings: string[] = [];
  const onWarning = (w: Error) => {
    if (w.name === 'TimeoutOverflowWarning') overflowWarnings.push(w.message);
  };
  beforeAll(() => process.on('warning', onWarning));
  afterAll(() => process.off('warning', onWarning));

  test('a child under a 30-day (or 2^31 ms) timeout is not killed: it exits by itself', async () => {
    for (const timeout of [2 ** 31, 30 * 24 * 3_600_000]) {
      const r = await run('sh', ['-c', 'sleep 0.05; exit 7'], { timeout });
      expect(r).toMatchObject({ exitCode: 7, timedOut: false, escalated: false });
    }
    expect(overflowWarnings).toEqual([]);
  });

  test('a killGrace of 2^31 ms does not escalate at once', async () => {
    const pidFile = join(work, 'long-grace.pid');
    const termFile = join(work, 'long-grace.term');
    const result = run(
      'sh',
      ['-c', `trap 'touch ${termFile}' TERM; echo $$ > ${pidFile}; while :; do sleep 0.01; done`],
      { timeout: 20, killGrace: 2 ** 31 },
    );
    await waitUntil('the SIGTERM of the deadline', () => fileExists(termFile));
    // A clamped grace timer fires 1 ms after the SIGTERM; give it 100 ms to show itself.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const pid = Number(readFileSync(pidFile, 'utf8'));
    expect(liveProcessesInGroup(pid)).toContain(pid);
    process.kill(-pid, 'SIGKILL');
    const r = await result;
    expect(r).toMatchObject({ timedOut: true, escalated: false, signal: 'SIGKILL' });
    expect(overflowWarnings).toEqual([]);
  });
});

describe('run: the deadline bounds the promise', () => {
  /** The bound stated by the docs: the promise settles within timeout + killGrace + drain. */
  const DRAIN_MS = 100;

  test.each([
    ['a grandchild holding the pipe', 'sleep 30 & echo ready; sleep 30'],
    ['a child that ignores SIGTERM', `trap '' TERM; sleep 30 & sleep 30`],
  ])('%s: settles within timeout + killGrace + drain', async (_, script) => {
    const timeout = 100;
    const killGrace = 200;
    const started = performance.now();
    const r = await run('sh', ['-c', script], { timeout, killGrace });
    const elapsed = performance.now() - started;
    expect(r.timedOut).toBe(true);
    // The bound plus scheduling slack on a loaded 2-core machine (a hang would be seconds).
    expect(elapsed).toBeLessThan(timeout + killGrace + DRAIN_MS + 1_000);
    await waitUntil('the group to be gone', () => liveProcessesInGroup(r.pid).length === 0);
  });
});

describe('run: nothing outlives the process', () => {
  test('on exit, the tracked process groups are killed', async () => {
    const exited = await runToEnd(process.execPath, [...TSX, fixture('exit-with-children.ts')]);
    const pgid = Number(exited.stdout);
    expect(pgid).toBeGreaterThan(1);
    await waitUntil('the group to be gone', () => liveProcessesInGroup(pgid).length === 0);
  }, 30_000);
});

describe('the environment', () => {
  const printEnv = [
    '-e',
    'process.stdout.write(JSON.stringify({ foo: process.env.FOO, gone: process.env.HOLDFAST_GONE, path: process.env.PATH !== undefined }))',
  ];

  test('env extends process.env: a variable is added, PATH is kept, undefined removes one', async () => {
    process.env.HOLDFAST_GONE = 'inherited';
    try {
      const result = await run(process.execPath, printEnv, {
        env: { FOO: '1', HOLDFAST_GONE: undefined },
      });
      expect(JSON.parse(result.stdout)).toEqual({ foo: '1', path: true });
      const inherited = await run(process.execPath, printEnv, { env: { FOO: '2' } });
      expect(JSON.parse(inherited.stdout)).toEqual({ foo: '2', gone: 'inherited', path: true });
    } finally {
      delete process.env.HOLDFAST_GONE;
    }
  });

  test('extendEnv: false makes env the whole environment', async () => {
    const result = await run(process.execPath, printEnv, { env: { FOO: '3' }, extendEnv: false });
    expect(JSON.parse(result.stdout)).toEqual({ foo: '3', path: false });
    await expect(run('true', [], { extendEnv: 'no' as never })).rejects.toThrow(/extendEnv/);
  });
});
