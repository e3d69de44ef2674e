/**
 * `run()`: a child process that cannot outlive its deadline.
 *
 * Over 300 lines because `run()`, its options, their checks and its result are one concept a
 * reader should see in one place; how a failed spawn is reported is in internal/spawn-error.ts.
 *
 * @module
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { constants } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { Readable } from 'node:stream';
import {
  prepareToTrack,
  signalGroup,
  trackGroup,
  untrackGroup,
} from './internal/process-groups.js';
import { publishRunEnd } from './internal/run-channel.js';
import { spawnError } from './internal/spawn-error.js';
import { type LongTimer, setLongTimeout } from '@holdfast/internal';
import { bytes, duration, fail, optionalSignal, optionsObject } from './internal/validate.js';

/** Options of {@link run}. */
export interface RunOptions {
  /**
   * Milliseconds from the spawn until the whole process group gets `killSignal`; any length
   * (timers past 2^31 − 1 ms are chained). `Infinity`: no deadline (not recommended for probes).
   * @default Infinity
   */
  readonly timeout?: number;
  /**
   * The first signal sent to the group at the deadline or on abort.
   * @default 'SIGTERM'
   */
  readonly killSignal?: NodeJS.Signals;
  /**
   * Milliseconds between `killSignal` and SIGKILL for a group that is still alive; `false` (or
   * `Infinity`) never escalates.
   * @default 2_000
   */
  readonly killGrace?: number | false;
  /**
   * Bytes kept per stream (stdout, stderr), an integer >= 0; the rest is read and discarded, and
   * `truncated` is set.
   * @default 1_048_576
   */
  readonly maxOutput?: number;
  /**
   * When the child exits, what is left of its process group (background grandchildren) is
   * terminated too, so nothing it started outlives it. `false` leaves them running.
   * @default true
   */
  readonly killGroupOnExit?: boolean;
  /** Working directory of the child. @default process.cwd() */
  readonly cwd?: string;
  /**
   * Variables for the child, on top of `process.env` (as execa does): `{ FOO: '1' }` adds `FOO`
   * and keeps `PATH`. A value of `undefined` removes a variable. With `extendEnv: false`, `env` is
   * the child's whole environment.
   * @default process.env
   */
  readonly env?: NodeJS.ProcessEnv;
  /**
   * Whether `env` extends `process.env` (`true`) or replaces it (`false`).
   * @default true
   */
  readonly extendEnv?: boolean;
  /** Written to the child's stdin, which is then closed. @default stdin is ignored */
  readonly input?: string | Uint8Array;
  /** Aborting kills the group like a deadline does; the result says `cancelled: true`. */
  readonly signal?: AbortSignal;
}

const RUN_OPTIONS = [
  'timeout',
  'killSignal',
  'killGrace',
  'maxOutput',
  'killGroupOnExit',
  'cwd',
  'env',
  'extendEnv',
  'input',
  'signal',
] as const satisfies readonly (keyof RunOptions)[];

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
 * Rejects (never throws) with a `TypeError` for a bad option, and with a {@link ReaperError}
 * when the command cannot be started (`code`: `ENOENT`, `EACCES`, `E2BIG`, …, or `BAD_CWD` when
 * the working directory is the problem).
 * @since 0.1.0
 */
export function run(
  command: string,
  args: readonly string[] = [],
  options: RunOptions = {},
): Promise<RunResult> {
  // An async entry point never throws: a bad option is a rejected promise, so that
  // `run(...).catch(handle)` sees it.
  let parsed: ParsedRunOptions;
  try {
    parsed = parseRunOptions(command, args, options);
  } catch (error) {
    return Promise.reject(error as Error);
  }
  return start(command, args, parsed);
}

export interface ParsedRunOptions {
  readonly timeout: number;
  readonly killGrace: number;
  readonly maxOutput: number;
  readonly killSignal: NodeJS.Signals;
  readonly signal: AbortSignal | undefined;
  readonly killGroupOnExit: boolean;
  readonly cwd: string | undefined;
  readonly env: NodeJS.ProcessEnv | undefined;
  readonly input: string | Uint8Array | undefined;
}

/** Checks `run()`'s arguments (throws a TypeError); commandProbe checks its options with it at creation. */
export function parseRunOptions(
  command: unknown,
  args: unknown,
  given: RunOptions | undefined,
): ParsedRunOptions {
  if (typeof command !== 'string' || command === '') fail('command', 'a non-empty string', command);
  if (!Array.isArray(args) || !args.every((a) => typeof a === 'string'))
    fail('args', 'an array of strings', args);
  const options = optionsObject<RunOptions>('options', given, RUN_OPTIONS);
  const killSignal = options.killSignal ?? 'SIGTERM';
  if (typeof killSignal !== 'string' || !(killSignal in constants.signals))
    fail('killSignal', 'a signal name such as SIGTERM', killSignal);
  const killGroupOnExit = options.killGroupOnExit ?? true;
  if (typeof killGroupOnExit !== 'boolean') fail('killGroupOnExit', 'a boolean', killGroupOnExit);
  if (options.cwd !== undefined && typeof options.cwd !== 'string')
    fail('cwd', 'a path (string)', options.cwd);
  if (options.env !== undefined && (typeof options.env !== 'object' || options.env === null))
    fail('env', 'an object of strings', options.env);
  const extendEnv = options.extendEnv ?? true;
  if (typeof extendEnv !== 'boolean') fail('extendEnv', 'a boolean', extendEnv);
  const input = options.input;
  if (input !== undefined && typeof input !== 'string' && !(input instanceof Uint8Array))
    fail('input', 'a string or a Uint8Array', input);
  return {
    timeout: duration('timeout', options.timeout, Infinity),
    killGrace:
      options.killGrace === false ? Infinity : duration('killGrace', options.killGrace, 2_000),
    maxOutput: bytes('maxOutput', options.maxOutput, 1_048_576),
    killSignal,
    signal: optionalSignal('signal', options.signal),
    killGroupOnExit,
    cwd: options.cwd,
    env: childEnv(options.env, extendEnv),
    input,
  };
}

/** The child's environment: `env` over `process.env`, or `env` alone; `undefined` removes. */
function childEnv(
  env: NodeJS.ProcessEnv | undefined,
  extend: boolean,
): NodeJS.ProcessEnv | undefined {
  if (env === undefined) return extend ? undefined : {};
  const merged: NodeJS.ProcessEnv = extend ? { ...process.env } : {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) delete merged[name];
    else merged[name] = value;
  }
  return merged;
}

function start(command: string, args: readonly string[], o: ParsedRunOptions): Promise<RunResult> {
  const { timeout, killGrace, maxOutput, killSignal, signal, killGroupOnExit } = o;
  return new Promise<RunResult>((resolve, reject) => {
    const started = performance.now();
    let child: ChildProcess;
    prepareToTrack();
    try {
      child = spawn(command, args, {
        detached: true,
        cwd: o.cwd,
        env: o.env,
        stdio: [o.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      });
    } catch (error) {
      // Some failures (E2BIG, a cwd that is a file) are thrown by spawn itself.
      reject(spawnError(command, o.cwd, error as NodeJS.ErrnoException));
      return;
    }
    const pid = child.pid;
    let timedOut = false;
    let cancelled = false;
    let escalated = false;
    let truncated = false;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let deadlineTimer: LongTimer | undefined;
    let graceTimer: LongTimer | undefined;
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
      deadlineTimer?.clear();
      clearTimeout(drainTimer);
      signal?.removeEventListener('abort', onAbort);
    };

    /** The group is asked to stop; SIGKILL follows after the grace unless everything is gone. */
    const terminate = () => {
      if (pid === undefined) return;
      signalGroup(pid, killSignal);
      if (killGrace === Infinity || graceTimer !== undefined) return;
      graceTimer = setLongTimeout(() => {
        // Escalate only if someone in the group is still alive (the leader or a grandchild).
        if (exit === undefined || signalGroup(pid, 0)) {
          escalated = signalGroup(pid, 'SIGKILL') || escalated;
        }
        // Nothing outlives SIGKILL: the group is done with, whether or not the leader's exit has
        // been seen yet. (Untracking only after a seen exit kept a group escalated before its
        // exit tracked forever: its id, once reused, would have been signalled at our exit.)
        untrackGroup(pid);
      }, killGrace).unref();
    };

    const settle = () => {
      if (settled || exit === undefined || pid === undefined) return;
      settled = true;
      cleanup();
      child.stdout?.destroy();
      child.stderr?.destroy();
      child.stdin?.destroy();
      if (graceTimer === undefined) untrackGroup(pid);
      const result: RunResult = {
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
      };
      publishRunEnd(result);
      resolve(result);
    };

    const onAbort = () => {
      if (exit !== undefined) return;
      cancelled = true;
      terminate();
    };

    child.once('error', (error: NodeJS.ErrnoException) => {
      if (pid !== undefined) return; // errors after a successful spawn are stream errors
      cleanup();
      reject(spawnError(command, o.cwd, error));
    });
    if (pid === undefined) return;

    trackGroup(pid);
    child.once('exit', (code, exitSignal) => {
      exit = { code, signal: exitSignal };
      deadlineTimer?.clear();
      // Whatever the child left behind in its group goes with it (the Zipkin `wget`s).
      if (killGroupOnExit && signalGroup(pid, 0)) terminate();
      // Let stdio drain briefly, then stop waiting for it: a grandchild may hold the pipe.
      if (child.stdout?.readableEnded !== false && child.stderr?.readableEnded !== false) settle();
      else drainTimer = setTimeout(settle, DRAIN_MS);
    });
    child.once('close', settle);

    if (o.input !== undefined) {
      child.stdin?.on('error', () => undefined); // a child that does not read its input is fine
      child.stdin?.end(o.input);
    }
    if (timeout !== Infinity) {
      deadlineTimer = setLongTimeout(() => {
        timedOut = true;
        terminate();
      }, timeout);
    }
    if (signal?.aborted === true) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
  });
}
