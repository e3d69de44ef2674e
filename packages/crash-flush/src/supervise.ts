/**
 * `supervise()`: runs the agent as a child and reports what no in-process hook can see — V8 heap
 * exhaustion, native aborts, SIGSEGV, SIGKILL, the OOM killer — with an exit diagnosis.
 *
 * Longer than one concept per file should be (about 650 lines): the public API (`supervise`,
 * `superviseSelf`, `exitAs`, `crashSignature` and their types) lives with the one child run and
 * the restart loop it documents; the cgroup, spool, watch-marker and PID-1 parts are already in
 * `internal/`. Moving `runChild` and its stream helpers out is the next split.
 *
 * @module
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { setLongTimeout } from '@holdfast/internal';
import { RateLimit } from './internal/rate-limit.js';
import { memoryCgroup, oomKills, peakBytes, type MemoryCgroup } from './internal/memory-cgroup.js';
import { reapAsInit } from './internal/reap-as-init.js';
import { checkSuperviseOptions, checkSuperviseSelfOptions } from './internal/supervise-options.js';
import { Spool } from './internal/spool.js';
import { takeLost, TOUCH_EVERY_MS, WatchMarker, type LostChild } from './internal/watch-marker.js';
import { callAsync } from './internal/user-code.js';
import type { Metadata } from './options.js';
import { buildReport, type CrashReport } from './report.js';
import type { Sink } from './sinks.js';

/**
 * What killed the child, as far as its exit and its stderr tell; `'lost'`: the child and its
 * supervisor died together, so no exit was seen (reported by the next supervisor of the spool).
 */
export type CrashSignature =
  | 'clean'
  | 'exit-code'
  | 'uncaught-exception'
  | 'heap-out-of-memory'
  | 'abort'
  | 'segfault'
  | 'killed'
  | 'oom-killed'
  | 'signal'
  | 'lost';

/** The facts of one exit: what the Apollo investigation had to gather by hand. */
export interface ExitDiagnosis {
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly signature: CrashSignature;
  /**
   * The kernel OOM killer acted during the child's life: the `oom_kill` counter of the memory
   * cgroup (v2 `memory.events`, v1 `memory.oom_control`) grew; undefined when it cannot be read.
   */
  readonly oomKilled: boolean | undefined;
  /**
   * The child's peak memory in bytes, from the source {@link ExitDiagnosis.peakMemorySource}
   * names; undefined when neither could be read.
   */
  readonly peakMemoryBytes: number | undefined;
  /**
   * Where `peakMemoryBytes` came from: `'cgroup-memory.peak'` (v2) or
   * `'cgroup-memory.max_usage_in_bytes'` (v1) when the child ran in a memory cgroup of its own
   * (not the supervisor's: a shared cgroup's peak would count the supervisor too) that still
   * existed at its exit; otherwise `'proc-vmhwm'`, the resident high-water mark from
   * `/proc/<pid>/status`, sampled every 50 ms (a peak reached between two samples is missed);
   * undefined when neither could be read.
   */
  readonly peakMemorySource:
    'cgroup-memory.peak' | 'cgroup-memory.max_usage_in_bytes' | 'proc-vmhwm' | undefined;
  readonly uptimeMs: number;
  readonly restarts: number;
  /** The last lines the child wrote to stderr. */
  readonly lastStderr: readonly string[];
}

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
  /** Crashes that were only counted (a crash loop), over the whole supervision. */
  readonly suppressed: number;
}

function residentBytes(pid: number): number | undefined {
  try {
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match === null ? undefined : Number(match[1]) * 1_024;
  } catch {
    return undefined;
  }
}

/**
 * Reads the crash signature from the exit and the stderr tail: what `supervise()` puts in its
 * diagnosis, for a supervisor of your own.
 *
 * @example
 * ```ts run
 * import { crashSignature } from '@holdfast/crash-flush';
 *
 * const stderr = ['FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory'];
 * crashSignature(null, 'SIGABRT', stderr, false); // => 'heap-out-of-memory'
 * ```
 */
export function crashSignature(
  exitCode: number | null,
  signal: NodeJS.Signals | null,
  stderr: readonly string[],
  oomKilled: boolean | undefined,
): CrashSignature {
  const text = stderr.join('\n');
  if (/FATAL ERROR: .*heap out of memory|JavaScript heap out of memory/.test(text))
    return 'heap-out-of-memory';
  if (signal === 'SIGKILL') return oomKilled === true ? 'oom-killed' : 'killed';
  if (signal === 'SIGSEGV') return 'segfault';
  if (signal === 'SIGABRT') return 'abort';
  if (signal !== null) return 'signal';
  if (exitCode === 0) return 'clean';
  if (/^\s+at .+$/m.test(text) && /(Error|Exception)\b.*$/m.test(text)) return 'uncaught-exception';
  return 'exit-code';
}

/**
 * The last `maxBytes` of a stream, kept as the chunks it arrived in (references, not copies): the
 * bounded stderr tail. Decoded into lines only once, when the child has exited.
 */
class ByteTail {
  readonly #chunks: Buffer[] = [];
  #bytes = 0;
  /** Bytes dropped from the front: when non-zero, the first kept line may be cut. */
  #dropped = 0;
  constructor(readonly maxBytes: number) {}

  push(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#bytes += chunk.length;
    // Invariant: the chunks after the first always hold fewer than maxBytes.
    while (this.#chunks.length > 1 && this.#bytes - this.#chunks[0]!.length >= this.maxBytes) {
      const first = this.#chunks.shift()!;
      this.#bytes -= first.length;
      this.#dropped += first.length;
    }
  }

  /** The last `count` complete-or-final lines (a line cut by the byte bound is left out). */
  lines(count: number): string[] {
    let bytes = Buffer.concat(this.#chunks);
    const cut = bytes.length > this.maxBytes || this.#dropped > 0;
    if (bytes.length > this.maxBytes) bytes = bytes.subarray(bytes.length - this.maxBytes);
    const lines = bytes.toString('utf8').split('\n');
    if (lines.at(-1) === '') lines.pop();
    if (cut && lines.length > 1) lines.shift();
    return lines.slice(-count);
  }
}

/** Bytes of stderr kept per tail line requested: long stack lines fit, a flood does not. */
const TAIL_BYTES_PER_LINE = 1_024;

/** Copies a child's stream to ours, pausing the child's pipe while ours is full. */
function teeTo(from: NodeJS.ReadableStream, to: NodeJS.WritableStream): (chunk: Buffer) => void {
  const resume = () => from.resume();
  return (chunk) => {
    if (!to.write(chunk)) {
      from.pause();
      to.once('drain', resume);
    }
  };
}

/** Resolves when what was written to `stream` so far has been handed to the system. */
function flushed(stream: NodeJS.WritableStream | undefined): Promise<void> {
  const pending = (stream as { writableLength?: number } | undefined)?.writableLength ?? 0;
  if (stream === undefined || pending === 0) return Promise.resolve();
  return new Promise((resolve) => stream.write('', () => resolve()));
}

/** Runs the child once: tees its output, forwards signals, samples memory, diagnoses its exit. */
async function runChild(
  options: SuperviseOptions,
  restarts: number,
  onSignal: (signal: NodeJS.Signals) => void,
) {
  const tailLines = options.tailLines ?? 50;
  const cgroup = memoryCgroup();
  const oomBefore = oomKills(cgroup);
  const started = performance.now();
  const child = spawn(options.command, [...(options.args ?? [])], {
    cwd: options.cwd,
    env: options.env,
    stdio: ['inherit', 'pipe', 'pipe'],
  });
  // While it runs, the spool says which child is watched: if both die at once, the next
  // supervisor of this spool reports it.
  const marker =
    options.spoolDir === undefined || child.pid === undefined
      ? undefined
      : new WatchMarker(options.spoolDir, {
          service: options.service,
          metadata: readMetadata(options),
          supervisorPid: process.pid,
          childPid: child.pid,
          startedAt: Date.now(),
          restarts,
          command: [options.command, ...(options.args ?? [])].join(' ').slice(0, 1_024),
        });
  const touching =
    marker === undefined ? undefined : setInterval(() => marker.touch(), TOUCH_EVERY_MS);
  touching?.unref();
  // The tail keeps chunks, not strings: a child writing hundreds of MB costs no decoding and no
  // copying (a line-splitting tail decoded every chunk and, without newlines, grew without bound).
  const tail = new ByteTail(Math.max(tailLines, 1) * TAIL_BYTES_PER_LINE);
  const tee = options.tee ?? true;
  const copies =
    tee === true ? { stdout: process.stdout, stderr: process.stderr } : tee === false ? {} : tee;
  if (copies.stdout !== undefined) child.stdout.on('data', teeTo(child.stdout, copies.stdout));
  else child.stdout.resume();
  const teeStderr = copies.stderr === undefined ? undefined : teeTo(child.stderr, copies.stderr);
  child.stderr.on('data', (chunk: Buffer) => {
    teeStderr?.(chunk);
    tail.push(chunk);
  });
  const abort = () => child.kill('SIGKILL');
  options.signal?.addEventListener('abort', abort, { once: true });

  const forward = (signal: NodeJS.Signals) => {
    if (TERMINATION_SIGNALS.includes(signal)) onSignal(signal);
    child.kill(signal);
  };
  const signals = options.forwardSignals ?? FORWARDED_SIGNALS;
  for (const signal of signals) process.on(signal, forward);
  // Peak memory: the child's high-water mark, sampled from /proc while it runs — and the child's
  // cgroup, in case something (systemd-run --scope, a runtime) gave it one of its own.
  let peak = 0;
  let ownCgroup: MemoryCgroup | undefined;
  const sample = () => {
    if (child.pid === undefined) return;
    const resident = residentBytes(child.pid);
    // A child that has exited (a zombie: no VmHWM) reads as the root cgroup: never take that, nor
    // any ancestor of the supervisor's own, for a cgroup of the child's own.
    if (resident === undefined) return;
    peak = Math.max(peak, resident);
    const own = memoryCgroup(child.pid);
    const ancestor =
      cgroup !== undefined && own !== undefined && cgroup.dir.startsWith(`${own.dir}/`);
    if (own !== undefined && own.dir !== cgroup?.dir && !ancestor) ownCgroup = own;
  };
  sample();
  const sampler = setInterval(sample, 50);
  sampler.unref();

  try {
    // The child's exit is what counts, not its pipes closing: a grandchild that inherited them
    // may hold them open for as long as it lives.
    const [exitCode, signal, uptimeMs] = await new Promise<
      [number | null, NodeJS.Signals | null, number]
    >((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code, sig) => {
        marker?.remove(); // the exit is seen: this supervisor reports it, whatever follows
        resolve([code, sig, Math.round(performance.now() - started)]);
      });
    });
    // What the child wrote before it died is drained for a bounded time, then the pipes are
    // let go (a grandchild still writing to them is not the child).
    await new Promise<void>((resolve) => {
      if (child.stdout.readableEnded && child.stderr.readableEnded) return resolve();
      const timer = setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
        resolve();
      }, PIPE_DRAIN_MS);
      child.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    // The child's last words are worth the most: they leave before the report, and before any
    // exitAs() could cut them off.
    await Promise.all([flushed(copies.stdout), flushed(copies.stderr)]);
    const lastStderr = tail.lines(tailLines);
    const cgroupPeak = ownCgroup === undefined ? undefined : peakBytes(ownCgroup);
    const oomAfter = oomKills(cgroup);
    const oomKilled =
      oomBefore === undefined || oomAfter === undefined ? undefined : oomAfter > oomBefore;
    const diagnosis: ExitDiagnosis = {
      exitCode,
      signal,
      signature: crashSignature(exitCode, signal, lastStderr, oomKilled),
      oomKilled,
      peakMemoryBytes: cgroupPeak ?? (peak > 0 ? peak : undefined),
      peakMemorySource:
        cgroupPeak !== undefined
          ? ownCgroup?.version === 1
            ? 'cgroup-memory.max_usage_in_bytes'
            : 'cgroup-memory.peak'
          : peak > 0
            ? 'proc-vmhwm'
            : undefined,
      uptimeMs,
      restarts,
      lastStderr,
    };
    return { diagnosis, pid: child.pid ?? 0 };
  } finally {
    clearInterval(sampler);
    clearInterval(touching);
    options.signal?.removeEventListener('abort', abort);
    for (const s of signals) process.off(s, forward);
  }
}

/**
 * The signals a container runtime or an operator sends, forwarded as tini does: termination,
 * SIGQUIT (a thread dump or core), the user signals (SIGUSR1 opens the child's inspector,
 * SIGUSR2 often reopens logs) and SIGWINCH. Unforwarded, SIGQUIT or SIGUSR2 would kill the
 * supervisor and leave the agent running.
 */
const FORWARDED_SIGNALS: readonly NodeJS.Signals[] = [
  'SIGTERM',
  'SIGINT',
  'SIGHUP',
  'SIGQUIT',
  'SIGUSR1',
  'SIGUSR2',
  'SIGWINCH',
];
/** Forwarded signals that end the restart loop: the child is asked to stop. */
const TERMINATION_SIGNALS: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT'];

/** How long the child's pipes are drained after it exited, in ms. */
const PIPE_DRAIN_MS = 1_000;
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

/** The metadata, read now; a metadata function that throws (user code) costs only itself. */
function readMetadata(options: SuperviseOptions): Metadata {
  try {
    return typeof options.metadata === 'function' ? options.metadata() : (options.metadata ?? {});
  } catch {
    return {};
  }
}

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
    if (diagnosis.signature === 'clean')
      return { diagnosis, report: undefined, delivered: true, suppressed };

    const metadata = readMetadata(options);
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
      // The loop is over: what was only counted leaves as one small report per fingerprint.
      for (const counted of rateLimit.uncarried()) {
        const { fingerprint } = counted;
        const summary = buildReport({
          service: options.service,
          kind: 'exit',
          error: new Error(
            `crash loop: ${counted.suppressed} more crashes with fingerprint ${fingerprint}`,
          ),
          lastRecords: [],
          metadata,
          extra: {
            crashLoop: { fingerprint, suppressed: counted.suppressed, restarts },
            supervisor: true,
          },
          maxReportBytes: MAX_REPORT_BYTES,
          runtime: childRuntime(options),
        });
        await deliver(options, summary, spool);
      }
      return {
        diagnosis,
        report: lastSent?.report ?? report,
        delivered: lastSent?.delivered ?? false,
        suppressed,
      };
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
