/**
 * Start-up over a large spool: 10,000 spooled reports of 64 KB (an agent that crash-looped with
 * its sink down), against a start with an empty spool. Measures how long installCrashGuard()
 * takes to return, and the peak RSS while the spool is sent (sampled every 5 ms while it runs,
 * after a forced GC), with the default bounds (1,000 reports, 64 MiB: the oldest are evicted) and
 * with bounds that let all 10,000 be sent. `node --import tsx bench/spool-start.ts` prints JSON;
 * bench/run.ts puts the rows in docs/benchmarks.md.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildReport } from '../src/index.js';
import { startCaptureServer } from '../src/testing.js';

const COUNT = 10_000;
const child = fileURLToPath(new URL('./spool-start-child.ts', import.meta.url));

function fillSpool(dir: string, count: number, bytes: number): void {
  mkdirSync(dir, { recursive: true });
  const padding = 'x'.repeat(1_000);
  const base = buildReport({
    service: 'crash-looping-agent',
    kind: 'uncaughtException',
    error: new Error('boom'),
    lastRecords: Array.from({ length: Math.ceil(bytes / 1_020) }, () => padding),
    metadata: {},
    maxReportBytes: bytes,
  });
  for (let i = 0; i < count; i += 1) {
    const report = { ...base, id: `r${i}`, time: 1_700_000_000_000 + i };
    const body = JSON.stringify(report);
    writeFileSync(join(dir, `${report.time}-${report.id}-${Buffer.byteLength(body)}b.json`), body);
  }
}

export interface SpoolStartRun {
  installMs: number;
  drainedMs: number;
  baseRss: number;
  peakRss: number;
  stats: Record<string, number>;
}

async function startOver(dir: string, url: string, env: Record<string, string> = {}) {
  return new Promise<SpoolStartRun>((resolve, reject) => {
    let out = '';
    const p = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', child], {
      env: { ...process.env, SPOOL_DIR: dir, SINK_URL: url, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.on('close', (code) =>
      code === 0
        ? resolve(JSON.parse(out) as SpoolStartRun)
        : reject(new Error(`child exited ${code}`)),
    );
  });
}

export async function spoolStartBench() {
  const work = mkdtempSync(join(tmpdir(), 'holdfast-spool-bench-'));
  const server = await startCaptureServer();
  try {
    const empty = await startOver(join(work, 'empty'), `${server.url}/v1/logs`);
    fillSpool(join(work, 'full'), COUNT, 64_000);
    const bounded = await startOver(join(work, 'full'), `${server.url}/v1/logs`);
    fillSpool(join(work, 'all'), COUNT, 64_000);
    const all = await startOver(join(work, 'all'), `${server.url}/v1/logs`, {
      MAX_SPOOLED: String(COUNT),
      MAX_SPOOL_BYTES: String(COUNT * 65_536),
    });
    return { empty, bounded, all, received: server.requests.length };
  } finally {
    await server.close();
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const result = await spoolStartBench();
  const mb = (n: number) => (n / 1_048_576).toFixed(1);
  for (const [name, run] of Object.entries(result)) {
    if (typeof run === 'number') continue;
    console.log(
      `${name}: install ${run.installMs.toFixed(2)} ms, drained ${run.drainedMs.toFixed(0)} ms, rss base ${mb(run.baseRss)} MB peak ${mb(run.peakRss)} MB, ${JSON.stringify(run.stats)}`,
    );
  }
  console.log(JSON.stringify(result));
}
