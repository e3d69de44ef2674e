/**
 * `supervise()`'s restart loop and its reports, in this process, on small real children (`node -e`,
 * `sh -c`): the report of each kind of exit, the crash loop, a failing sink, the reports of
 * children lost with an earlier supervisor, and `exitAs` / `superviseSelf` with stand-ins for
 * `process.exit` and `process.kill`.
 */
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, test, vi } from 'vitest';
import {
  exitAs,
  supervise,
  superviseSelf,
  type CrashReport,
  type ExitDiagnosis,
  type Sink,
  type SuperviseOptions,
} from '../src/index.js';

const work = mkdtempSync(join(tmpdir(), 'holdfast-supervise-loop-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
let dirs = 0;
const freshDir = () => join(work, `d${(dirs += 1)}`);

const memory = (send?: (r: CrashReport) => Promise<void>) => {
  const got: CrashReport[] = [];
  const sink: Sink = { name: 'memory', send: send ?? (async (r) => void got.push(r)) };
  return { sink, got };
};
/** A child script that exits with `codes[n]` on its n-th run (counted in a folder of its own). */
const exitsInTurn = (codes: readonly number[]) => {
  const counter = freshDir();
  mkdirSync(counter);
  return [
    "const { readdirSync, writeFileSync } = require('node:fs');",
    `const dir = ${JSON.stringify(counter)}; const n = readdirSync(dir).length; writeFileSync(dir + '/' + n, '');`,
    `process.exit(${JSON.stringify(codes)}[n]);`,
  ].join('\n');
};
const node = (
  script: string,
  over: Partial<SuperviseOptions> & { sink: Sink },
): SuperviseOptions => ({
  command: process.execPath,
  args: ['-e', script],
  service: 'agent',
  tee: false,
  ...over,
});

describe('the report of a crash', { timeout: 30_000 }, () => {
  test('an exit: the stack the child printed, its stderr as records, its pid, uptime and runtime', async () => {
    const { sink, got } = memory();
    let reads = 0;
    let printed = '';
    const result = await supervise(
      node("console.error('starting'); console.log(process.pid); throw new TypeError('boom')", {
        sink,
        metadata: () => ({ pod: `p-${(reads += 1)}` }),
        tee: {
          stdout: new Writable({
            write: (chunk: Buffer, _e, done) => ((printed += String(chunk)), done()),
          }),
        },
      }),
    );
    const d: ExitDiagnosis = result.diagnosis;
    expect(d).toMatchObject({ exitCode: 1, signal: null, signature: 'uncaught-exception' });
    expect(got).toHaveLength(1);
    const [r] = got as [CrashReport];
    expect(result).toMatchObject({ report: r, delivered: true, suppressed: 0 });
    expect(r).toMatchObject({
      service: 'agent',
      kind: 'exit',
      exitCode: 1,
      lastRecords: d.lastStderr,
      metadata: { pod: 'p-1' }, // read when the child has died (no spool: no marker to write)
      uptimeMs: d.uptimeMs,
      extra: { diagnosis: d, supervisor: true },
      runtime: { name: 'nodejs', version: process.versions.node },
      error: {
        type: 'uncaught-exception',
        message: 'child exited with code 1 (uncaught-exception)',
      },
    });
    expect(Object.keys(r)).not.toContain('signal');
    expect(r.pid).toBe(Number(printed));
    const stack = r.error!.stack.split('\n');
    expect(stack[0]).toBe('TypeError: boom');
    expect(stack.length).toBeGreaterThan(1);
    expect(stack.slice(1).every((line) => /^\s+at /.test(line))).toBe(true);
    expect(d.lastStderr).toContain('starting');
  });

  test('a death by signal: the signal, no exit code; a command that is not this Node has no runtime', async () => {
    const { sink, got } = memory();
    const result = await supervise({
      command: 'sh',
      args: ['-c', "echo 'working' >&2; echo '    at frame (x.js:1:1)' >&2; kill -USR2 $$"],
      service: 'agent',
      sink,
      tee: false,
    });
    expect(result.diagnosis).toMatchObject({
      exitCode: null,
      signal: 'SIGUSR2',
      signature: 'signal',
    });
    const [r] = got as [CrashReport];
    expect(r).toMatchObject({
      kind: 'signal',
      signal: 'SIGUSR2',
      error: {
        type: 'signal',
        message: 'child died of SIGUSR2 (signal)',
        // The frames and the line above them, as Node prints an error: here 'working'.
        stack: 'working\n    at frame (x.js:1:1)',
      },
    });
    expect(Object.keys(r)).not.toContain('exitCode');
    expect(Object.keys(r)).not.toContain('runtime');
  });

  test('no frame in stderr: no stack; frames from the first line: no line above them', async () => {
    const { sink, got } = memory();
    await supervise({
      command: 'sh',
      args: ['-c', "echo 'no stack' >&2; exit 3"],
      service: 'agent',
      sink,
      tee: false,
    });
    await supervise({
      command: 'sh',
      args: ['-c', "echo '  at a' >&2; echo '  at b' >&2; exit 4"],
      service: 'agent',
      sink,
      tee: false,
    });
    expect(got.map((r) => [r.exitCode, r.error?.stack])).toEqual([
      [3, ''],
      [4, '  at a\n  at b'],
    ]);
  });
});

describe('the restart loop', { timeout: 30_000 }, () => {
  test('a crash loop: the first crash in full, the rest counted, then one summary', async () => {
    const { sink, got } = memory();
    const result = await supervise(
      node("throw new Error('loop')", { sink, restart: { maxRestarts: 2, delay: 0 } }),
    );
    expect(result.diagnosis.restarts).toBe(2);
    expect(result.suppressed).toBe(2);
    expect(result.report).toBe(got[0]);
    expect(got).toHaveLength(2);
    expect(got[1]).toMatchObject({
      kind: 'exit',
      error: { message: `crash loop: 2 more crashes with fingerprint ${got[0]!.fingerprint}` },
      extra: {
        crashLoop: { fingerprint: got[0]!.fingerprint, suppressed: 2, restarts: 2 },
        supervisor: true,
      },
      runtime: { name: 'nodejs' },
    });
  });

  test('different crashes are each reported; a clean exit ends the loop', async () => {
    const { sink, got } = memory();
    const script = exitsInTurn([3, 4, 0]);
    const result = await supervise(node(script, { sink, restart: { maxRestarts: 5, delay: 0 } }));
    expect(result).toMatchObject({ report: undefined, delivered: true, suppressed: 0 });
    expect(result.diagnosis).toMatchObject({ exitCode: 0, signature: 'clean', restarts: 2 });
    expect(got.map((r) => r.exitCode)).toEqual([3, 4]);
  });

  test('crashes only counted before a clean exit are still reported, in one summary', async () => {
    const { sink, got } = memory();
    const script = exitsInTurn([3, 3, 3, 0]);
    const result = await supervise(node(script, { sink, restart: { maxRestarts: 5, delay: 0 } }));
    expect(result).toMatchObject({ report: undefined, suppressed: 2 });
    expect(result.diagnosis).toMatchObject({ signature: 'clean', restarts: 3 });
    expect(got).toHaveLength(2);
    expect(got[0]).toMatchObject({ exitCode: 3 });
    expect(got[1]).toMatchObject({
      error: { message: `crash loop: 2 more crashes with fingerprint ${got[0]!.fingerprint}` },
      extra: { crashLoop: { fingerprint: got[0]!.fingerprint, suppressed: 2, restarts: 3 } },
    });
  });

  test('a termination signal forwarded to the child ends the loop', async () => {
    const { sink, got } = memory();
    const before = process.listeners('SIGTERM');
    let onReady = () => {};
    const ready = new Promise<void>((resolve) => (onReady = resolve));
    const running = supervise(
      node("console.error('up'); setInterval(() => {}, 1000)", {
        sink,
        restart: { maxRestarts: 5, delay: 0 },
        tee: { stderr: new Writable({ write: (_c, _e, done) => (onReady(), done()) }) },
      }),
    );
    await ready;
    const forward = process.listeners('SIGTERM').filter((l) => !before.includes(l));
    expect(forward).toHaveLength(1);
    (forward[0] as (s: NodeJS.Signals) => void)('SIGTERM');
    const result = await running;
    expect(result.diagnosis).toMatchObject({ signal: 'SIGTERM', restarts: 0 });
    expect(got).toHaveLength(1);
  });

  test('a sink that fails or hangs: the report is spooled, delivered false; the supervisor goes on', async () => {
    for (const send of [
      () => Promise.reject(new Error('down')),
      () => new Promise<void>(() => {}),
    ]) {
      const spoolDir = freshDir();
      const result = await supervise(
        node('process.exit(7)', { sink: memory(send).sink, spoolDir, flushTimeout: 100 }),
      );
      expect(result).toMatchObject({ delivered: false, diagnosis: { exitCode: 7 } });
      const entries = readdirSync(spoolDir).filter((n) => n.endsWith('.json'));
      expect(entries).toHaveLength(1);
      const spooled = JSON.parse(readFileSync(join(spoolDir, entries[0]!), 'utf8')) as CrashReport;
      expect(spooled).toMatchObject({ id: result.report!.id, exitCode: 7 });
    }
    // Without a spool the report is lost, and the supervisor still resolves.
    const lost = await supervise(
      node('process.exit(7)', { sink: memory(() => Promise.reject(new Error('x'))).sink }),
    );
    expect(lost.delivered).toBe(false);
  });
});

describe('children lost with an earlier supervisor', { timeout: 30_000 }, () => {
  /** This process's start time in clock ticks (field 22 of /proc/self/stat). */
  const ownTicks = () => {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!;
  };

  test('become reports at the next start: died with it, or still running unsupervised', async () => {
    const spoolDir = freshDir();
    const running = join(spoolDir, 'running');
    mkdirSync(running, { recursive: true });
    const startedAt = Date.UTC(2026, 0, 1, 12, 0, 0);
    const lastSeen = new Date(startedAt + 90_000);
    const facts = (childPid: number, childStartTicks?: string) => ({
      service: 'earlier',
      metadata: { pod: 'p-0' },
      supervisorPid: 4_000_001, // above any pid: that supervisor is gone
      childPid,
      startedAt,
      restarts: 2,
      command: 'node agent.js',
      ...(childStartTicks === undefined ? {} : { childStartTicks }),
    });
    const write = (name: string, body: unknown) => {
      writeFileSync(join(running, name), JSON.stringify(body));
      utimesSync(join(running, name), lastSeen, lastSeen);
    };
    write('4000001-1-4000002.json', facts(4_000_002));
    write('4000001-1-' + process.pid + '.json', facts(process.pid, ownTicks()));
    const { sink, got } = memory();
    await supervise(node('process.exit(0)', { sink, spoolDir }));
    expect(got).toHaveLength(2);
    const byPid = new Map(got.map((r) => [r.pid, r]));
    const dead = byPid.get(4_000_002)!;
    const alive = byPid.get(process.pid)!;
    const diagnosis = {
      exitCode: null,
      signal: null,
      signature: 'lost',
      uptimeMs: 90_000,
      restarts: 2,
      lastStderr: [],
    };
    expect(dead).toMatchObject({
      service: 'earlier',
      kind: 'exit',
      metadata: { pod: 'p-0' },
      uptimeMs: 90_000,
      extra: { diagnosis, supervisor: true, childRunning: false },
      error: {
        type: 'lost',
        stack: '',
        message:
          'child 4000002 (node agent.js) died with its supervisor (pid 4000001), so no exit was seen: ' +
          'both were killed at once (a SIGKILL of the process group, a cgroup OOM kill of the group, ' +
          `a lost node); last seen alive at ${lastSeen.toISOString()}`,
      },
    });
    expect(Object.keys(dead)).not.toContain('runtime');
    expect(alive).toMatchObject({
      extra: { childRunning: true },
      error: {
        message:
          `the supervisor (pid 4000001) of child ${process.pid} (node agent.js) died without seeing an exit, ` +
          'and the child still runs, unsupervised: its exit will not be reported (the supervisor alone ' +
          `was killed); marker last touched at ${lastSeen.toISOString()}`,
      },
    });
    expect(readdirSync(running)).toEqual([]);
  });
});

describe('exitAs', () => {
  class Exited extends Error {}
  const standIns = () => {
    const exit = vi.spyOn(process, 'exit').mockImplementation((code) => {
      throw new Exited(String(code));
    });
    const kill = vi.spyOn(process, 'kill').mockImplementation(() => true);
    return { exit, kill };
  };

  test('exits with the code; with 1 when there is none; re-raises a signal without its listeners', () => {
    const { exit, kill } = standIns();
    expect(() => exitAs({ exitCode: 3, signal: null })).toThrow(new Exited('3'));
    expect(() => exitAs({ exitCode: null, signal: null })).toThrow(new Exited('1'));
    expect(exit.mock.calls).toEqual([[3], [1]]);
    const own = () => undefined;
    process.on('SIGWINCH', own);
    exitAs({ exitCode: null, signal: 'SIGWINCH' });
    expect(process.listenerCount('SIGWINCH')).toBe(0);
    expect(kill.mock.calls).toEqual([[process.pid, 'SIGWINCH']]);
  });
});

describe('superviseSelf', () => {
  test('in the marked child it returns at once; its options are checked there too', async () => {
    const sink = memory().sink;
    vi.stubEnv('HOLDFAST_SUPERVISED', '1');
    vi.stubEnv('MY_MARK', '1');
    await expect(superviseSelf({ service: 'agent', sink })).resolves.toBeUndefined();
    await expect(
      superviseSelf({ service: 'agent', sink, marker: 'MY_MARK' }),
    ).resolves.toBeUndefined();
    await expect(superviseSelf({ service: '', sink })).rejects.toThrow(TypeError);
    await expect(superviseSelf({ service: 'agent', sink, marker: '1-bad' })).rejects.toThrow(
      'marker: expected the name of an environment variable',
    );
    vi.unstubAllEnvs();
  });
});
