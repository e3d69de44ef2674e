/**
 * `run()`: a child process that cannot outlive its deadline.
 *
 * @module
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { Readable } from 'node:stream';
import { ReaperError, type ReaperErrorCode } from './errors.js';
import { signalGroup, trackGroup, untrackGroup } from './internal/process-groups.js';
import { fail, milliseconds, optionalSignal } from './internal/validate.js';
import type { RunOptions } from './options.js';

/** How a command ended. A non-zero exit is a result, not a throw. */
export interface RunResult {
  /** The exit code, or `null` when a signal ended the child. */
  readonly exitCode: number | null;
  /** The signal that ended the child, or `null`. */
  readonly signal: NodeJS.Signals | null;
  /** The deadline passed and the group was signalled. */
  readonly timedOut: boolean;
  /** The caller's signal aborted and the group was signalled. */
  readonly cancelled: boolean;
  /** SIGKILL was needed: the group outlived `killSignal` by `killGrace`. */
  readonly escalated: boolean;
  readonly stdout: string;
  readonly stderr: string;
  /** Some output was dropped because a stream passed `maxOutput` bytes. */
  readonly truncated: boolean;
  readonly durationMs: number;
  readonly pid: number;
}

/**
 * The exit status a shell would report: the exit code, or 128 + the signal's number.
 *
 * @example
 * ```ts run
 * shellExitCode({ exitCode: null, signal: 'SIGKILL' }); // => 137
 * ```
 */
export function shellExitCode(result: Pick<RunResult, 'exitCode' | 'signal'>): number {
  if (result.exitCode !== null) return result.exitCode;
  return 128 + (result.signal === null ? 0 : (constants.signals[result.signal] ?? 0));
}

/** After the child exits, how long its stdio may still drain before the pipes are destroyed. */
const DRAIN_MS = 100;

const SPAWN_CODES = new Set<string>(['ENOENT', 'EACCES', 'ENOTDIR', 'E2BIG', 'EPERM']);

/**
 * Runs a command in its own process group, with a deadline that holds for the whole group.
 *
 * **When to use:** health-check commands, scripts, helper binaries — anything an agent runs
 * every few seconds for years. Node's `child_process` timeout kills only the direct child, never
 * escalates, and its `'close'` waits for any grandchild holding a pipe; this is how Zipkin's
 * health check piled up `wget`s.
 *
 * **Details:** the child leads a new process group (`detached`). At the deadline (or on abort)
 * the whole group gets `killSignal`, then SIGKILL after `killGrace`. The promise settles on the
 * child's exit — stdio gets 100 ms (`DRAIN_MS`) to drain, then the pipes are destroyed, so a
 * grandchild holding them never delays it. When the child exits, what is left of its group is
 * terminated too (`killGroupOnExit`). Signals only ever go to groups this package created and
 * still tracks.
 *
 * @example
 * ```ts
 * const r = await run('sh', ['-c', 'wget -qO- http://127.0.0.1:9411/health'], { timeout: 2_000 });
 * if (r.timedOut) log.warn(`health check timed out${r.escalated ? ' and needed SIGKILL' : ''}`);
 * ```
 *
 * @throws ReaperError when the command cannot be started (`code`: `ENOENT`, `EACCES`, …).
 * @since 0.1.0
 */
export function run(
  command: string,
  args: readonly string[] = [],
  options: RunOptions = {},
): Promise<RunResult> {
  if (typeof command !== 'string' || command === '') fail('command', 'a non-empty string', command);
  if (!Array.isArray(args) || !args.every((a) => typeof a === 'string'))
    fail('args', 'an array of strings', args);
  const timeout = milliseconds('timeout', options.timeout, Infinity, { infinite: true });
  const killGrace =
    options.killGrace === false ? false : milliseconds('killGrace', options.killGrace, 2_000);
  const maxOutput = milliseconds('maxOutput', options.maxOutput, 1_048_576);
  const killSignal = options.killSignal ?? 'SIGTERM';
  if (typeof killSignal !== 'string' || !(killSignal in constants.signals))
    fail('killSignal', 'a signal name such as SIGTERM', killSignal);
  const signal = optionalSignal('signal', options.signal);
  const killGroupOnExit = options.killGroupOnExit ?? true;

  return new Promise<RunResult>((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, args, {
      detached: true,
      cwd: options.cwd,
      env: options.env,
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    const pid = child.pid;
    let timedOut = false;
    let cancelled = false;
    let escalated = false;
    let truncated = false;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let deadlineTimer: NodeJS.Timeout | undefined;
    let graceTimer: NodeJS.Timeout | undefined;
    let drainTimer: NodeJS.Timeout | undefined;
    let settled = false;

    const collect = (stream: Readable | null) => {
      const parts: Buffer[] = [];
      let kept = 0;
      stream?.on('data', (chunk: Buffer) => {
        if (kept >= maxOutput) {
          truncated = true;
          return;
        }
        const room = maxOutput - kept;
        if (chunk.length > room) truncated = true;
        const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
        parts.push(part);
        kept += part.length;
      });
      // A pipe destroyed while a grandchild still writes is expected here, not a crash.
      stream?.on('error', () => undefined);
      return () => Buffer.concat(parts).toString('utf8');
    };
    const stdout = collect(child.stdout);
    const stderr = collect(child.stderr);

    const cleanup = () => {
      clearTimeout(deadlineTimer);
      clearTimeout(drainTimer);
      signal?.removeEventListener('abort', onAbort);
    };

    /** The group is asked to stop; SIGKILL follows after the grace unless everything is gone. */
    const terminate = () => {
      if (pid === undefined) return;
      signalGroup(pid, killSignal);
      if (killGrace === false || graceTimer !== undefined) return;
      graceTimer = setTimeout(() => {
        // Escalate only if someone in the group is still alive (the leader or a grandchild).
        if (exit === undefined || signalGroup(pid, 0)) {
          escalated = signalGroup(pid, 'SIGKILL') || escalated;
        }
        if (exit !== undefined) untrackGroup(pid);
      }, killGrace);
      graceTimer.unref();
    };

    const settle = () => {
      if (settled || exit === undefined || pid === undefined) return;
      settled = true;
      cleanup();
      child.stdout?.destroy();
      child.stderr?.destroy();
      child.stdin?.destroy();
      if (graceTimer === undefined) untrackGroup(pid);
      resolve({
        exitCode: exit.code,
        signal: exit.signal,
        timedOut,
        cancelled,
        escalated,
        stdout: stdout(),
        stderr: stderr(),
        truncated,
        durationMs: performance.now() - started,
        pid,
      });
    };

    const onAbort = () => {
      if (exit !== undefined) return;
      cancelled = true;
      terminate();
    };

    child.once('error', (error: NodeJS.ErrnoException) => {
      if (pid !== undefined) return; // errors after a successful spawn are stream errors
      cleanup();
      const code = (
        SPAWN_CODES.has(error.code ?? '') ? error.code : 'SPAWN_FAILED'
      ) as ReaperErrorCode;
      reject(
        new ReaperError(code, command, `cannot run \`${command}\`: ${error.message}`, {
          cause: error,
        }),
      );
    });
    if (pid === undefined) return;

    trackGroup(pid);
    child.once('exit', (code, exitSignal) => {
      exit = { code, signal: exitSignal };
      clearTimeout(deadlineTimer);
      // Whatever the child left behind in its group goes with it (the Zipkin `wget`s).
      if (killGroupOnExit && signalGroup(pid, 0)) terminate();
      // Let stdio drain briefly, then stop waiting for it: a grandchild may hold the pipe.
      if (child.stdout?.readableEnded !== false && child.stderr?.readableEnded !== false) settle();
      else drainTimer = setTimeout(settle, DRAIN_MS);
    });
    child.once('close', settle);

    if (options.input !== undefined) {
      child.stdin?.on('error', () => undefined); // a child that does not read its input is fine
      child.stdin?.end(options.input);
    }
    if (timeout !== Infinity) {
      deadlineTimer = setTimeout(() => {
        timedOut = true;
        terminate();
      }, timeout);
    }
    if (signal?.aborted === true) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
  });
}
