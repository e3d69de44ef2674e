/**
 * `runCrashScenarios()`: runs an agent's entry file in a real child process under each way a
 * process dies, and returns what reached a capture sink and how the child ended.
 *
 * @module
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  durationOption,
  invalidOption,
  rejectUnknownKeys,
  setLongTimeout,
} from '@holdfast/internal';
import { otlpLogsSink } from '../sinks.js';
import type { ExitDiagnosis } from '../exit-diagnosis.js';
import { supervise } from '../supervise.js';
import { startCaptureServer, type CapturedRequest, type CaptureServer } from './capture-server.js';

/**
 * Every crash kind, in the order they run. The first seven are seen by the in-process guard; the
 * last three (`heap-out-of-memory`, `abort`, `SIGKILL`) only by a supervisor.
 */
export const CRASH_SCENARIO_KINDS = [
  'uncaught-sync',
  'uncaught-timer',
  'unhandled-rejection',
  'exit-3',
  'SIGTERM',
  'SIGINT',
  'SIGHUP',
  'heap-out-of-memory',
  'abort',
  'SIGKILL',
] as const;

/**
 * One way to die: an error thrown in a callback (`uncaught-sync`) or in a timer, a rejected
 * promise nobody handles, `process.exit(3)` twenty frames deep, a termination signal the process
 * sends itself, V8 heap exhaustion (the child runs with `--max-old-space-size=64`),
 * `process.abort()`, or SIGKILL.
 */
export type CrashScenarioKind = (typeof CRASH_SCENARIO_KINDS)[number];

/** The kinds no in-process hook can see: by default they run under `supervise()`. */
export const SUPERVISOR_ONLY_KINDS: readonly CrashScenarioKind[] = [
  'heap-out-of-memory',
  'abort',
  'SIGKILL',
];

/**
 * The environment variable holding the capture sink's URL in the agent's child process
 * (`http://127.0.0.1:<port>/v1/logs`; any path of it is captured, so `otlpLogsSink` and
 * `httpSink` both work). The agent's entry must send its crash reports there.
 */
export const CRASH_SINK_URL_ENV = 'HOLDFAST_CRASH_SINK_URL';

/** The environment variable naming the crash kind in the child (set only under the helper). */
export const CRASH_KIND_ENV = 'HOLDFAST_CRASH_KIND';

/** Options of {@link runCrashScenarios}. */
export interface CrashScenariosOptions {
  /** The agent's entry file (a path, relative to `cwd`): what `node <entry>` would run. */
  readonly entry: string;
  /** Arguments after the entry. @default [] */
  readonly args?: readonly string[];
  /**
   * Node flags before the entry, e.g. `['--import', 'tsx']` for a TypeScript entry.
   * @default []
   */
  readonly nodeArgs?: readonly string[];
  /** The kinds to run, in this order. @default CRASH_SCENARIO_KINDS (all of them) */
  readonly kinds?: readonly CrashScenarioKind[];
  /** Added to this process's environment for the child (after it, before the helper's own). */
  readonly env?: Readonly<Record<string, string>>;
  /** The child's working directory. @default process.cwd() */
  readonly cwd?: string;
  /**
   * When the crash is triggered. `'guard'`: once the agent has installed its crash guard (the
   * crash comes on the next turn of the event loop, after the rest of that synchronous start-up).
   * `'line'`: once the agent writes the line `holdfast:ready` through `process.stdout`
   * (`console.log('holdfast:ready')`) — for an agent that must be further along, or has no guard.
   * An agent that never gets ready is killed at `timeout` and its result says `triggered: false`.
   * @default 'guard'
   */
  readonly ready?: 'guard' | 'line';
  /**
   * The most one scenario may take, in ms; then the child is killed with SIGKILL and the result
   * says `timedOut: true`. A safety bound for a hung agent, not a wait: a scenario ends when the
   * child does.
   * @default 30_000
   */
  readonly timeout?: number;
  /**
   * Which kinds run under `supervise()` (in this process, reporting to the same capture sink with
   * an exit diagnosis): `'when-needed'` only {@link SUPERVISOR_ONLY_KINDS}; `'always'` every kind
   * (an agent deployed behind `holdfast-supervise`: in-process kinds then bring the guard's report
   * and the supervisor's); `'never'` none (shows what a bare agent loses).
   * @default 'when-needed'
   */
  readonly supervised?: 'when-needed' | 'always' | 'never';
  /** The service name of the supervisor's reports. @default 'crash-scenarios' */
  readonly service?: string;
  /**
   * A capture server of your own (its `mode` is yours to set, e.g. `'down'` to test the spool).
   * Unset: one is started for the run and closed after it.
   */
  readonly server?: CaptureServer;
  /** Stops the run: the running child is killed and the promise rejects with `signal.reason`. */
  readonly signal?: AbortSignal;
}

/** What one crash kind did to the agent. */
export interface CrashScenarioResult {
  readonly kind: CrashScenarioKind;
  /** The child ran under `supervise()`. */
  readonly supervised: boolean;
  /** The agent got ready and the crash was triggered (false: it exited or hung before). */
  readonly triggered: boolean;
  /** The child outlived `timeout` and was killed. */
  readonly timedOut: boolean;
  /** The agent's exit code (null when a signal ended it). */
  readonly exitCode: number | null;
  /** The signal that ended the agent, if one did. */
  readonly signal: NodeJS.Signals | null;
  /** Every request that reached the capture sink while this scenario ran, oldest first. */
  readonly reports: readonly CapturedRequest[];
  /** The supervisor's exit diagnosis, for a supervised run. */
  readonly diagnosis?: ExitDiagnosis;
  /** The last 16 KiB of the child's stderr (for a supervised run: its last stderr lines). */
  readonly stderr: string;
}

const STDERR_TAIL = 16_384;

/** The preload file, next to this module in the build (dist/testing/) or in the source. */
function triggerPath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [
    join(here, 'testing', 'crash-trigger.js'), // dist/testing.js or a dist/chunk-*.js
    join(here, 'crash-trigger.js'), // dist/testing/*.js
    join(here, 'crash-trigger.ts'), // src/testing/ (run through a TypeScript loader)
  ];
  const found = candidates.find((path) => existsSync(path));
  if (found === undefined)
    throw new Error(`holdfast: the crash trigger is missing (looked for ${candidates.join(', ')})`);
  return found;
}

const SCENARIO_OPTIONS = [
  'entry',
  'args',
  'nodeArgs',
  'kinds',
  'env',
  'cwd',
  'ready',
  'timeout',
  'supervised',
  'service',
  'server',
  'signal',
] as const satisfies readonly (keyof CrashScenariosOptions)[];

/**
 * Runs an agent's entry file in a real child process once per crash kind — uncaught exceptions
 * (in a callback and in a timer), an unhandled rejection, `process.exit(3)`, SIGTERM, SIGINT,
 * SIGHUP, and under a supervisor heap exhaustion, `process.abort()` and SIGKILL — and returns, per
 * kind, what reached a capture sink and how the child ended.
 *
 * **When to use:** in an agent's CI, to check that each way the agent can die is reported.
 *
 * **Details:** the agent's entry must send its crash reports to the URL in the environment
 * variable `HOLDFAST_CRASH_SINK_URL` (see {@link CRASH_SINK_URL_ENV}). The crash is caused by a
 * preload (`--import`, shipped in the package) that waits until the agent is ready (see
 * `ready`), then crashes it the way `HOLDFAST_CRASH_KIND` names. Kinds run one after the other;
 * each ends when its child has exited — reports sent at crash time are confirmed before the child
 * dies, so they have arrived by then. An agent that puts itself under `superviseSelf()` must
 * install its guard after that call (the preload is inherited by the supervising process too).
 *
 * @example
 * ```ts
 * const results = await runCrashScenarios({ entry: 'dist/agent.js' });
 * for (const r of results) expect(r.reports, r.kind).toHaveLength(1);
 * ```
 *
 * @see startCaptureServer
 * @since 0.1.0
 */
export async function runCrashScenarios(
  options: CrashScenariosOptions,
): Promise<CrashScenarioResult[]> {
  if (typeof options !== 'object' || options === null || Array.isArray(options))
    throw invalidOption('options', 'an object', options);
  rejectUnknownKeys(options, SCENARIO_OPTIONS, 'options');
  if (typeof options.entry !== 'string' || options.entry === '')
    throw invalidOption('entry', "the path of the agent's entry file", options.entry);
  const kinds = options.kinds ?? CRASH_SCENARIO_KINDS;
  if (!Array.isArray(kinds)) throw invalidOption('kinds', 'an array of crash kinds', kinds);
  for (const [i, kind] of kinds.entries()) {
    if (!(CRASH_SCENARIO_KINDS as readonly string[]).includes(kind))
      throw invalidOption(`kinds[${i}]`, `one of ${CRASH_SCENARIO_KINDS.join(', ')}`, kind);
  }
  const timeoutMs =
    options.timeout === undefined ? 30_000 : durationOption(options.timeout, 'timeout', { min: 1 });
  const ready = options.ready ?? 'guard';
  if (ready !== 'guard' && ready !== 'line')
    throw invalidOption('ready', "'guard' or 'line'", ready);
  const supervised = options.supervised ?? 'when-needed';
  options.signal?.throwIfAborted();

  const trigger = pathToFileURL(triggerPath()).href;
  const cwd = options.cwd ?? process.cwd();
  const entry = resolve(cwd, options.entry);
  const server = options.server ?? (await startCaptureServer());
  const work = mkdtempSync(join(tmpdir(), 'holdfast-scenarios-'));
  const results: CrashScenarioResult[] = [];
  try {
    for (const kind of kinds) {
      options.signal?.throwIfAborted();
      const triggeredFile = join(work, kind);
      const underSupervisor =
        supervised === 'always' ||
        (supervised === 'when-needed' && SUPERVISOR_ONLY_KINDS.includes(kind));
      const scenario: Scenario = {
        args: [
          ...(options.nodeArgs ?? []),
          ...(kind === 'heap-out-of-memory' ? ['--max-old-space-size=64'] : []),
          '--import',
          trigger,
          entry,
          ...(options.args ?? []),
        ],
        env: {
          ...process.env,
          ...options.env,
          [CRASH_SINK_URL_ENV]: `${server.url}/v1/logs`,
          [CRASH_KIND_ENV]: kind,
          HOLDFAST_CRASH_READY: ready,
          HOLDFAST_CRASH_TRIGGERED_FILE: triggeredFile,
        },
        cwd,
        timeoutMs,
        signal: options.signal,
      };
      const before = server.requests.length;
      const ended = underSupervisor
        ? await runSupervised(scenario, server, options.service ?? 'crash-scenarios')
        : await runBare(scenario);
      options.signal?.throwIfAborted();
      results.push({
        kind,
        supervised: underSupervisor,
        triggered: existsSync(triggeredFile) && readFileSync(triggeredFile, 'utf8') === kind,
        ...ended,
        reports: server.requests.slice(before),
      });
    }
    return results;
  } finally {
    rmSync(work, { recursive: true, force: true });
    if (options.server === undefined) await server.close();
  }
}

interface Scenario {
  readonly args: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  readonly timeoutMs: number;
  readonly signal: AbortSignal | undefined;
}

type Ended = Pick<CrashScenarioResult, 'timedOut' | 'exitCode' | 'signal' | 'stderr' | 'diagnosis'>;

/** `node --import <trigger> entry`, its stderr tail kept, killed at the timeout or on abort. */
function runBare(scenario: Scenario): Promise<Ended> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...scenario.args], {
      cwd: scenario.cwd,
      env: scenario.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    let timedOut = false;
    child.stdout.resume();
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-STDERR_TAIL);
    });
    const kill = () => child.kill('SIGKILL');
    // A long timer: a timeout past 2^31 − 1 ms must not kill the agent at once.
    const timer = setLongTimeout(() => {
      timedOut = true;
      kill();
    }, scenario.timeoutMs);
    scenario.signal?.addEventListener('abort', kill, { once: true });
    const done = () => {
      timer.clear();
      scenario.signal?.removeEventListener('abort', kill);
    };
    child.once('error', (error) => {
      done();
      reject(error);
    });
    child.once('close', (exitCode, signal) => {
      done();
      resolve({ timedOut, exitCode, signal, stderr });
    });
  });
}

/** The same child under `supervise()`, reporting to the capture server; killed at the timeout. */
async function runSupervised(
  scenario: Scenario,
  server: CaptureServer,
  service: string,
): Promise<Ended> {
  const stop = new AbortController();
  const timer = setLongTimeout(() => stop.abort(new Error('timeout')), scenario.timeoutMs);
  const forward = () => stop.abort(scenario.signal?.reason);
  scenario.signal?.addEventListener('abort', forward, { once: true });
  try {
    const { diagnosis } = await supervise({
      command: process.execPath,
      args: scenario.args,
      env: scenario.env,
      cwd: scenario.cwd,
      service,
      sink: otlpLogsSink({ url: `${server.url}/v1/logs` }),
      tee: false,
      signal: stop.signal,
    });
    return {
      timedOut: false,
      exitCode: diagnosis.exitCode,
      signal: diagnosis.signal,
      stderr: diagnosis.lastStderr.join('\n'),
      diagnosis,
    };
  } catch (error) {
    if (!stop.signal.aborted) throw error;
    scenario.signal?.throwIfAborted();
    return { timedOut: true, exitCode: null, signal: 'SIGKILL', stderr: '' };
  } finally {
    timer.clear();
    scenario.signal?.removeEventListener('abort', forward);
  }
}
