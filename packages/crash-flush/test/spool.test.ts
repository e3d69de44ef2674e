/**
 * The spool read back at start-up, in real child processes: a bad entry or a broken sink costs
 * only itself, never the start; resending is asynchronous, oldest first, a few at a time; the
 * spool is bounded.
 */
import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { buildReport, type CrashReport } from '../src/index.js';
import { Spool } from '../src/internal/spool.js';
import { startCaptureServer, type CaptureServer } from '../src/testing.js';

const work = mkdtempSync(join(tmpdir(), 'holdfast-spool-'));
let server: CaptureServer;
beforeAll(async () => {
  server = await startCaptureServer();
});
afterAll(async () => {
  await server.close();
  rmSync(work, { recursive: true, force: true });
});

interface Started {
  code: number | null;
  stderr: string;
  out:
    | {
        stats: Record<string, number>;
        order: number[];
        maxInFlight: number;
        calledDuringInstall: boolean;
      }
    | undefined;
}
function start(env: Record<string, string>): Promise<Started> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', fileURLToPath(new URL('./fixtures/start.ts', import.meta.url))],
      { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) =>
      resolve({
        code,
        stderr,
        out: stdout.trim() === '' ? undefined : (JSON.parse(stdout) as Started['out']),
      }),
    );
  });
}

const report = (time: number): CrashReport => ({
  ...buildReport({
    service: 'earlier-run',
    kind: 'uncaughtException',
    error: new Error(`crash at ${time}`),
    lastRecords: [],
    metadata: {},
    maxReportBytes: 65_536,
  }),
  time,
});
/** Writes a spool entry as an earlier version did (`<time>-<pid>-<fingerprint>.json`). */
const spoolEntry = (dir: string, name: string, body: string) => {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, name), body);
};
const entries = (dir: string) => readdirSync(dir).filter((n) => n.endsWith('.json'));

describe('a start with a spool', () => {
  test('a sink whose send() throws synchronously never makes installCrashGuard() throw, and the spool does not grow', async () => {
    const dir = join(work, 'throwing-sink');
    spoolEntry(dir, '1700000000000-1-aaaa.json', JSON.stringify(report(1_700_000_000_000)));
    for (let run = 0; run < 3; run += 1) {
      const started = await start({ SINK: 'throws', SPOOL_DIR: dir });
      expect(started.code, started.stderr).toBe(0);
      expect(started.out?.stats).toMatchObject({ recovered: 0, sinkErrors: 1, rejected: 0 });
      expect(entries(dir)).toHaveLength(1); // kept for a start whose sink works
    }
  }, 60_000);

  test('entries that are not reports are moved aside with their reason and counted; the rest is sent', async () => {
    const dir = join(work, 'bad-entries');
    const good = report(1_700_000_000_005);
    spoolEntry(dir, '1700000000001-1-a.json', '{}');
    spoolEntry(dir, '1700000000002-1-b.json', 'null');
    spoolEntry(dir, '1700000000003-1-c.json', '{"time":"x"}');
    spoolEntry(dir, '1700000000004-1-d.json', '{"service": "torn');
    spoolEntry(dir, 'notes.json', '[]');
    spoolEntry(dir, '1700000000005-1-e.json', JSON.stringify(good));
    const before = server.requests.length;
    const started = await start({
      SINK: 'otlp',
      SPOOL_DIR: dir,
      SINK_URL: `${server.url}/v1/logs`,
    });
    expect(started.code, started.stderr).toBe(0);
    expect(started.out?.stats).toMatchObject({ recovered: 1, rejected: 5 });
    expect(server.requests.length).toBe(before + 1);
    expect(JSON.stringify(server.requests.at(-1)!.body)).toContain(good.id);
    expect(entries(dir)).toEqual([]);
    const rejected = join(dir, 'rejected');
    const reasons = Object.fromEntries(
      readdirSync(rejected)
        .filter((n) => n.endsWith('.reason'))
        .map((n) => [n.replace(/\.reason$/, ''), readFileSync(join(rejected, n), 'utf8').trim()]),
    );
    expect(reasons).toEqual({
      '1700000000001-1-a.json': '`service` is not a non-empty string',
      '1700000000002-1-b.json': 'not a report object (null)',
      '1700000000003-1-c.json': '`service` is not a non-empty string',
      '1700000000004-1-d.json': expect.stringMatching(/^not JSON: /) as string,
      'notes.json': 'not a spool entry name',
    });
    // The next start has nothing left to stumble on.
    const again = await start({ SINK: 'otlp', SPOOL_DIR: dir, SINK_URL: `${server.url}/v1/logs` });
    expect(again.out?.stats).toMatchObject({ recovered: 0, rejected: 0 });
  }, 60_000);

  test('resending is asynchronous, oldest first, at most 4 at a time; beyond its bound the oldest are evicted and counted', async () => {
    const dir = join(work, 'many');
    const times = Array.from({ length: 30 }, (_, i) => 1_700_000_000_000 + i * 1_000);
    // Written newest first, with names that do not sort by age (a shorter time sorts later).
    for (const time of [...times].reverse())
      spoolEntry(
        dir,
        `${time}-1-${(2_000_000_000_000 - time).toString(16)}.json`,
        JSON.stringify(report(time)),
      );
    spoolEntry(dir, '999999999999-1-ff.json', JSON.stringify(report(999_999_999_999)));
    const started = await start({ SINK: 'slow', SPOOL_DIR: dir, MAX_SPOOLED: '20' });
    expect(started.code, started.stderr).toBe(0);
    const out = started.out!;
    expect(out.calledDuringInstall).toBe(false);
    expect(out.stats).toMatchObject({ recovered: 20, evicted: 11 });
    expect(out.order).toEqual(times.slice(10));
    expect(out.maxInFlight).toBeLessThanOrEqual(4); // the old start sent all 31 at once
    expect(entries(dir)).toEqual([]);
  }, 60_000);

  test("a sink whose prepare() throws: the crash's report is spooled, then sent at the next start", async () => {
    const dir = join(work, 'prepare-throws');
    const crashed = await start({ SINK: 'prepare-throws', SPOOL_DIR: dir, CRASH: '1' });
    expect(crashed.code).toBe(1);
    expect(entries(dir)).toHaveLength(1);
    const next = await start({ SINK: 'slow', SPOOL_DIR: dir });
    expect(next.out?.stats).toMatchObject({ recovered: 1 });
  }, 60_000);
});

describe('Spool', () => {
  test('a crash-time write evicts the oldest entries to stay within maxReports and maxBytes, counted', () => {
    const dir = join(work, 'bounded');
    const counts = { spooled: 0, recovered: 0, evicted: 0, rejected: 0, lost: 0 };
    const spool = new Spool(dir, { maxReports: 3, maxBytes: 1_000_000 }, counts);
    for (let i = 0; i < 5; i += 1) spool.write(report(1_700_000_000_000 + i));
    expect(counts).toMatchObject({ spooled: 5, evicted: 2 });
    expect(
      entries(dir)
        .map((n) => Number(n.split('-')[0]))
        .sort(),
    ).toEqual([1_700_000_000_002, 1_700_000_000_003, 1_700_000_000_004]);
    const one = Buffer.byteLength(JSON.stringify(report(1_700_000_000_000)));
    const small = new Spool(
      join(work, 'bounded-bytes'),
      { maxReports: 100, maxBytes: 2 * one + 10 },
      counts,
    );
    for (let i = 0; i < 4; i += 1) small.write(report(1_700_000_000_000 + i));
    expect(entries(join(work, 'bounded-bytes'))).toHaveLength(2);
    expect(counts.evicted).toBe(4);
  });

  test('a disk that cannot be written costs the report (counted lost), never a throw', () => {
    const file = join(work, 'a-file');
    writeFileSync(file, '');
    const counts = { spooled: 0, recovered: 0, evicted: 0, rejected: 0, lost: 0 };
    const spool = new Spool(join(file, 'spool'), { maxReports: 3, maxBytes: 1_000_000 }, counts);
    expect(spool.write(report(1))).toBe(false);
    expect(counts.lost).toBe(1);
    expect(existsSync(join(file, 'spool'))).toBe(false);
  });
});
