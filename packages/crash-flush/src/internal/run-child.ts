/**
 * One run of the supervised child: spawned with its output teed and its stderr tail kept, the
 * operator's signals forwarded, its memory sampled, its watch marker kept, and its exit diagnosed.
 * The restart loop around it is `superviseChildren()` in ../supervise.ts.
 */
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { crashSignature, type ExitDiagnosis } from '../exit-diagnosis.js';
import type { SuperviseOptions } from '../supervise.js';
import { ByteTail, TAIL_BYTES_PER_LINE } from './byte-tail.js';
import { ChildMemory } from './child-memory.js';
import { memoryCgroup, oomKills, peakBytes } from './memory-cgroup.js';
import { readMetadata } from './supervise-options.js';
import { TOUCH_EVERY_MS, WatchMarker } from './watch-marker.js';

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
export async function runChild(
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
  const memory = child.pid === undefined ? undefined : new ChildMemory(child.pid, cgroup);
  const sample = () => memory?.sample();
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
        memory?.stop(); // the pid is reaped: it may be another process's from now on
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
    const ownCgroup = memory?.ownCgroup;
    const peak = memory?.peakBytes ?? 0;
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
