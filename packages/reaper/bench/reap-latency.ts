/**
 * Reap latency of one reaper on one workload: 200 orphans, each a `sleep` that exits at a known
 * moment. `holdfast`: this process installs the reaper as a subreaper. `tini`: this process runs
 * under `tini -s` (tini is the subreaper; we only watch). Latency = time from the orphan's exit
 * (it writes a timestamp just before exiting) until its pid disappears from /proc.
 * Prints `{ p50, p95, sweep100Ms? }` as JSON.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { installReaper } from '@holdfast/reaper';

const mode = process.argv[2];
const dir = mkdtempSync(join(tmpdir(), 'holdfast-reap-'));
const reaper = mode === 'holdfast' ? installReaper({ subreaper: true }) : undefined;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const nowNs = () => BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6));

// Each orphan: a subshell that backgrounds `sh -c 'sleep; date +%s%N > file'` and exits, so the
// grandchild is orphaned to the subreaper; it records its own exit time in ns.
const latencies: number[] = [];
for (let i = 0; i < 200; i += 1) {
  const stamp = join(dir, String(i));
  const pidFile = `${stamp}.pid`;
  await new Promise((resolve) =>
    spawn('sh', [
      '-c',
      `(sh -c 'echo $$ > ${pidFile}; sleep 0.02; date +%s%N > ${stamp}' &) ; exit 0`,
    ]).on('exit', resolve),
  );
  while (!existsSync(stamp)) await sleep(1);
  const pid = Number(readFileSync(pidFile, 'utf8'));
  while (existsSync(`/proc/${pid}`)) await new Promise((resolve) => setImmediate(resolve));
  const gone = nowNs();
  const exited = BigInt(readFileSync(stamp, 'utf8').trim());
  latencies.push(Number(gone - exited) / 1e6);
}

let sweep100Ms: number | undefined;
if (reaper !== undefined) {
  // 100 zombies at once: stop the reaper from reacting, make them, then time one sweep.
  await reaper.close();
  const fresh = installReaper({ subreaper: true, pollInterval: 3_600_000 });
  process.removeAllListeners('SIGCHLD');
  await new Promise((resolve) =>
    spawn('sh', ['-c', 'for i in $(seq 100); do (sleep 0.01 &); done; exit 0']).on('exit', resolve),
  );
  await sleep(300);
  const start = performance.now();
  const reaped = fresh.sweep();
  sweep100Ms = performance.now() - start;
  if (reaped < 100) throw new Error(`the sweep reaped ${reaped} of 100 zombies`);
}
rmSync(dir, { recursive: true, force: true });
latencies.sort((a, b) => a - b);
const q = (p: number) => latencies[Math.floor(p * latencies.length)] ?? NaN;
process.stdout.write(
  JSON.stringify({
    p50: q(0.5),
    p95: q(0.95),
    ...(sweep100Ms === undefined ? {} : { sweep100Ms }),
  }) + '\n',
);
process.exit(0);
