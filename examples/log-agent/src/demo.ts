/**
 * `pnpm demo`: the log agent (./agent/main.ts) under fire, on real local parts — the four
 * incidents holdfast answers, in one run, then a report of the promises kept.
 *
 *   1. iLogtail: discovery against a container runtime where a third of the containers have
 *      exited and their inspects hang or fail (the Docker daemon when one answers, otherwise a
 *      simulator on a unix socket);
 *   2. Fluent Bit: a flood of log lines, and the search backend down for a stretch while the
 *      archive backend stays up — memory stays within budget, archive keeps delivering, search
 *      gets everything once it is back;
 *   3. Zipkin: a sidecar's check script times out again and again, leaving children behind;
 *   4. Retina: the agent throws an uncaught exception (the supervisor restarts it; it resumes
 *      from its checkpoint and its file-backed backlog), then exhausts its heap; the crash
 *      reports reach the backend's OTLP endpoint and the agent exits as its child did.
 *
 * `--json` prints only the report, as JSON. Exits non-zero if any promise failed.
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { installReaper } from '@holdfast/reaper';
import { countZombies, descendants } from '@holdfast/reaper/testing';
import { dockerAnswers } from './agent/docker-client.js';
import { startControlServer } from './control-server.js';
import { createDisplay } from './display.js';
import { startLogBackend } from './log-backend.js';
import { buildReport, printReport, type ScenarioFacts } from './report.js';
import { startRuntimeSimulator } from './runtime-simulator.js';
import { scrapeAgent } from './scrape.js';

const json = process.argv.includes('--json');
const display = createDisplay(process.stdout, json);
const startedAt = performance.now();

const LINES_PER_CONTAINER = 1_000;
const LINES_PER_SECOND = 30_000;
const OUTAGE_MS = 3_000;

/** Polls `condition` every 50 ms; throws, naming what was awaited, after `timeoutMs`. */
async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  for (const deadline = performance.now() + timeoutMs; !condition(); await sleep(50)) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
  }
}

// The demo is a subreaper too: what the agent leaves behind when it dies comes here, is reaped,
// and is counted.
const reaper = installReaper({ subreaper: true });
const preexisting = new Set(descendants().map((p) => p.pid)); // e.g. the TypeScript loader's
/** Processes in the demo's tree that were not there at its start, zombies included. */
const leftovers = () => descendants().filter((p) => !preexisting.has(p.pid));

const work = mkdtempSync(join(tmpdir(), 'holdfast-demo-'));
const realDocker = await dockerAnswers('/var/run/docker.sock');
const simulator = realDocker
  ? undefined
  : await startRuntimeSimulator({ socketPath: join(work, 'docker.sock'), containers: 300 });
const search = await startLogBackend();
const archive = await startLogBackend();
const control = await startControlServer();

const agentLogPath = join(work, 'agent.log');
const agentLog = openSync(agentLogPath, 'a');
const agent = spawn(
  process.execPath,
  // The heap limit is small so that the leak of the last step ends quickly.
  [
    '--max-old-space-size=96',
    ...process.execArgv,
    fileURLToPath(new URL('./agent/main.ts', import.meta.url)),
  ],
  {
    // In the workspace's root, where the TypeScript loader and its tsconfig are found, so the
    // agent resolves `@holdfast/*` as the demo does.
    cwd: fileURLToPath(new URL('../../../', import.meta.url)),
    stdio: ['ignore', agentLog, agentLog],
    env: {
      ...process.env,
      AGENT_DOCKER_SOCKET: simulator?.socketPath ?? '/var/run/docker.sock',
      AGENT_SEARCH_URL: search.url,
      AGENT_ARCHIVE_URL: archive.url,
      AGENT_OTLP_URL: `${archive.url}/v1/logs`,
      AGENT_CONTROL_URL: control.url,
      AGENT_STATE_DIR: join(work, 'state'),
      AGENT_LINES_PER_CONTAINER: String(LINES_PER_CONTAINER),
      AGENT_LINES_PER_SECOND: String(LINES_PER_SECOND),
    },
  },
);
let agentExited = false;
const agentExit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
  agent.on('exit', (code, signal) => {
    agentExited = true;
    resolve({ code, signal });
  }),
);

const latest = () => control.latest();
const status = () => ({
  elapsedMs: performance.now() - startedAt,
  agent: latest(),
  delivered: { search: search.delivered('search'), archive: archive.delivered('archive') },
  searchUp: search.isUp(),
  agentRuns: control.agents().length,
  crashReports: archive.crashReports().length,
});
const statusTimer = setInterval(() => display.status(status()), 100);

const facts: ScenarioFacts = {
  realDocker,
  linesTotal: 0,
  outage: { ms: OUTAGE_MS, deliveredToArchive: 0, deliveredToSearch: 0 },
  agentRuns: [],
  delivered: { search: 0, archive: 0 },
  duplicates: { search: 0, archive: 0 },
  crashReports: [],
  agentExit: undefined,
  zombies: 0,
  processesLeft: 0,
  telemetry: undefined,
  failure: undefined,
};

async function scenario(): Promise<void> {
  display.event(
    realDocker
      ? 'discovery: the Docker daemon on /var/run/docker.sock'
      : 'a simulated container runtime: 300 containers, a third exited (their inspects hang or fail)',
  );
  display.event('the agent starts under its supervisor');
  await until(() => (latest()?.discovery.rounds ?? 0) >= 1, 30_000, 'the first discovery round');
  const first = latest()!;
  facts.linesTotal = first.source.total;
  display.event(
    `discovery: ${first.discovery.known} of ${first.discovery.running} running containers known; the exited ones cost only themselves`,
  );

  await until(() => latest()!.source.position >= 0.15 * facts.linesTotal, 30_000, 'the flood');
  await search.takeDown();
  // Counted from the moment the port is closed and every connection cut.
  const archiveBefore = archive.delivered('archive');
  const searchBefore = search.delivered('search');
  display.event(`outage: the search backend goes down for ${OUTAGE_MS / 1_000} s`);
  await sleep(OUTAGE_MS);
  facts.outage.deliveredToArchive = archive.delivered('archive') - archiveBefore;
  facts.outage.deliveredToSearch = search.delivered('search') - searchBefore;
  await search.bringBack();
  display.event(
    `the search backend is back; during the outage archive took ${facts.outage.deliveredToArchive.toLocaleString('en-US')} records`,
  );

  await until(() => latest()!.source.position >= 0.6 * facts.linesTotal, 30_000, 'more lines');
  const firstPid = latest()!.pid;
  control.send('throw');
  display.event('crash: the agent throws an uncaught exception');
  await until(() => latest()!.pid !== firstPid, 30_000, 'the supervisor to restart the agent');
  const second = latest()!;
  display.event(
    `restarted by its supervisor: resumed at line ${second.source.resumedFrom.toLocaleString('en-US')} (its checkpoint), ${second.pool.recoveredRecords.toLocaleString('en-US')} records recovered from the pool's files`,
  );

  // The lines of the containers this run of the agent reads: on a loaded machine the first
  // discovery round may have known fewer of them (inspects past their 300 ms timeout).
  await until(
    () => {
      const now = latest()!;
      return (
        now.source.done &&
        search.delivered('search') >= now.source.total &&
        archive.delivered('archive') >= now.source.total
      );
    },
    60_000,
    'every line to reach both outputs',
  );
  facts.linesTotal = latest()!.source.total;
  display.event('every line read has reached both outputs');

  // The agent's Prometheus endpoint, scraped while it is still alive (the last step kills it),
  // between two of its own stats reports: its counters then bracket what the scrape says.
  // Once nothing is pending, the outputs are idle (redeliveries after the crash included):
  // the delivered counters stop moving.
  await until(
    () => Object.values(latest()!.pool.pendingRecords).every((n) => n === 0),
    30_000,
    'the outputs to be idle',
  );
  const before = latest()!;
  const reportsBefore = control.received();
  const scraped = await scrapeAgent(before.telemetry.metricsUrl);
  // Two reports later, the latest was certainly made after the scrape.
  await until(
    () => control.received() >= reportsBefore + 2,
    10_000,
    'a stats report after the scrape',
  );
  facts.telemetry = { before, scraped, after: latest()! };
  display.event(
    `scraped the agent's OpenTelemetry metrics (${scraped.families} families): delivered search ${scraped.delivered.search.toLocaleString('en-US')}, archive ${scraped.delivered.archive.toLocaleString('en-US')}; ${scraped.zombiesReaped} zombies reaped`,
  );

  control.send('exhaust-heap');
  display.event("crash: a leak exhausts the agent's heap — no in-process hook sees that one");
  facts.agentExit = await Promise.race([
    agentExit,
    sleep(30_000).then(() => {
      throw new Error('timed out waiting for the agent to die of heap exhaustion');
    }),
  ]);
  await until(() => archive.crashReports().length >= 3, 10_000, 'three crash reports');
  // The children of a probe in flight when the agent died come to the demo: wait until they
  // have exited and been reaped (a zombie left here would fail the zombie promise below).
  await until(
    () => {
      reaper.sweep();
      return leftovers().length === 0;
    },
    10_000,
    'the processes the agent left to exit and be reaped',
  );
}

try {
  await scenario();
} catch (error) {
  facts.failure = (error as Error).message;
} finally {
  clearInterval(statusTimer);
  display.status(status());
  facts.agentRuns.push(...control.agents());
  facts.delivered = status().delivered;
  facts.duplicates = {
    search: search.duplicates('search'),
    archive: archive.duplicates('archive'),
  };
  facts.crashReports.push(...archive.crashReports());
  if (!agentExited) agent.kill('SIGKILL');
  reaper.sweep();
  facts.zombies = countZombies();
  facts.processesLeft = leftovers().filter((p) => p.state !== 'Z').length;
  await Promise.all([search.close(), archive.close(), control.close(), simulator?.close()]);
  await reaper.close();
  display.close();
  closeSync(agentLog);
}

const report = buildReport(facts, performance.now() - startedAt);
if (json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
else printReport(process.stdout, report);
if (!report.allKept) {
  // On stderr, so that `--json` output stays one JSON document.
  process.stderr.write(`\nThe agent's output (last 40 lines of ${agentLogPath}):\n`);
  process.stderr.write(`${readFileSync(agentLogPath, 'utf8').split('\n').slice(-40).join('\n')}\n`);
}
rmSync(work, { recursive: true, force: true });
process.exit(report.allKept ? 0 : 1);
