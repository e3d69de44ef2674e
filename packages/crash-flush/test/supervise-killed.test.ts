/**
 * The agent and its supervisor killed together (a SIGKILL of the process group, as a cgroup OOM
 * group kill or `kill -9 -<pgid>` does): nobody is left to report, so the next supervisor of the
 * same spool does — to the sink, or into the spool while the sink is down.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, onTestFinished, test } from 'vitest';
import type { CrashReport, ExitDiagnosis } from '../src/index.js';
import { startCaptureServer } from '../src/testing.js';

const cli = fileURLToPath(new URL('../src/cli/supervise.ts', import.meta.url));
const child = fileURLToPath(new URL('./fixtures/dying-child.mjs', import.meta.url));

/** Runs holdfast-supervise over `agent`; resolves with its exit code. */
function supervisor(
  spool: string,
  sink: string,
  agent: string[],
  onStderr?: (text: string) => void,
) {
  const p = spawn(
    process.execPath,
    [
      ...['--import', 'tsx', cli, '--service', 'agent', '--http', sink, '--spool', spool],
      ...['--flush-timeout', '2s', '--', process.execPath, ...agent],
    ],
    // Its own process group, with its agent: one kill ends both.
    { detached: true, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  onTestFinished(() => {
    if (p.exitCode === null && p.signalCode === null) process.kill(-p.pid!, 'SIGKILL');
  });
  let stderr = '';
  p.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    onStderr?.(stderr);
  });
  const ended = new Promise<number | null>((resolve) => p.on('close', (code) => resolve(code)));
  return { p, ended };
}

test('killed with its agent: the next start sends the report (spooled first while the sink is down)', async () => {
  const spool = mkdtempSync(join(tmpdir(), 'holdfast-killed-'));
  const server = await startCaptureServer();
  onTestFinished(() => server.close());
  const sink = `${server.url}/crashes`;

  // 1. The agent is up (its first stderr line, teed by the supervisor): kill the whole group.
  let agentPid = 0;
  const first = supervisor(spool, sink, [child, 'hang'], (text) => {
    const match = /child (\d+) starting/.exec(text);
    if (match !== null && agentPid === 0) {
      agentPid = Number(match[1]);
      process.kill(-first.p.pid!, 'SIGKILL');
    }
  });
  expect(await first.ended).toBe(null); // killed, and reaped: gone from /proc
  expect(agentPid).toBeGreaterThan(0);
  expect(server.requests).toHaveLength(0); // nobody was left to send

  // 2. The next start, with the sink down: the lost child's report waits in the spool.
  server.mode = 'down';
  const second = supervisor(spool, sink, ['-e', 'process.exit(0)']);
  expect(await second.ended).toBe(0);
  expect(readdirSync(spool).filter((n) => n.endsWith('.json'))).toHaveLength(1);
  expect(readdirSync(join(spool, 'running'))).toEqual([]);

  // 3. The sink is back: the report arrives, and leaves the spool.
  server.mode = 'ok';
  const third = supervisor(spool, sink, ['-e', 'process.exit(0)']);
  expect(await third.ended).toBe(0);
  const [request] = await server.waitFor(1);
  const report = request!.body as CrashReport & { extra: { diagnosis: ExitDiagnosis } };
  expect(report).toMatchObject({ service: 'agent', kind: 'exit', pid: agentPid });
  expect(report.error?.type).toBe('lost');
  expect(report.extra.diagnosis).toMatchObject({ signature: 'lost', exitCode: null, signal: null });
  expect(report.extra.diagnosis.uptimeMs).toBeGreaterThanOrEqual(0);
  expect((report.extra as { childRunning?: boolean }).childRunning).toBe(false);
  expect(readdirSync(spool).filter((n) => n.endsWith('.json'))).toEqual([]);
  expect(server.requests).toHaveLength(1);
}, 60_000);

test('only the supervisor killed: the next start reports that its child still runs, unsupervised', async () => {
  const spool = mkdtempSync(join(tmpdir(), 'holdfast-killed-'));
  const server = await startCaptureServer();
  onTestFinished(() => server.close());
  const sink = `${server.url}/crashes`;

  let agentPid = 0;
  const first = supervisor(spool, sink, [child, 'hang'], (text) => {
    const match = /child (\d+) starting/.exec(text);
    if (match !== null && agentPid === 0) {
      agentPid = Number(match[1]);
      process.kill(first.p.pid!, 'SIGKILL'); // the supervisor alone, not its group
    }
  });
  onTestFinished(() => {
    if (agentPid !== 0) process.kill(agentPid, 'SIGKILL');
  });
  expect(await first.ended).toBe(null);
  process.kill(agentPid, 0); // the agent outlived its supervisor (throws ESRCH otherwise)

  const second = supervisor(spool, sink, ['-e', 'process.exit(0)']);
  expect(await second.ended).toBe(0);
  const [request] = await server.waitFor(1);
  const report = request!.body as CrashReport & {
    extra: { diagnosis: ExitDiagnosis; childRunning: boolean };
  };
  expect(report).toMatchObject({ service: 'agent', kind: 'exit', pid: agentPid });
  expect(report.extra.childRunning).toBe(true);
  expect(report.error?.message).toMatch(/the child still runs, unsupervised/);
  expect(report.error?.message).not.toMatch(/died with its supervisor/);
}, 60_000);
