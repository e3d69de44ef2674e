/**
 * Each crash kind in a real child process, against a real local server: the report arrives with
 * its metadata and last log lines, and the exit status is the one the same fixture has WITHOUT
 * the guard.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startCaptureServer, type CaptureServer } from '../src/testing.js';

const work = mkdtempSync(join(tmpdir(), 'holdfast-crash-'));

interface Ended {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}
function crash(kind: string, env: Record<string, string>): Promise<Ended> {
  return crashWith('crash.ts', { CRASH_KIND: kind, ...env });
}
function crashWith(file: string, env: Record<string, string>): Promise<Ended> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', fileURLToPath(new URL(`./fixtures/${file}`, import.meta.url))],
      {
        env: { ...process.env, ...env },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code, signal) => resolve({ code, signal, stderr }));
  });
}

type OtlpRecord = {
  attributes: { key: string; value: Record<string, unknown> }[];
  body: { stringValue: string };
};
const recordOf = (body: unknown) => {
  const payload = body as {
    resourceLogs: {
      resource: { attributes: { key: string; value: Record<string, unknown> }[] };
      scopeLogs: { logRecords: OtlpRecord[] }[];
    }[];
  };
  const resource = payload.resourceLogs[0]!;
  const record = resource.scopeLogs[0]!.logRecords[0]!;
  const attr = (list: { key: string; value: Record<string, unknown> }[], key: string) =>
    Object.values(list.find((a) => a.key === key)?.value ?? {})[0];
  return {
    resource: (k: string) => attr(resource.resource.attributes, k),
    attr: (k: string) => attr(record.attributes, k),
    body: record.body.stringValue,
  };
};

/** Spooled reports (the folder also holds the rate-limit state). */
const spooled = (dir: string) => readdirSync(dir).filter((name) => name.endsWith('.json'));

let server: CaptureServer;
beforeAll(async () => {
  server = await startCaptureServer();
});
afterAll(async () => {
  await server.close();
  rmSync(work, { recursive: true, force: true });
});

// Each crash kind without and with the guard: test/crash-matrix.test.ts (it writes the table of
// docs/crash-flush.md).

describe('when the sink cannot take the report', () => {
  test('a sink that hangs: bounded by the budget, then spooled (mode 0600); exit status unchanged', async () => {
    const spool = join(work, 'spool-hang');
    server.mode = 'hang';
    try {
      const ended = await crash('uncaught-sync', {
        WITH_GUARD: '1',
        SINK_URL: `${server.url}/v1/logs`,
        SPOOL_DIR: spool,
        FLUSH_MS: '300',
      });
      expect(ended.code).toBe(1);
    } finally {
      server.mode = 'ok';
    }
    const files = spooled(spool);
    expect(files).toHaveLength(1);
    expect(statSync(join(spool, files[0]!)).mode & 0o777).toBe(0o600);
  }, 30_000);

  test('a sink that is down: spooled, then sent at the next start and deleted', async () => {
    const spool = join(work, 'spool-down');
    const ended = await crash('uncaught-timer', {
      WITH_GUARD: '1',
      SINK_URL: 'http://127.0.0.1:9/v1/logs',
      SPOOL_DIR: spool,
      FLUSH_MS: '500',
    });
    expect(ended.code).toBe(1);
    expect(spooled(spool)).toHaveLength(1);

    const before = server.requests.length;
    const next = await crash('noop', {
      WITH_GUARD: '1',
      SINK_URL: `${server.url}/v1/logs`,
      SPOOL_DIR: spool,
    });
    expect(next.code).toBe(0);
    expect(server.requests.length).toBe(before + 1);
    expect(recordOf(server.requests.at(-1)!.body).body).toMatch(/boom: in a timer/);
    expect(spooled(spool)).toHaveLength(0);
  }, 30_000);
});

describe('crash loops without a supervisor', () => {
  test('restarts within the window send one full report; the next one carries the count', async () => {
    const spool = join(work, 'spool-loop');
    const env = { WITH_GUARD: '1', SINK_URL: `${server.url}/v1/logs`, SPOOL_DIR: spool };
    const before = server.requests.length;
    for (let restart = 0; restart < 4; restart++) {
      expect((await crash('uncaught-timer', { ...env, RATE_WINDOW_MS: '3600000' })).code).toBe(1);
    }
    expect(server.requests.length).toBe(before + 1);
    // The window has passed (0 ms): a full report again, carrying the three crashes only counted.
    expect((await crash('uncaught-timer', { ...env, RATE_WINDOW_MS: '0' })).code).toBe(1);
    expect(server.requests.length).toBe(before + 2);
    expect(recordOf(server.requests.at(-1)!.body).attr('holdfast.suppressed_since_last')).toBe('3');
  }, 60_000);
});

describe('worker threads', () => {
  const run = (env: Record<string, string>) => crashWith('worker-crash.ts', env);

  test("watchWorker reports a worker's uncaught error with the worker's name", async () => {
    const before = server.requests.length;
    const ended = await run({ SINK_URL: `${server.url}/v1/logs` });
    expect(ended.code).toBe(0);
    const reports = server.requests.slice(before).map((r) => recordOf(r.body));
    expect(reports.map((r) => r.attr('holdfast.kind'))).toEqual(['worker']);
    expect(reports[0]!.body).toMatch(/boom in the worker/);
    expect(reports[0]!.attr('holdfast.worker')).toBe('parser');
  }, 30_000);

  test("a guard inside a worker forwards its report, with the worker's last records, to the main guard", async () => {
    const before = server.requests.length;
    const ended = await run({ SINK_URL: `${server.url}/v1/logs`, GUARD_IN_WORKER: '1' });
    expect(ended.code).toBe(0);
    const reports = server.requests.slice(before).map((r) => recordOf(r.body));
    const forwarded = reports.find((r) => r.attr('holdfast.kind') === 'uncaughtException');
    expect(forwarded?.body).toMatch(/boom in the worker/);
    expect(String(forwarded?.attr('holdfast.last_records'))).toContain('parsing in the worker');
    expect(forwarded?.attr('holdfast.worker')).toBe('parser');
  }, 30_000);
});
