/**
 * `pnpm demo`: the incidents holdfast answers, replayed on real local parts, with a report of the
 * promises kept. (The full log-agent scenario — chunk pool, outage, supervisor — lands with the
 * remaining packages.)
 *
 *   1. iLogtail: discovery over the Docker Engine API against a runtime where a third of the
 *      containers have exited and their inspects hang or fail, the last one included;
 *   2. Zipkin: 200 health-check runs whose grandchild outlives a 50 ms timeout, with the agent as
 *      a subreaper: zero zombies, zero leftovers;
 *   3. Retina: an agent that dies of an uncaught exception; its report reaches the OTLP endpoint
 *      of a local backend, and its exit code is unchanged.
 *
 * `--json` prints the report as JSON. Exits non-zero if any promise failed.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInventory, fetchAll } from '@holdfast/batch';
import { installReaper, run } from '@holdfast/reaper';
import { countZombies, descendants } from '@holdfast/reaper/testing';
import { createDisplay } from './display.js';
import {
  dockerAnswers,
  inspectContainer,
  listContainers,
  type ContainerSummary,
} from './docker-client.js';
import { startLogBackend } from './log-backend.js';
import { startRuntimeSimulator } from './runtime-simulator.js';

const json = process.argv.includes('--json');
const display = createDisplay(process.stdout, json);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface KeptPromise {
  readonly promise: string;
  readonly kept: boolean;
  readonly detail: string;
}

async function discovery(work: string): Promise<KeptPromise> {
  const real = await dockerAnswers('/var/run/docker.sock');
  const simulator = real
    ? undefined
    : await startRuntimeSimulator({ socketPath: join(work, 'docker.sock'), containers: 300 });
  const socket = simulator?.socketPath ?? '/var/run/docker.sock';
  try {
    display.event(
      real
        ? 'discovery: the Docker daemon on /var/run/docker.sock'
        : 'discovery: a simulated runtime, 300 containers, a third exited (inspects hang or fail)',
    );
    const listing = await listContainers(socket);
    const result = await fetchAll(
      listing,
      (c: ContainerSummary, { signal }) => inspectContainer(socket, c.Id, signal),
      {
        concurrency: 16,
        timeout: 500,
        deadline: 10_000,
        maxAbandoned: Infinity,
        importance: (c) => (c.State === 'running' ? 'required' : 'optional'),
        breaker: { failureRatio: 0.5, minSamples: 20 },
      },
    );
    const inventory = createInventory({ key: (c: ContainerSummary) => c.Id, ttlMs: 60_000 });
    const added = inventory.apply(result).added.length;
    const running = listing.filter((c) => c.State === 'running').length;
    display.event(result.summary());
    return {
      promise: 'discovery survives exited containers whose inspects hang or fail',
      kept: result.fatal === undefined && added === running,
      detail: `${added} of ${running} running containers discovered; ${result.stats.rejected} exited ones failed or timed out; verdict ${result.fatal === undefined ? 'ok' : 'FATAL'}`,
    };
  } finally {
    await simulator?.close();
  }
}

async function probes(): Promise<KeptPromise> {
  // Processes that were there before (the TypeScript loader's esbuild service) are not leftovers.
  const before = new Set(descendants().map((p) => p.pid));
  const ours = () => descendants().filter((p) => !before.has(p.pid));
  const reaper = installReaper({ subreaper: true });
  display.event(
    `probes: 200 health checks whose grandchild outlives a 50 ms timeout (${reaper.reapsOrphans ? 'reaping on' : 'reaping unavailable'})`,
  );
  let timedOut = 0;
  for (let batch = 0; batch < 8; batch += 1) {
    const results = await Promise.all(
      Array.from({ length: 25 }, () =>
        run('sh', ['-c', 'sleep 0.3 & sleep 0.3'], { timeout: 50, killGrace: 200 }),
      ),
    );
    timedOut += results.filter((r) => r.timedOut).length;
  }
  for (let waited = 0; ours().length > 0 && waited < 5_000; waited += 20) {
    reaper.sweep();
    await sleep(20);
  }
  const zombies = countZombies();
  const left = ours().filter((p) => p.state !== 'Z').length;
  const stats = reaper.stats();
  await reaper.close();
  return {
    promise: 'probes leave no zombies and no leftover processes',
    kept: zombies === 0 && left === 0,
    detail: `${timedOut} of 200 runs timed out; ${stats.reaped} orphans reaped; ${zombies} zombies, ${left} processes left`,
  };
}

async function crash(): Promise<KeptPromise> {
  const backend = await startLogBackend();
  try {
    display.event('crash: an agent dies of an uncaught exception');
    const agent = fileURLToPath(new URL('./crashing-agent.ts', import.meta.url));
    const code = await new Promise<number | null>((resolve) =>
      spawn(process.execPath, [...process.execArgv, agent], {
        env: { ...process.env, DEMO_OTLP_URL: `${backend.url}/v1/logs` },
        stdio: 'ignore',
      }).on('close', resolve),
    );
    const [report] = backend.crashReports();
    return {
      promise: "the agent's last telemetry leaves the process, and it dies as it would have",
      kept: report !== undefined && code === 1,
      detail:
        report === undefined
          ? `no report received; exit code ${code}`
          : `report "${report.body}" from ${String(report.resource['k8s.pod.name'])} on ${String(report.resource['k8s.node.name'])} with ${JSON.parse(String(report.attributes['log.last_records'])).length} last records; exit code ${code}`,
    };
  } finally {
    await backend.close();
  }
}

const work = mkdtempSync(join(tmpdir(), 'holdfast-demo-'));
const promises: KeptPromise[] = [];
try {
  promises.push(await discovery(work), await probes(), await crash());
} finally {
  rmSync(work, { recursive: true, force: true });
  display.close();
}
const allKept = promises.every((p) => p.kept);
if (json) process.stdout.write(`${JSON.stringify({ promises, allKept }, null, 2)}\n`);
else {
  process.stdout.write('\nholdfast demo — report\n\n');
  for (const p of promises)
    process.stdout.write(
      `${p.kept ? '  kept  ' : '  FAILED'}  ${p.promise}\n          ${p.detail}\n`,
    );
  process.stdout.write(`\n${allKept ? 'All promises kept.' : 'Some promises FAILED.'}\n`);
}
process.exit(allKept ? 0 : 1);
