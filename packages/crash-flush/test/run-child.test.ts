/**
 * One run of a supervised child (`runChild`, under `supervise()`'s restart loop), called in this
 * process on small real children: what it passes to the child, copies from it, forwards to it,
 * keeps of its stderr and leaves behind.
 */
import { getEventListeners } from 'node:events';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, test, vi } from 'vitest';
import { runChild } from '../src/internal/run-child.js';
import type { CrashReport, Sink, SuperviseOptions } from '../src/index.js';

const work = mkdtempSync(join(tmpdir(), 'holdfast-run-child-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const sink: Sink = { name: 'unused', send: async (_r: CrashReport) => undefined };
const node = (script: string, over: Partial<SuperviseOptions> = {}): SuperviseOptions => ({
  command: process.execPath,
  args: ['-e', script],
  service: 'agent',
  sink,
  tee: false,
  ...over,
});
/** A writable that keeps what it is given, each write done a turn later (a slow consumer). */
const collector = (highWaterMark = 16_384) => {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    highWaterMark,
    write: (chunk: Buffer, _encoding, done) => {
      chunks.push(chunk);
      setImmediate(done);
    },
  });
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
};

describe('runChild', { timeout: 30_000 }, () => {
  test('the child gets the command, args, cwd and env; its exit, pid, stderr tail and memory are diagnosed', async () => {
    const out = collector();
    const err = collector();
    const script = [
      'console.log(JSON.stringify({ pid: process.pid, cwd: process.cwd(), x: process.env.X, arg: process.argv[1] }));',
      "for (let i = 0; i < 60; i += 1) console.error('line ' + i);",
      'process.exitCode = 3;',
    ].join('\n');
    const before = performance.now();
    const { diagnosis, pid } = await runChild(
      node(script, {
        args: ['-e', script, 'first-arg'],
        cwd: work,
        env: { PATH: process.env.PATH, X: 'from-options' },
        tee: { stdout: out.stream, stderr: err.stream },
        tailLines: 5,
      }),
      7,
      () => undefined,
    );
    const seen = JSON.parse(out.text()) as { pid: number; cwd: string; x: string; arg: string };
    expect(seen).toEqual({ pid, cwd: work, x: 'from-options', arg: 'first-arg' });
    expect(err.text().split('\n')).toHaveLength(61);
    expect(diagnosis).toMatchObject({
      exitCode: 3,
      signal: null,
      signature: 'exit-code',
      restarts: 7,
      lastStderr: ['line 55', 'line 56', 'line 57', 'line 58', 'line 59'],
    });
    expect(diagnosis.uptimeMs).toBeGreaterThan(0);
    // The child's own life, within the run's: spawned after `before`, seen exiting before now.
    expect(diagnosis.uptimeMs).toBeLessThanOrEqual(Math.ceil(performance.now() - before));
    expect(Number.isInteger(diagnosis.uptimeMs)).toBe(true);
    expect(diagnosis.peakMemorySource).toBe('proc-vmhwm');
    expect(diagnosis.peakMemoryBytes).toBeGreaterThan(1 << 20);
    expect(diagnosis.peakMemoryBytes! % 1_024).toBe(0); // VmHWM is in kB
  });

  test('by default 50 lines of stderr are kept, and both streams are copied to this process', async () => {
    const stdout = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const { tee: _default, ...options } = node(
      "console.log('to-stdout'); for (let i = 0; i < 60; i += 1) console.error('e' + i); process.kill(process.pid, 'SIGTERM')",
    );
    const { diagnosis } = await runChild(options, 0, () => undefined);
    const [copiedOut, copiedErr] = [stdout, stderr].map((spy) =>
      spy.mock.calls.map(([chunk]) => String(chunk)).join(''),
    );
    stdout.mockRestore();
    stderr.mockRestore();
    expect(diagnosis).toMatchObject({ exitCode: null, signal: 'SIGTERM', signature: 'signal' });
    expect(diagnosis.lastStderr).toHaveLength(50);
    expect(diagnosis.lastStderr[0]).toBe('e10');
    expect(copiedOut).toBe('to-stdout\n');
    expect(copiedErr).toContain('e0\ne1\n');
    expect(copiedErr).toContain('e59\n');
  });

  test('a slow copy pauses the child, never loses a byte, and is flushed before the run returns', async () => {
    const out = collector(1_024);
    const size = 1 << 20;
    const { diagnosis } = await runChild(
      node(`process.stdout.write('y'.repeat(${size}))`, { tee: { stdout: out.stream } }),
      0,
      () => undefined,
    );
    expect(diagnosis.exitCode).toBe(0);
    expect(out.text().length).toBe(size);
    // Output nobody copies is still read: a child writing more than a pipe holds is not blocked.
    const ignored = await runChild(
      node(`process.stdout.write('y'.repeat(${size})); console.error('done')`, { tee: false }),
      0,
      () => undefined,
    );
    expect(ignored.diagnosis).toMatchObject({ exitCode: 0, lastStderr: ['done'] });
  });

  test('every signal a runtime sends is forwarded; the termination ones are reported to the loop', async () => {
    const all = [
      'SIGTERM',
      'SIGINT',
      'SIGHUP',
      'SIGQUIT',
      'SIGUSR1',
      'SIGUSR2',
      'SIGWINCH',
    ] as const;
    const before = new Map(all.map((s) => [s, process.listeners(s)]));
    let isReady = () => {};
    const ready = new Promise<void>((resolve) => (isReady = resolve));
    const out = collector();
    const seenByLoop: string[] = [];
    const script = [
      `const all = ${JSON.stringify(all)}; const got = [];`,
      // SIGUSR1 opens the inspector unless the child listens for it: it does.
      "for (const s of all) process.on(s, () => { got.push(s); if (got.length === all.length) { console.log(got.join(',')); process.exit(0); } });",
      "console.error('ready'); setInterval(() => {}, 1000);",
    ].join('\n');
    const running = runChild(
      node(script, {
        tee: {
          stdout: out.stream,
          stderr: new Writable({
            write: (_chunk, _encoding, done) => {
              isReady();
              done();
            },
          }),
        },
      }),
      0,
      (signal) => seenByLoop.push(signal),
    );
    await ready;
    // As the operator's signals arrive: the listeners runChild added (not the test runner's own).
    for (const s of all) {
      const added = process.listeners(s).filter((l) => !before.get(s)!.includes(l));
      expect(added).toHaveLength(1);
      (added[0] as (signal: NodeJS.Signals) => void)(s);
    }
    const { diagnosis } = await running;
    expect(diagnosis.exitCode).toBe(0);
    expect(out.text().trim().split(',').sort()).toEqual([...all].sort()); // in the kernel's order
    expect(seenByLoop).toEqual(['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT']);
    for (const s of all) expect(process.listeners(s)).toEqual(before.get(s));
  });

  test('with a spool, a marker names the running child; the exit removes it', async () => {
    const spoolDir = join(work, 'spool');
    const long = 'z'.repeat(2_000);
    const out = collector();
    const script = [
      "const { readdirSync, readFileSync } = require('node:fs'); const { join } = require('node:path');",
      `const dir = join(${JSON.stringify(spoolDir)}, 'running');`,
      'const names = readdirSync(dir).filter((n) => !n.endsWith(".tmp"));',
      'console.log(JSON.stringify({ pid: process.pid, markers: names.map((n) => JSON.parse(readFileSync(join(dir, n), "utf8"))) }));',
    ].join('\n');
    const { pid } = await runChild(
      node(script, {
        args: ['-e', script, long],
        spoolDir,
        metadata: { pod: 'p-0' },
        tee: { stdout: out.stream },
      }),
      2,
      () => undefined,
    );
    const seen = JSON.parse(out.text()) as { pid: number; markers: Record<string, unknown>[] };
    expect(seen.pid).toBe(pid);
    expect(seen.markers).toHaveLength(1);
    const [marker] = seen.markers as [Record<string, unknown>];
    expect(marker).toMatchObject({
      service: 'agent',
      metadata: { pod: 'p-0' },
      supervisorPid: process.pid,
      childPid: pid,
      restarts: 2,
    });
    expect(marker.command).toBe(`${process.execPath} -e ${script} ${long}`.slice(0, 1_024));
    expect(readdirSync(join(spoolDir, 'running'))).toEqual([]);
  });

  test('a command that cannot start rejects, and leaves no listener behind', async () => {
    const before = process.listenerCount('SIGTERM');
    const stop = new AbortController();
    await expect(
      runChild(
        { ...node(''), command: join(work, 'no-such-command'), signal: stop.signal },
        0,
        () => undefined,
      ),
    ).rejects.toMatchObject({ code: 'ENOENT' });
    expect(process.listenerCount('SIGTERM')).toBe(before);
    expect(getEventListeners(stop.signal, 'abort')).toHaveLength(0);
  });
});
