/**
 * The supervisor in real processes: deaths no in-process hook can see are reported with an exit
 * diagnosis, and `holdfast-supervise` exits exactly as the child did.
 */
import { spawn } from 'node:child_process';
import { getEventListeners } from 'node:events';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { supervise, type CrashReport, type ExitDiagnosis, type Sink } from '../src/index.js';
import { startCaptureServer, type CaptureServer } from '../src/testing.js';

const child = fileURLToPath(new URL('./fixtures/dying-child.mjs', import.meta.url));
const cli = fileURLToPath(new URL('../src/cli/supervise.ts', import.meta.url));
const memory = () => {
  const got: CrashReport[] = [];
  const sink: Sink = { name: 'memory', send: async (r) => void got.push(r) };
  return { sink, got };
};

describe('supervise()', () => {
  test.each([
    ['heap', ['--max-old-space-size=32'], 'heap-out-of-memory'],
    ['abort', [], 'abort'],
    ['segv', [], 'segfault'],
    ['kill', [], 'killed'],
    ['throw', [], 'uncaught-exception'],
  ] as const)(
    '%s: reported with its exit diagnosis',
    async (how, nodeFlags, signature) => {
      const { sink, got } = memory();
      const result = await supervise({
        command: process.execPath,
        args: [...nodeFlags, child, how],
        service: 'agent',
        sink,
        metadata: { node: 'n1' },
      });
      const d: ExitDiagnosis = result.diagnosis;
      expect(d.signature).toBe(signature);
      expect(result.delivered).toBe(true);
      expect(got).toHaveLength(1);
      expect(got[0]).toMatchObject({
        service: 'agent',
        metadata: { node: 'n1' },
        extra: { supervisor: true },
      });
      expect(d.lastStderr.join('\n')).toMatch(/starting/);
      expect(d.uptimeMs).toBeGreaterThan(0);
      // The child shares the supervisor's cgroup here, so its own peak comes from /proc.
      expect(d.peakMemorySource).toBe('proc-vmhwm');
      expect(d.peakMemoryBytes).toBeGreaterThan(0);
      if (how === 'heap') expect(d.lastStderr.join('\n')).toMatch(/heap out of memory/);
    },
    60_000,
  );

  test('a child that floods stderr without newlines: every byte is teed, the tail stays bounded', async () => {
    const { sink, got } = memory();
    let teed = 0;
    const result = await supervise({
      command: process.execPath,
      args: [
        '-e',
        "process.stderr.write('x'.repeat(8 << 20)); process.stderr.write('\\nlast words\\n'); process.exitCode = 5;",
      ],
      service: 'agent',
      sink,
      tailLines: 3,
      tee: {
        stderr: new Writable({
          write: (chunk: Buffer, _encoding, done) => {
            teed += chunk.length;
            done();
          },
        }),
      },
    });
    expect(teed).toBe((8 << 20) + '\nlast words\n'.length);
    // 3 lines' worth of bytes were kept; the line they cut into is left out, not half-reported.
    expect(result.diagnosis).toMatchObject({ exitCode: 5, lastStderr: ['last words'] });
    expect(got).toHaveLength(1);
  }, 30_000);

  test('an abort kills the running child, sends nothing and rejects with the reason', async () => {
    const { sink, got } = memory();
    const stop = new AbortController();
    const reason = new Error('shutting down');
    const running = supervise({
      command: process.execPath,
      args: [child, 'hang'],
      service: 'agent',
      sink,
      signal: stop.signal,
      // Aborts once the child is up: its first line has arrived.
      tee: {
        stderr: new Writable({
          write: (_chunk, _encoding, done) => {
            stop.abort(reason);
            done();
          },
        }),
      },
    });
    await expect(running).rejects.toBe(reason);
    expect(got).toEqual([]);
    expect(getEventListeners(stop.signal, 'abort')).toHaveLength(0);
  }, 30_000);

  test('an abort between restarts ends the loop; an aborted signal starts nothing', async () => {
    const stop = new AbortController();
    const reason = new Error('enough');
    const got: CrashReport[] = [];
    const sink: Sink = {
      name: 'aborting',
      send: async (r) => {
        got.push(r);
        stop.abort(reason);
      },
    };
    await expect(
      supervise({
        command: process.execPath,
        args: [child, 'throw'],
        service: 'agent',
        sink,
        tee: false,
        restart: { maxRestarts: 5, delay: 60_000 },
        signal: stop.signal,
      }),
    ).rejects.toBe(reason);
    expect(got).toHaveLength(1);
    expect(getEventListeners(stop.signal, 'abort')).toHaveLength(0);
    await expect(
      supervise({ command: 'does-not-exist', service: 'agent', sink, signal: stop.signal }),
    ).rejects.toBe(reason);
  }, 30_000);

  test('a metadata function that throws costs only itself: the crash is reported without it', async () => {
    const { sink, got } = memory();
    const result = await supervise({
      command: process.execPath,
      args: [child, 'exit3'],
      service: 'agent',
      sink,
      tee: false,
      metadata: () => {
        throw Object.create(null);
      },
    });
    expect(result.diagnosis.exitCode).toBe(3);
    expect(got).toHaveLength(1);
    expect(got[0]!.metadata).toEqual({});
  }, 30_000);

  test('a clean exit sends nothing', async () => {
    const { sink, got } = memory();
    const result = await supervise({
      command: process.execPath,
      args: [child, 'clean'],
      service: 'agent',
      sink,
    });
    expect(result.diagnosis.signature).toBe('clean');
    expect(got).toEqual([]);
  }, 30_000);
});

describe('holdfast-supervise', () => {
  let server: CaptureServer;
  beforeAll(async () => {
    server = await startCaptureServer();
  });
  afterAll(async () => {
    await server.close();
  });
  const end = (command: string, args: string[]) =>
    new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      spawn(command, args, { stdio: 'ignore' }).on('close', (code, signal) =>
        resolve({ code, signal }),
      ),
    );

  test.each(['abort', 'segv', 'kill', 'throw'])(
    '%s: exits exactly as the bare child does, and the report arrives',
    async (how) => {
      const bare = await end(process.execPath, [child, how]);
      const before = server.requests.length;
      const supervised = await end(process.execPath, [
        '--import',
        'tsx',
        cli,
        '--service',
        'agent',
        '--otlp',
        `${server.url}/v1/logs`,
        '--',
        process.execPath,
        child,
        how,
      ]);
      expect(supervised).toEqual(bare);
      expect(server.requests.length).toBe(before + 1);
    },
    60_000,
  );
});

describe('superviseSelf()', () => {
  let server: CaptureServer;
  beforeAll(async () => {
    server = await startCaptureServer();
  });
  afterAll(async () => {
    await server.close();
  });

  test('re-executes the agent under a supervisor that reports its abort and dies the same way', async () => {
    const fixture = fileURLToPath(new URL('./fixtures/self-supervised.ts', import.meta.url));
    const ended = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(
      (resolve) =>
        spawn(process.execPath, ['--import', 'tsx', fixture], {
          env: { ...process.env, SINK_URL: `${server.url}/v1/logs` },
          stdio: 'ignore',
        }).on('close', (code, signal) => resolve({ code, signal })),
    );
    expect(ended).toEqual({ code: null, signal: 'SIGABRT' });
    const [request] = await server.waitFor(1);
    expect(JSON.stringify(request!.body)).toContain('(abort)');
  }, 30_000);
});

describe('the supervisor acts on its child, not on what the child left behind', () => {
  test("a grandchild holding the child's stdio: the report comes at the child's exit, with its true uptime", async () => {
    const { sink, got } = memory();
    const result = await supervise({
      command: process.execPath,
      args: [fileURLToPath(new URL('./fixtures/leaves-grandchild.mjs', import.meta.url))],
      service: 'agent',
      sink,
      tee: false,
    });
    const grandchild = Number(/grandchild (\d+)/.exec(result.diagnosis.lastStderr.join('\n'))?.[1]);
    // The grandchild (sleep 20) is still alive: the supervisor did not wait for it.
    expect(() => process.kill(grandchild, 0)).not.toThrow();
    process.kill(grandchild, 'SIGKILL');
    expect(result.diagnosis.signature).toBe('uncaught-exception');
    expect(result.diagnosis.uptimeMs).toBeLessThan(20_000);
    expect(got).toHaveLength(1);
    expect(got[0]!.uptimeMs).toBe(result.diagnosis.uptimeMs); // the child's, not the supervisor's
  }, 60_000);

  test.each(['exit3', 'segv'])(
    'a spool that cannot be written never changes the exit status (%s)',
    async (how) => {
      const bare = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(
        (resolve) =>
          spawn(process.execPath, [child, how], { stdio: 'ignore' }).on('close', (code, signal) =>
            resolve({ code, signal }),
          ),
      );
      const notAFolder = fileURLToPath(new URL('./fixtures/dying-child.mjs', import.meta.url));
      const supervised = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(
        (resolve) =>
          spawn(
            process.execPath,
            [
              '--import',
              'tsx',
              cli,
              '--service',
              'agent',
              '--otlp',
              'http://127.0.0.1:9/v1/logs',
              '--spool',
              `${notAFolder}/spool`,
              '--',
              process.execPath,
              child,
              how,
            ],
            { stdio: 'ignore' },
          ).on('close', (code, signal) => resolve({ code, signal })),
      );
      expect(supervised).toEqual(bare);
    },
    60_000,
  );
});

describe('holdfast-supervise usage', () => {
  const runCli = (args: string[]) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const p = spawn(process.execPath, ['--import', 'tsx', cli, ...args], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      p.on('close', (code) => resolve({ code, stdout, stderr }));
    });
  const ok = ['--service', 'agent', '--otlp', 'http://127.0.0.1:9/v1/logs'];

  test.each([
    [
      ['--service', 'a', '--otlp', 'not-a-url', '--', 'true'],
      /--otlp: url: expected an absolute http\(s\) URL, got "not-a-url" \(string\)/,
    ],
    [
      [...ok, '--flush-timeout', '100', '--', 'true'],
      /--flush-timeout: expected a duration with a unit \(500ms, 2s, 1m, 1h\), got "100": a bare number has no unit/,
    ],
    [
      [...ok, '--flush-timout', '1s', '--', 'true'],
      /unknown flag --flush-timout \(did you mean --flush-timeout\?\)/,
    ],
    [
      ['--service', 'a', '--', 'true'],
      /missing a sink: --otlp <url>, --http <url> or --file <path>/,
    ],
    [['--otlp', 'http://127.0.0.1:9/', '--', 'true'], /missing --service <name>/],
    [ok, /missing `--` and the command to run after it/],
    [[...ok, '--'], /missing the command to run after `--`/],
    [[...ok, '--restarts', '-1', '--', 'true'], /--restarts: expected an integer ≥ 0, got "-1"/],
  ])(
    '%j exits 2 and says what is wrong',
    async (args, message) => {
      const ended = await runCli(args);
      expect(ended.code).toBe(2);
      expect(ended.stderr).toMatch(message);
      expect(ended.stderr).not.toMatch(/\n\s+at /); // a message, not a stack trace
    },
    30_000,
  );

  test('--help prints the usage and exits 0; durations with units are taken', async () => {
    const help = await runCli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^usage: holdfast-supervise/);
    const ran = await runCli([
      ...ok,
      '--flush-timeout',
      '500ms',
      '--',
      process.execPath,
      '-e',
      'process.exit(0)',
    ]);
    expect(ran.code).toBe(0);
  }, 30_000);

  test('a command that does not exist exits 127, as a shell does', async () => {
    const ended = await runCli([...ok, '--', 'holdfast-no-such-command']);
    expect(ended.code).toBe(127);
    expect(ended.stderr).toMatch(/holdfast-no-such-command/);
  }, 30_000);
});

describe('holdfast-supervise forwards every signal a runtime sends', () => {
  test('SIGUSR2 and SIGQUIT reach the agent; the supervisor exits as the agent did', async () => {
    const p = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        cli,
        '--service',
        'agent',
        '--otlp',
        'http://127.0.0.1:9/v1/logs',
        '--flush-timeout',
        '200ms',
        '--',
        process.execPath,
        fileURLToPath(new URL('./fixtures/signal-echo.mjs', import.meta.url)),
      ],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    let stdout = '';
    const seen = (text: string) =>
      new Promise<void>((resolve) => {
        const check = () => stdout.includes(text) && resolve();
        p.stdout.on('data', (d: Buffer) => {
          stdout += d.toString();
          check();
        });
        check();
      });
    const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      p.on('close', (code, signal) => resolve({ code, signal })),
    );
    await seen('ready');
    p.kill('SIGUSR2');
    await seen('got SIGUSR2');
    p.kill('SIGQUIT');
    expect(await ended).toEqual({ code: 42, signal: null });
    expect(stdout).toContain('got SIGQUIT');
  }, 30_000);
});
