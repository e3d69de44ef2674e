import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { cli, fixture, requireRootOrSkip, runToEnd, TSX } from './support.js';

describe('holdfast-probe', () => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/hang') return;
      res.writeHead(req.url === '/health' ? 200 : 503);
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const probe = (...args: string[]) => runToEnd(process.execPath, [...TSX, cli('probe'), ...args]);

  test('exit 0 when healthy, 1 when not, 1 at the hard deadline of a hanging server', async () => {
    expect((await probe(`${base}/health`, '--timeout', '2s')).code).toBe(0);
    const down = await probe(`${base}/down`, '--timeout', '2s');
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/HTTP 503/);
    const hang = await probe(`${base}/hang`, '--timeout', '200ms');
    expect(hang.code).toBe(1);
  }, 30_000);

  test('usage errors exit 1 with a message', async () => {
    const r = await probe('--timeout', 'soon', `${base}/health`);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /--timeout: expected a duration with a unit \(500ms, 2s, 1m, 1h\), got "soon"/,
    );
  }, 30_000);

  test('--timeout needs a unit: a bare number is an error that says so', async () => {
    const r = await probe(`${base}/health`, '--timeout', '2');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/got "2": a bare number has no unit/);
  }, 30_000);

  test('a --timeout past 2^31 ms (40000m) waits for the answer instead of timing out at once', async () => {
    const r = await probe(`${base}/health`, '--timeout', '40000m');
    expect(r).toMatchObject({ code: 0, stderr: '' });
  }, 30_000);

  test.each(['200-', '500-200', '-200', '20-299', '200-600', 'abc'])(
    '--status %s is rejected as a usage error',
    async (status) => {
      const r = await probe(`${base}/health`, '--status', status);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/--status takes a status or a range of statuses from 100 to 599/);
    },
    30_000,
  );

  test('--status 200 and 200-204 are accepted', async () => {
    expect((await probe(`${base}/health`, '--status', '200')).code).toBe(0);
    expect((await probe(`${base}/health`, '--status', '200-204')).code).toBe(0);
    expect((await probe(`${base}/health`, '--status', '201-204')).code).toBe(1);
  }, 30_000);
});

/** A process's state letter from /proc (undefined when it is gone). */
function procState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return undefined;
  }
}

describe('holdfast-init', () => {
  const init = (args: string[], { pid1 = false } = {}) => {
    const command = [process.execPath, ...TSX, cli('init'), '--', ...args];
    return pid1
      ? runToEnd('unshare', ['--pid', '--fork', '--mount-proc', ...command])
      : runToEnd(command[0]!, command.slice(1));
  };

  test('--help prints the usage and exits 0', async () => {
    const r = await runToEnd(process.execPath, [...TSX, cli('init'), '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^usage: holdfast-init \[--grace 2s\] -- command/);
    expect(r.stderr).toBe('');
  }, 30_000);

  test("as a subreaper it ends the descendants its child left (TERM, grace, KILL), then exits with the child's status", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'holdfast-init-'));
    // A background job that exits on SIGTERM, one that ignores it, and an orphan (its parent
    // subshell exits at once, so init adopts it).
    const script = [
      `sleep 30 & echo $! >> ${dir}/pids`,
      `(trap '' TERM; exec sleep 31) & echo $! >> ${dir}/pids`,
      `(sleep 32 & echo $! >> ${dir}/pids) `,
      'exit 3',
    ].join('; ');
    const r = await runToEnd(process.execPath, [
      ...TSX,
      cli('init'),
      '--grace',
      '300ms',
      '--',
      'sh',
      '-c',
      script,
    ]);
    expect(r.code).toBe(3);
    const pids = readFileSync(join(dir, 'pids'), 'utf8').trim().split('\n').map(Number);
    expect(pids).toHaveLength(3);
    const running = pids.filter((pid) => {
      const state = procState(pid);
      return state !== undefined && state !== 'Z';
    });
    for (const pid of running) process.kill(pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    expect(running).toEqual([]);
  }, 30_000);

  test('a --grace without a unit is a usage error (exit 2)', async () => {
    const r = await runToEnd(process.execPath, [...TSX, cli('init'), '--grace', '2', '--', 'true']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--grace: expected a duration with a unit.*a bare number has no unit/);
  }, 30_000);

  test("exits with the child's code, or 128 + the signal that killed it", async () => {
    expect((await init(['sh', '-c', 'exit 7'])).code).toBe(7);
    expect((await init(['sh', '-c', 'kill -KILL $$'])).code).toBe(137);
    expect((await init(['/nonexistent/binary'])).code).toBe(127);
  }, 30_000);

  test('forwards SIGTERM, SIGINT, SIGHUP and SIGUSR1 to the child', async () => {
    const result = await runToEnd(process.execPath, [...TSX, fixture('forward-signals.ts')]);
    expect(result, `the fixture failed: ${JSON.stringify(result)}`).toMatchObject({
      code: 0,
      stderr: '',
    });
    expect(JSON.parse(result.stdout)).toEqual({
      received: ['SIGUSR1', 'SIGHUP', 'SIGINT', 'SIGTERM'],
      initExitCode: 143,
    });
  }, 30_000);

  test('as PID 1 in a PID namespace it reaps every orphan: no zombies', async () => {
    if (!requireRootOrSkip()) return;
    // Ten orphans exit while the script runs; it then counts zombies in the namespace.
    const script =
      'for i in 1 2 3 4 5 6 7 8 9 10; do (sleep 0.05 &); done; sleep 0.5; ' +
      "grep -l '^[0-9]* ([^)]*) Z' /proc/[0-9]*/stat 2>/dev/null | wc -l";
    const result = await init(['sh', '-c', script], { pid1: true });
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe('0');
  }, 30_000);
});
