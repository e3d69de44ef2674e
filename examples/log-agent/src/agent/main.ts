/**
 * The log agent: a small but real log shipper built on the four holdfast packages, through their
 * public APIs only — the way a user composes them.
 *
 *   supervisor (crash-flush)   superviseSelf(): the agent re-executes itself as a supervised
 *                              child; heap exhaustion and native crashes are reported from outside
 *   crash guard (crash-flush)  uncaught exceptions, rejections, exits and signals reported from
 *                              inside, with the agent's last log records
 *   discovery (batch)          containers listed and inspected over the Docker Engine API
 *   input → pool → outputs     container logs → a file-backed chunk pool → two HTTP outputs
 *   (chunk-pool)               (search, archive), each with its own memory reserve and retries
 *   health (reaper)            an HTTP probe of the backend, a sidecar script probe, orphan reaping
 *
 * Configured by environment variables (see config.ts). Run by the demo: `pnpm demo`.
 */
import { join } from 'node:path';
import { ChunkPool, fileStorage } from '@holdfast/chunk-pool';
import { installCrashGuard, otlpLogsSink, superviseSelf } from '@holdfast/crash-flush';
import type { AgentStats } from './agent-stats.js';
import { exhaustHeap, throwUncaught } from './bugs.js';
import { readConfig } from './config.js';
import { startControlClient } from './control-client.js';
import { createDiscovery, type DiscoveryRound } from './discovery.js';
import { startAgentHealth } from './health.js';
import { runHttpOutput } from './http-output.js';
import { startAgentMetrics } from './metrics.js';
import { startLogSource } from './log-source.js';

const config = readConfig(process.env);
const service = 'log-agent';
const metadata = { 'k8s.pod.name': 'log-agent-7d9fz', 'k8s.node.name': 'demo-node-1' };
const crashSink = otlpLogsSink({ url: config.otlpUrl });

// From here on this code runs in the supervised child; the supervisor waits for it, reports
// how it died, restarts it once, and finally exits exactly as it did.
await superviseSelf({
  service,
  sink: crashSink,
  metadata,
  restart: { maxRestarts: 1, delay: 100 },
});
const guard = installCrashGuard({
  service,
  sink: crashSink,
  metadata,
  spoolDir: join(config.stateDir, 'crash-spool'),
});
guard.log({ msg: 'agent started', pid: process.pid });

const health = startAgentHealth(config.outputs.search);

const discovery = createDiscovery(config.dockerSocket);
let rounds = 0;
let lastRound: DiscoveryRound | undefined;
const discover = async () => {
  lastRound = await discovery.round();
  rounds += 1;
  guard.log({ msg: 'discovery round', summary: lastRound.summary });
};
await discover();
// Later rounds keep the inventory fresh; each merges into the last good state.
setInterval(() => {
  discover().catch((error: unknown) =>
    guard.log({ msg: 'discovery failed', error: String(error) }),
  );
}, 2_000);

const pool = await ChunkPool.open({
  outputs: [
    { name: 'search', retry: { maxAttempts: Infinity, minDelay: 100, maxDelay: 500 } },
    { name: 'archive', retry: { maxAttempts: Infinity, minDelay: 100, maxDelay: 500 } },
  ],
  storage: fileStorage({ dir: join(config.stateDir, 'buffer'), fsync: 'batch' }),
  chunkBytes: 64 * 1024,
  chunkAge: 200,
  maxBytesUp: 2 * 1024 * 1024,
  reservePerOutput: 256 * 1024,
  maxBytesStored: 256 * 1024 * 1024,
  leaseTimeout: 10_000,
  // Called before open() resolves: an event would fire before anyone could listen.
  onRecovered: ({ chunks, records, quarantined, lost, unrouted }) =>
    guard.log({
      msg: 'backlog recovered',
      chunks,
      records,
      quarantined,
      lost,
      unrouted: unrouted.length,
    }),
});

// Every package's figures as OpenTelemetry metrics, on a Prometheus endpoint (loopback, port 0).
const metricsUrl = await startAgentMetrics({ pool, guard, health });

// The pool's memory in use, sampled often enough to see its peak.
let peakBytesUp = 0;
setInterval(() => {
  peakBytesUp = Math.max(peakBytesUp, pool.stats().bytesUp);
}, 5);

const stopping = new AbortController();
for (const output of ['search', 'archive'] as const) {
  // An output loop retries every delivery failure itself; if the loop itself fails, the agent
  // cannot deliver, so it dies of it: the crash guard reports it, the supervisor restarts it.
  runHttpOutput(pool, output, `${config.outputs[output]}/logs/${output}`, stopping.signal).catch(
    (error: unknown) => {
      setImmediate(() => {
        throw error;
      });
    },
  );
}

const source = startLogSource({
  pool,
  containers: discovery.containers().map((c) => ({ id: c.Id, name: c.Name.replace(/^\//, '') })),
  linesPerContainer: config.linesPerContainer,
  linesPerSecond: config.linesPerSecond,
  checkpointPath: join(config.stateDir, 'source.checkpoint'),
  signal: stopping.signal,
});

const stats = (): AgentStats => {
  const p = pool.stats();
  const backend = health.backend.status();
  const sidecar = health.sidecar.status();
  const reaped = health.reaper.stats();
  return {
    pid: process.pid,
    discovery: {
      rounds,
      listed: lastRound?.listed ?? 0,
      running: lastRound?.running ?? 0,
      known: discovery.containers().length,
      failed: lastRound?.failed ?? 0,
      timedOut: lastRound?.timedOut ?? 0,
      fatal: lastRound?.fatal ?? false,
    },
    source: {
      position: source.position(),
      total: source.total,
      resumedFrom: source.resumedFrom,
      done: source.isDone(),
    },
    pool: {
      bytesUp: p.bytesUp,
      peakBytesUp: Math.max(peakBytesUp, p.bytesUp),
      maxBytesUp: p.maxBytesUp,
      bytesDown: p.down.bytes,
      recoveredRecords: p.recovered.records,
      pendingRecords: Object.fromEntries(
        Object.entries(p.outputs).map(([name, o]) => [name, o.pendingRecords]),
      ),
      retries: Object.fromEntries(Object.entries(p.outputs).map(([name, o]) => [name, o.retries])),
      dropped:
        p.droppedWhenFull.records +
        Object.values(p.outputs).reduce((sum, o) => sum + o.dropped.records, 0),
      delivered: Object.fromEntries(
        Object.entries(p.outputs).map(([name, o]) => [name, o.delivered.records]),
      ),
    },
    telemetry: { metricsUrl, crashReportsSent: guard.stats().sent },
    health: {
      backend: backend.state,
      sidecar: sidecar.state,
      sidecarRuns: sidecar.runs,
      reaped: reaped.reaped,
      zombies: reaped.zombiesNow,
    },
  };
};

startControlClient({
  url: config.controlUrl,
  stats,
  onCommand: (command) => {
    guard.log({ msg: 'command', command });
    if (command === 'throw') throwUncaught();
    else if (command === 'exhaust-heap') exhaustHeap();
  },
});

await source.done;
guard.log({ msg: 'every line read and delivered', lines: source.total });
// The agent stays up — shipping, checking health, reaping — until the scenario ends it.
