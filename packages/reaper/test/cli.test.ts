import { createServer, type Server } from 'node:http';
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
    expect(r.stderr).toMatch(/Expected a duration/);
  }, 30_000);
});

describe('holdfast-init', () => {
  const init = (args: string[], { pid1 = false } = {}) => {
    const command = [process.execPath, ...TSX, cli('init'), '--', ...args];
    return pid1
      ? runToEnd('unshare', ['--pid', '--fork', '--mount-proc', ...command])
      : runToEnd(command[0]!, command.slice(1));
  };

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
