/**
 * `supervise()`: runs the agent as a child and reports what no in-process hook can see — V8 heap
 * exhaustion, native aborts, SIGSEGV, SIGKILL, the OOM killer — with an exit diagnosis.
 *
 * This file is the public API (`supervise`, `superviseSelf`, `exitAs` and their options) and the
 * restart loop; one run of the child is internal/run-child.ts, the exit diagnosis
 * exit-diagnosis.ts, and the cgroup, spool, watch-marker and PID-1 parts are in `internal/`.
 *
 * @module
 */
import { constants } from 'node:os';
import { setLongTimeout } from '@holdfast/internal';
import type { ExitDiagnosis } from './exit-diagnosis.js';
import { crashLoopSummaries } from './internal/crash-loop-summary.js';
import { RateLimit } from './internal/rate-limit.js';
import { reapAsInit } from './internal/reap-as-init.js';
import { runChild } from './internal/run-child.js';
import {
  checkSuperviseOptions,
  checkSuperviseSelfOptions,
  readMetadata,
} from './internal/supervise-options.js';
import { Spool } from './internal/spool.js';
import { takeLost, type LostChild } from './internal/watch-marker.js';
import { callAsync } from './internal/user-code.js';
import type { Metadata } from './options.js';
import { buildReport, type CrashReport } from './report.js';
import type { Sink } from './sinks.js';

/** Options of {@link supervise}. */
export interface SuperviseOptions {
  readonly command: string;
  readonly args?: readonly string[];
  readonly sink: Sink;
  readonly service: string;
  readonly metadata?: Metadata | (() => Metadata);
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /**
   * Copy the child's stdout and stderr to this process's, unchanged. `false` only keeps the
   * stderr tail for the report (tests). `{ stdout, stderr }` copies each to the stream given
   * instead (a log file, a logger), and an omitted one nowhere; either way the child is paused
   * while a copy's stream is full, and `supervise()` resolves once the copies are flushed.
   * @default true
   */
  readonly tee?:
    boolean | { readonly stdout?: NodeJS.WritableStream; readonly stderr?: NodeJS.WritableStream };
  /**
   * Lines of stderr kept for the report. The tail is bounded in bytes too (1 KiB per line asked
   * for), so a child that floods stderr, or writes no newlines, costs no more memory.
   * @default 50
   */
  readonly tailLines?: number;
  /**
   * Signals forwarded to the child (SIGTERM, SIGINT, SIGHUP and SIGQUIT also end the restart loop).
   * @default ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH']
   */
  readonly forwardSignals?: readonly NodeJS.Signals[];
  /**
   * Budget for sending the report, in ms; past it the report is spooled (if `spoolDir`).
   * @default 5_000
   */
  readonly flushTimeout?: number;
  readonly spoolDir?: string;
  /**
   * Restart the child after a crash, up to `maxRestarts` times, `delay` apart. A forwarded
   * termination signal ends the loop. @default no restarts
   */
  readonly restart?: { readonly maxRestarts: number; readonly delay?: number };
  /**
   * Crash loops: within `window` only the first crash of a fingerprint is reported in full;
   * the rest are counted, and the counts are sent as one report when the loop ends.
   * @default { window: 60_000 }
   */
  readonly rateLimit?: { readonly window?: number };
  /**
   * Stops supervising: the running child is killed with SIGKILL (no report is sent for it), no
   * restart follows, and `supervise()` rejects with `signal.reason`.
   */
  readonly signal?: AbortSignal;
}

/** How a supervised child ended, and whether its report left. */
export interface SupervisedExit {
  readonly diagnosis: ExitDiagnosis;
  /** The report sent (or spooled), when the exit was a crash. */
  readonly report: CrashReport | undefined;
  readonly delivered: boolean;
  /**
   * Crashes that were only counted (a crash loop), over the whole supervision. However the loop
   * ends (its last restart, a termination signal, a clean exit), they leave as one summary
   * report per fingerprint.
   */
  readonly suppressed: number;
}

/** The supervisor's largest report (the guard's default). */
const MAX_REPORT_BYTES = 65_536;

/**
 * The last stack trace in the child's stderr — the `Error: …` line and the `at …` lines under
 * it, as Node prints an uncaught exception — or '' when it printed none (a signal, a V8 fatal
 * error).
 */
function stackIn(lines: readonly string[]): string {
  const last = lines.findLastIndex((line) => /^\s+at /.test(line));
  if (last === -1) return '';
  let first = last;
  while (first > 0 && /^\s+at /.test(lines[first - 1]!)) first -= 1;
  if (first > 0) first -= 1; // the `Error: message` line above the frames
  return lines.slice(first, last + 1).join('\n');
}

/** The child's runtime, when it is this Node (same executable); unknown otherwise. */
const childRuntime = (options: SuperviseOptions) =>
  options.command === process.execPath ? undefined : null;

/** The report of a child whose supervisor died with it, built from its watch marker. */
function lostReport({ facts, lastSeenAt, childRunning }: LostChild): CrashReport {
  const diagnosis: ExitDiagnosis = {
    exitCode: null,
    signal: null,
    signature: 'lost',
    oomKilled: undefined,
    peakMemoryBytes: undefined,
    peakMemorySource: undefined,
    // A lower bound: the marker was touched every second while the child ran.
    uptimeMs: Math.max(0, lastSeenAt - facts.startedAt),
    restarts: facts.restarts,
    lastStderr: [],
  };
  const message = childRunning
    ? `the supervisor (pid ${facts.supervisorPid}) of child ${facts.childPid} (${facts.command}) ` +
      `died without seeing an exit, and the child still runs, unsupervised: its exit will not be ` +
      `reported (the supervisor alone was killed); marker last touched at ${new Date(lastSeenAt).toISOString()}`
    : `child ${facts.childPid} (${facts.command}) died with its supervisor (pid ${facts.supervisorPid}), ` +
      `so no exit was seen: both were killed at once (a SIGKILL of the process group, a cgroup OOM ` +
      `kill of the group, a lost node); last seen alive at ${new Date(lastSeenAt).toISOString()}`;
  return buildReport({
    service: facts.service,
    kind: 'exit',
    error: Object.assign(new Error(message), { name: 'lost', stack: '' }),
    lastRecords: [],
    metadata: facts.metadata,
    extra: { diagnosis, supervisor: true, childRunning },
    maxReportBytes: MAX_REPORT_BYTES,
    uptimeMs: diagnosis.uptimeMs,
    pid: facts.childPid,
    runtime: null,
  });
}

/**
 * At start, what earlier supervisors of this spool left: the children that died with their
 * supervisor become reports in the spool, and the spool is sent, oldest first, four at a time,
 * while the child runs (the start never waits for it). Never rejects.
 */
async function recoverSpool(
  options: SuperviseOptions,
  spool: Spool,
  stopped: () => boolean,
): Promise<void> {
  for (const lost of await takeLost(spool.dir, (path, reason) => spool.reject(path, reason)))
    spool.write(lostReport(lost));
  await spool.resend((r) => callAsync(() => options.sink.send(r), options.flushTimeout ?? 5_000), {
    concurrency: 4,
    maxEntryBytes: 4 * MAX_REPORT_BYTES,
    stopped,
  });
}

/**
 * Sends a report within the budget; spools it when the sink does not take it in time. Never
 * throws: a spool that cannot be written costs the report, never the supervisor's exit status.
 */
async function deliver(
  options: SuperviseOptions,
  report: CrashReport,
  spool: Spool | undefined,
): Promise<boolean> {
  try {
    await callAsync(() => options.sink.send(report), options.flushTimeout ?? 5_000);
    return true;
  } catch {
    spool?.write(report);
    return false;
  }
}

/** Waits `ms`, or until `signal` aborts (then rejects with its reason); removes its listener. */
function delay(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) return reject(signal.reason);
    const onAbort = () => {
      timer.clear();
      reject(signal?.reason);
    };
    const timer = setLongTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** The loop is over: what the rate limit only counted leaves as one small report per fingerprint. */
async function sendCrashLoopSummaries(
  options: SuperviseOptions,
  rateLimit: RateLimit,
  metadata: CrashReport['metadata'],
  restarts: number,
  spool: Spool | undefined,
): Promise<void> {
  const context = { service: options.service, metadata, restarts, runtime: childRuntime(options) };
  for (const summary of crashLoopSummaries(rateLimit, context, MAX_REPORT_BYTES)) {
    await deliver(options, summary, spool);
  }
}

/** The restart loop: runs the child, reports each crash, until a clean exit or the last restart. */
async function superviseChildren(
  options: SuperviseOptions,
  spool: Spool | undefined,
): Promise<SupervisedExit> {
  const maxRestarts = options.restart?.maxRestarts ?? 0;
  // The guard's rate limit: a crash loop's first report in full, then counts.
  const rateLimit = new RateLimit(options.rateLimit?.window ?? 60_000, 1);
  let suppressed = 0;
  let terminating = false;
  let lastSent: { report: CrashReport; delivered: boolean } | undefined;
  for (let restarts = 0; ; restarts += 1) {
    options.signal?.throwIfAborted();
    const { diagnosis, pid } = await runChild(options, restarts, () => (terminating = true));
    options.signal?.throwIfAborted();
    const metadata = readMetadata(options);
    if (diagnosis.signature === 'clean') {
      // Crashes before this clean exit that were only counted are still reported, in summary.
      await sendCrashLoopSummaries(options, rateLimit, metadata, restarts, spool);
      return { diagnosis, report: undefined, delivered: true, suppressed };
    }

    const report = buildReport({
      service: options.service,
      kind: diagnosis.signal === null ? 'exit' : 'signal',
      error: Object.assign(
        new Error(
          `child ${diagnosis.signal === null ? `exited with code ${diagnosis.exitCode}` : `died of ${diagnosis.signal}`} (${diagnosis.signature})`,
        ),
        // The stack the child printed, if it printed one; its stderr is the report's records.
        { name: diagnosis.signature, stack: stackIn(diagnosis.lastStderr) },
      ),
      ...(diagnosis.signal === null ? {} : { signal: diagnosis.signal }),
      ...(diagnosis.exitCode === null ? {} : { exitCode: diagnosis.exitCode }),
      lastRecords: diagnosis.lastStderr,
      metadata,
      extra: { diagnosis, supervisor: true },
      maxReportBytes: MAX_REPORT_BYTES,
      uptimeMs: diagnosis.uptimeMs,
      pid,
      runtime: childRuntime(options),
    });
    if (rateLimit.admit(report.fingerprint).pass)
      lastSent = { report, delivered: await deliver(options, report, spool) };
    else suppressed += 1;

    if (restarts >= maxRestarts || terminating) {
      await sendCrashLoopSummaries(options, rateLimit, metadata, restarts, spool);
      // Set by the first crash, which always passes: the rate limit is this supervision's own.
      const sent = lastSent!;
      return { diagnosis, report: sent.report, delivered: sent.delivered, suppressed };
    }
    await delay(options.restart?.delay ?? 1_000, options.signal);
  }
}

/**
 * Runs `command` as a child, tees its stdout and stderr unchanged, forwards termination signals,
 * and when it dies of anything but a clean exit, sends a report with an {@link ExitDiagnosis};
 * with `restart`, starts it again, reporting a crash loop once in full and then as counts.
 *
 * **When to use:** around an agent, for the deaths no in-process hook sees: V8 heap exhaustion,
 * `process.abort()`, SIGSEGV, SIGKILL and the OOM killer. The CLI `holdfast-supervise` wraps it
 * and exits exactly as the child did.
 *
 * @example
 * ```ts
 * const { diagnosis } = await supervise({ command: 'node', args: ['agent.js'], service: 'log-agent', sink });
 * ```
 *
 * @since 0.1.0
 */
export async function supervise(options: SuperviseOptions): Promise<SupervisedExit> {
  checkSuperviseOptions(options);
  // As PID 1, orphans of the agent are ours to reap; started before the first child is spawned,
  // so the reaper knows that child as one libuv owns.
  await reapAsInit();
  // One spool, the guard's.
  const spool =
    options.spoolDir === undefined
      ? undefined
      : new Spool(
          options.spoolDir,
          { maxReports: 1_000, maxBytes: 64 * 1_048_576 },
          { spooled: 0, recovered: 0, evicted: 0, rejected: 0, lost: 0 },
        );
  let over = false;
  const recovering =
    spool === undefined ? Promise.resolve() : recoverSpool(options, spool, () => over);
  try {
    return await superviseChildren(options, spool);
  } finally {
    // What was being resent finishes (each send within flushTimeout); nothing new starts.
    over = true;
    await recovering;
  }
}

/**
 * Ends this process exactly as a supervised child ended: with its exit code, or by re-raising its
 * signal (as PID 1, which a signal cannot kill that way, with 128 + the signal's number).
 *
 * @example
 * ```ts
 * const { diagnosis } = await supervise(options);
 * exitAs(diagnosis);
 * ```
 */
export function exitAs(diagnosis: Pick<ExitDiagnosis, 'exitCode' | 'signal'>): void {
  if (diagnosis.signal === null) process.exit(diagnosis.exitCode ?? 1);
  if (process.pid === 1) process.exit(128 + (constants.signals[diagnosis.signal] ?? 0));
  process.removeAllListeners(diagnosis.signal);
  process.kill(process.pid, diagnosis.signal);
}

/** Options of {@link superviseSelf}: those of `supervise`, without the command. */
export interface SuperviseSelfOptions extends Omit<SuperviseOptions, 'command' | 'args'> {
  /**
   * The environment variable that marks the supervised child.
   * @default 'HOLDFAST_SUPERVISED'
   */
  readonly marker?: string;
}

/**
 * Puts the running agent under its own supervisor: the first call re-executes the same entry
 * (same Node flags and arguments) as a child marked by an environment variable, supervises it,
 * and ends this process exactly as the child ended — it never returns there. In the marked child
 * it returns at once, and the agent goes on.
 *
 * **When to use:** an agent that cannot change how it is started (`node agent.js` in an image
 * you do not control) but must report heap exhaustion and native crashes.
 *
 * @example
 * ```ts
 * await superviseSelf({ service: 'log-agent', sink: otlpLogsSink({ url }) });
 * startAgent(); // runs in the supervised child only
 * ```
 *
 * @since 0.1.0
 */
export async function superviseSelf(options: SuperviseSelfOptions): Promise<void> {
  // Checked in the child too: a bad option fails where the agent runs, not only above it.
  checkSuperviseSelfOptions(options);
  const marker = options.marker ?? 'HOLDFAST_SUPERVISED';
  if (process.env[marker] === '1') return;
  const { marker: _marker, ...rest } = options;
  const { diagnosis } = await supervise({
    ...rest,
    command: process.execPath,
    args: [...process.execArgv, ...process.argv.slice(1)],
    env: { ...(options.env ?? process.env), [marker]: '1' },
  });
  exitAs(diagnosis);
  // The process is ending; the agent's code after `await superviseSelf()` must not run here.
  await new Promise<never>(() => {});
}
