/**
 * The demo's final report: the facts the scenario gathered, judged as promises. Each promise is
 * checked against what the other side saw — the backends count distinct record ids, the demo
 * counts zombies in its own process tree — not only against the agent's word.
 */
import type { Writable } from 'node:stream';
import type { AgentStats } from './agent/agent-stats.js';
import type { CrashReportReceived } from './log-backend.js';
import type { ScrapedFigures } from './scrape.js';

export interface ScenarioFacts {
  readonly realDocker: boolean;
  /** The lines the agent reads in its last run (the containers its discovery knows then). */
  linesTotal: number;
  readonly outage: { ms: number; deliveredToArchive: number; deliveredToSearch: number };
  /** The last counters of each agent process, in start order. */
  readonly agentRuns: AgentStats[];
  /** Distinct record ids each backend received, and how many arrived more than once. */
  delivered: { search: number; archive: number };
  duplicates: { search: number; archive: number };
  readonly crashReports: CrashReportReceived[];
  agentExit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  /** Zombies and live processes left in the demo's tree at the end. */
  zombies: number;
  processesLeft: number;
  /**
   * The scrape of the agent's Prometheus endpoint (its last run, before the heap exhaustion),
   * and the agent's own stats reports just before and just after it.
   */
  telemetry: { before: AgentStats; scraped: ScrapedFigures; after: AgentStats } | undefined;
  /** The step that did not complete, if one did not. */
  failure: string | undefined;
}

/** A figure as the scrape, the agent (before and after the scrape) and the backends saw it. */
export interface ScrapedFigure {
  readonly scraped: number;
  readonly agentBefore: number;
  readonly agentAfter: number;
}

/** The agent's OpenTelemetry metrics as the demo scraped them, beside the other views. */
export interface TelemetryReport {
  /** Records each output delivered in the agent's last run (a counter since its pool opened). */
  readonly delivered: { readonly search: ScrapedFigure; readonly archive: ScrapedFigure };
  /** Zombies the agent's last run reaped. */
  readonly zombiesReaped: ScrapedFigure;
  /** Crash reports the last run's guard confirmed sent. */
  readonly crashReportsSent: ScrapedFigure;
  /** Every scraped figure lies between the agent's reports before and after the scrape. */
  readonly agrees: boolean;
}

function telemetryReport(t: NonNullable<ScenarioFacts['telemetry']>): TelemetryReport {
  const figure = (scraped: number, read: (s: AgentStats) => number): ScrapedFigure => ({
    scraped,
    agentBefore: read(t.before),
    agentAfter: read(t.after),
  });
  const delivered = {
    search: figure(t.scraped.delivered.search, (s) => s.pool.delivered.search ?? 0),
    archive: figure(t.scraped.delivered.archive, (s) => s.pool.delivered.archive ?? 0),
  };
  const zombiesReaped = figure(t.scraped.zombiesReaped, (s) => s.health.reaped);
  const crashReportsSent = figure(t.scraped.crashReportsSent, (s) => s.telemetry.crashReportsSent);
  const all = [delivered.search, delivered.archive, zombiesReaped, crashReportsSent];
  return {
    delivered,
    zombiesReaped,
    crashReportsSent,
    agrees: all.every((f) => f.agentBefore <= f.scraped && f.scraped <= f.agentAfter),
  };
}

export interface KeptPromise {
  readonly promise: string;
  readonly kept: boolean;
  readonly detail: string;
}

/** One crash report as the report shows it. */
export interface CrashReportSummary {
  /** `guard` (in process) or `supervisor` (from outside). */
  readonly from: 'guard' | 'supervisor';
  readonly type: string;
  readonly message: string;
  readonly pod: string;
  readonly node: string;
  readonly lastRecords: number;
  /** The supervisor's exit diagnosis: how the child ended. */
  readonly exit: { readonly code: number | null; readonly signal: string | null } | undefined;
}

export interface DemoReport {
  readonly allKept: boolean;
  readonly promises: readonly KeptPromise[];
  /** The container runtime discovery ran against. */
  readonly runtime: 'docker' | 'simulator';
  readonly containers: { readonly present: number; readonly discovered: number };
  readonly records: {
    /** Lines the agent read and the pool accepted (distinct, across the restart). */
    readonly accepted: number;
    readonly total: number;
    readonly delivered: { readonly search: number; readonly archive: number };
    readonly duplicates: { readonly search: number; readonly archive: number };
    readonly dropped: number;
  };
  readonly memory: { readonly peakBytesUp: number; readonly maxBytesUp: number };
  readonly zombies: {
    readonly reaped: number;
    readonly left: number;
    readonly processesLeft: number;
  };
  readonly crashReports: readonly CrashReportSummary[];
  readonly agentExit: { readonly code: number | null; readonly signal: string | null } | undefined;
  readonly telemetry: TelemetryReport | undefined;
  readonly durationMs: number;
}

const count = (n: number) => n.toLocaleString('en-US');

function summarize(report: CrashReportReceived): CrashReportSummary {
  const fromSupervisor = report.attributes['holdfast.supervisor'] === true;
  return {
    from: fromSupervisor ? 'supervisor' : 'guard',
    type: String(report.attributes['exception.type'] ?? ''),
    message: String(report.attributes['exception.message'] ?? report.body),
    pod: String(report.resource['k8s.pod.name'] ?? ''),
    node: String(report.resource['k8s.node.name'] ?? ''),
    lastRecords: (
      JSON.parse(String(report.attributes['holdfast.last_records'] ?? '[]')) as unknown[]
    ).length,
    exit: fromSupervisor
      ? {
          code:
            report.attributes['process.exit.code'] === undefined
              ? null
              : Number(report.attributes['process.exit.code']),
          signal:
            report.attributes['holdfast.signal'] === undefined
              ? null
              : String(report.attributes['holdfast.signal']),
        }
      : undefined,
  };
}

export function buildReport(facts: ScenarioFacts, durationMs: number): DemoReport {
  const runs = facts.agentRuns;
  const first = runs[0];
  const last = runs.at(-1);
  const total = facts.linesTotal;
  const accepted = last?.source.position ?? 0;
  const dropped = runs.reduce((sum, run) => sum + run.pool.dropped, 0);
  const peakBytesUp = Math.max(0, ...runs.map((run) => run.pool.peakBytesUp));
  const maxBytesUp = first?.pool.maxBytesUp ?? 0;
  const reaped = runs.reduce((sum, run) => sum + run.health.reaped, 0);
  const reports = facts.crashReports.map(summarize);
  const guardReport = reports.find((r) => r.from === 'guard' && r.type === 'Error');
  const supervisorUncaught = reports.find(
    (r) => r.from === 'supervisor' && r.type === 'uncaught-exception',
  );
  const supervisorHeap = reports.find(
    (r) => r.from === 'supervisor' && r.type === 'heap-out-of-memory',
  );
  const exit = facts.agentExit;
  const exitText =
    exit === undefined
      ? 'the agent did not exit'
      : exit.signal === null
        ? `exit code ${exit.code}`
        : `signal ${exit.signal}`;
  const metadataKept = reports.every((r) => r.pod !== '' && r.node !== '');
  const telemetry = facts.telemetry === undefined ? undefined : telemetryReport(facts.telemetry);
  const d = telemetry?.delivered;

  const promises: KeptPromise[] = [
    {
      promise: "the agent's OpenTelemetry metrics, scraped, agree with its own counters",
      kept: telemetry?.agrees === true,
      detail:
        telemetry === undefined || d === undefined
          ? 'the agent was not scraped'
          : `Prometheus scrape of its last run: delivered search ${count(d.search.scraped)}, archive ${count(d.archive.scraped)} (the backends saw ${count(facts.delivered.search)} and ${count(facts.delivered.archive)} across both runs); ${telemetry.zombiesReaped.scraped} zombies reaped; ${telemetry.crashReportsSent.scraped} crash reports sent by its guard`,
    },
    {
      promise: 'the scenario ran to its end',
      kept: facts.failure === undefined,
      detail: facts.failure ?? 'every step completed',
    },
    {
      promise: 'discovery survives exited containers whose inspects hang or fail',
      kept:
        first !== undefined &&
        !first.discovery.fatal &&
        first.discovery.running > 0 &&
        first.discovery.known === first.discovery.running,
      detail:
        first === undefined
          ? 'the agent never reported'
          : `${first.discovery.known} of ${first.discovery.running} running containers discovered (${facts.realDocker ? 'Docker daemon' : 'simulated runtime'}); ${first.discovery.timedOut} exited ones timed out and ${first.discovery.failed} failed, and the round was not fatal`,
    },
    {
      promise: 'every record accepted reached both outputs, across an outage and a crash',
      kept:
        total > 0 &&
        accepted === total &&
        facts.delivered.search === total &&
        facts.delivered.archive === total &&
        dropped === 0,
      detail: `${count(accepted)} of ${count(total)} log lines accepted; delivered: search ${count(facts.delivered.search)}, archive ${count(facts.delivered.archive)}; ${dropped} dropped; duplicates (at-least-once, after retries and the crash): search ${count(facts.duplicates.search)}, archive ${count(facts.duplicates.archive)}`,
    },
    {
      promise: "one output's outage never stopped the other",
      kept: facts.outage.deliveredToArchive > 0 && facts.outage.deliveredToSearch === 0,
      detail: `while search was down for ${facts.outage.ms / 1_000} s, archive took ${count(facts.outage.deliveredToArchive)} records and search ${count(facts.outage.deliveredToSearch)}`,
    },
    {
      promise: "the pool's memory stayed within its budget",
      kept: runs.length > 0 && peakBytesUp <= maxBytesUp,
      detail: `peak ${count(peakBytesUp)} bytes up of a ${count(maxBytesUp)}-byte budget (sampled every 5 ms); the backlog waited on disk`,
    },
    {
      promise: 'timed-out probes leave no zombies and no processes behind',
      kept: reaped > 0 && facts.zombies === 0 && facts.processesLeft === 0,
      detail: `${reaped} orphans of timed-out sidecar checks reaped by the agent; at the end ${facts.zombies} zombies and ${facts.processesLeft} processes left`,
    },
    {
      promise: 'both crashes were reported with metadata, and the agent died as it would have',
      kept:
        guardReport !== undefined &&
        guardReport.lastRecords > 0 &&
        supervisorUncaught !== undefined &&
        supervisorHeap !== undefined &&
        metadataKept &&
        exit !== undefined &&
        supervisorHeap.exit !== undefined &&
        exit.code === supervisorHeap.exit.code &&
        exit.signal === supervisorHeap.exit.signal,
      detail: `${reports.length} reports: ${reports.map((r) => `${r.from} ${r.type}`).join(', ') || 'none'}; the agent ended with ${exitText}`,
    },
  ];
  return {
    allKept: promises.every((p) => p.kept),
    promises,
    runtime: facts.realDocker ? 'docker' : 'simulator',
    containers: {
      present: first?.discovery.running ?? 0,
      discovered: first?.discovery.known ?? 0,
    },
    records: {
      accepted,
      total,
      delivered: facts.delivered,
      duplicates: facts.duplicates,
      dropped,
    },
    memory: { peakBytesUp, maxBytesUp },
    zombies: { reaped, left: facts.zombies, processesLeft: facts.processesLeft },
    crashReports: reports,
    agentExit: exit,
    telemetry,
    durationMs: Math.round(durationMs),
  };
}

export function printReport(out: Writable, report: DemoReport): void {
  out.write('\nholdfast demo — report\n\n');
  for (const p of report.promises) {
    out.write(`${p.kept ? '  kept  ' : '  FAILED'}  ${p.promise}\n          ${p.detail}\n`);
  }
  out.write('\n  crash reports received:\n');
  for (const r of report.crashReports) {
    const exit = r.exit === undefined ? '' : ` · child ${r.exit.signal ?? `exit ${r.exit.code}`}`;
    out.write(
      `    ${r.from.padEnd(10)} ${r.type}: ${r.message.slice(0, 60)} · ${r.pod} on ${r.node} · ${r.lastRecords} last records${exit}\n`,
    );
  }
  out.write(
    `\n${report.allKept ? 'All promises kept' : 'Some promises FAILED'} in ${(report.durationMs / 1_000).toFixed(1)} s.\n`,
  );
}
