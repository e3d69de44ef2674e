/**
 * `installReaper()`: a Node process that reaps the orphans it adopts, without stealing libuv's
 * own children.
 *
 * @module
 */
import { ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { isMainThread } from 'node:worker_threads';
import { ReaperError } from './errors.js';
import { loadLibc, type Libc } from './internal/libc.js';
import { trackedGroups } from './internal/process-groups.js';
import { procStat, threadChildPids } from './internal/proc.js';
import { setLongTimeout, type LongTimer } from '@holdfast/internal';
import { duration, fail, optionsObject } from './internal/validate.js';

/** Options of {@link installReaper}. */
export interface ReaperOptions {
  /**
   * Become a child subreaper (`prctl(PR_SET_CHILD_SUBREAPER)`), so orphans of our children come
   * to this process instead of PID 1. `'auto'`: when not PID 1 and `koffi` is present; `true`:
   * always (a warning when impossible); `false`: never.
   * @default 'auto'
   */
  readonly subreaper?: 'auto' | boolean;
  /**
   * Milliseconds between sweeps when no SIGCHLD arrives (a lost signal, a zombie adopted later);
   * any length, `Infinity` for no poll.
   * @default 1_000
   */
  readonly pollInterval?: number;
}

/** Counters of the reaper; see {@link Reaper.stats}. */
export interface ReaperStats {
  /** Adopted zombies reaped since install. */
  readonly reaped: number;
  /** Zombie children that nobody owns, at the last sweep (0 when reaping works). */
  readonly zombiesNow: number;
  /** Adopted children that are still running, at the last sweep. */
  readonly orphansRunning: number;
  /** Process groups started by `run()` and still tracked. */
  readonly trackedGroups: number;
  /** Time from the SIGCHLD (or sweep) that revealed a zombie to its reaping, over the last 1,000. */
  readonly reapLatencyMs: {
    readonly p50: number;
    readonly p95: number;
    readonly max: number;
    readonly count: number;
  };
  /** Whether orphans will be reaped: PID 1 or a subreaper, and `waitpid` available. */
  readonly reapsOrphans: boolean;
  /** This process is a child subreaper. */
  readonly subreaper: boolean;
  /** Listeners of `'reaped'` or `'warning'` that threw (each was caught and counted). */
  readonly listenerErrors: number;
}

/** A zombie the reaper collected. */
export interface ReapedEvent {
  readonly pid: number;
  readonly latencyMs: number;
}

/** Events of the {@link Reaper}. */
export interface ReaperEvents {
  reaped: [ReapedEvent];
  warning: [string];
}

const KEY = Symbol.for('holdfast.reaper.reaper');

/** `ChildProcess.prototype.spawn`: public at run time, absent from Node's type definitions. */
type SpawnMethod = (this: ChildProcess, ...args: unknown[]) => unknown;
const childProcessPrototype = ChildProcess.prototype as unknown as { spawn: SpawnMethod };
const SAMPLES = 1_000;

/**
 * The children of the main thread (the thread-group leader, whose tid is the pid): its libuv's
 * children, which it owns through `ChildProcess`, and every orphan the kernel gives this process.
 */
const mainThreadChildren = () => threadChildPids(process.pid);

/**
 * The process-wide reaper returned by {@link installReaper}.
 *
 * Invariant: it calls `waitpid` only for a pid that is a zombie child of the MAIN thread (checked
 * in /proc/self/task/<pid>/children) and that no live `ChildProcess` of the main thread owns
 * (pids of children spawned through `child_process` are recorded at spawn and forgotten at their
 * `'exit'`). Children of any other thread — a worker thread's libuv, a native addon's thread —
 * are never looked at: the kernel lists them under the thread that forked them, while adopted
 * orphans always come to the main thread (see `threadChildPids`). libuv reaps its own children;
 * this reaps everything else, and never calls `waitpid(-1)`.
 *
 * @example
 * ```ts
 * const reaper = installReaper({ subreaper: true });
 * reaper.on('reaped', ({ pid, latencyMs }) => logger.info({ msg: 'orphan reaped', pid, latencyMs }));
 * setInterval(() => gauge.set(reaper.stats().zombiesNow), 10_000).unref();
 * ```
 */
export class Reaper extends EventEmitter<ReaperEvents> implements AsyncDisposable {
  readonly #libc: Libc | undefined;
  readonly #owned = new Set<number>();
  readonly #latencies: number[] = [];
  readonly #zombieSeenAt = new Map<number, number>();
  #poll: LongTimer | undefined;
  readonly #pollInterval: number;
  /** The options as resolved, to compare with a second `installReaper()`. */
  readonly resolvedOptions: {
    readonly subreaper: 'auto' | boolean;
    readonly pollInterval: number;
  };
  readonly #originalSpawn: SpawnMethod;
  #reaped = 0;
  #zombiesNow = 0;
  #orphansRunning = 0;
  #sigchldAt = 0;
  #sweepQueued = false;
  #closed = false;
  #listenerErrors = 0;
  readonly subreaper: boolean;
  readonly reapsOrphans: boolean;

  /** @internal Use {@link installReaper}. */
  constructor(resolved: Reaper['resolvedOptions']) {
    super();
    this.resolvedOptions = resolved;
    const { subreaper: mode, pollInterval } = resolved;
    this.#pollInterval = pollInterval;
    this.#libc = loadLibc();
    const isInit = process.pid === 1;
    this.subreaper =
      !isInit && mode !== false && this.#libc !== undefined && this.#libc.becomeSubreaper();
    this.reapsOrphans = this.#libc !== undefined && (isInit || this.subreaper);

    // Own every child that exists now and is not a zombie (it may be an unref'd libuv child,
    // invisible among the active handles: never steal it), and every child spawned through
    // child_process from now on, until its 'exit'.
    for (const handle of (
      process as unknown as { _getActiveHandles(): unknown[] }
    )._getActiveHandles()) {
      if (handle instanceof ChildProcess && handle.pid !== undefined) this.#own(handle);
    }
    for (const pid of mainThreadChildren()) if (procStat(pid)?.state !== 'Z') this.#owned.add(pid);
    const originalSpawn = childProcessPrototype.spawn;
    this.#originalSpawn = originalSpawn;
    const own = (child: ChildProcess) => this.#own(child);
    childProcessPrototype.spawn = function (this: ChildProcess, ...args: unknown[]) {
      const result = originalSpawn.apply(this, args);
      own(this);
      return result;
    };

    process.on('SIGCHLD', this.#onSigchld);
    this.#armPoll();

    if (!this.reapsOrphans) {
      const why =
        this.#libc === undefined
          ? process.platform === 'linux'
            ? 'the optional dependency `koffi` is not installed, so waitpid is not available'
            : `reaping needs Linux (this is ${process.platform})`
          : mode === false
            ? 'subreaper: false was asked and this process is not PID 1'
            : 'prctl(PR_SET_CHILD_SUBREAPER) failed';
      const message = `@holdfast/reaper: orphaned processes will NOT be reaped: ${why}. Run the container with \`docker run --init\`, use \`tini -s\` as the entrypoint, or start the agent under \`holdfast-init\`.`;
      process.emitWarning(message, { code: 'HOLDFAST_NO_REAPER' });
      queueMicrotask(() => this.#emit('warning', message));
    }
    this.sweep();
  }

  /** A slow poll, re-armed after each sweep (a long timer: any interval, Infinity for none). */
  #armPoll(): void {
    this.#poll = setLongTimeout(() => {
      this.sweep();
      if (!this.#closed) this.#armPoll();
    }, this.#pollInterval).unref();
  }

  /**
   * Every event goes through here: a listener that throws is counted in `stats().listenerErrors`
   * and never unwinds into the sweep (which would leave zombies unreaped) or into SIGCHLD.
   */
  #emit<K extends keyof ReaperEvents>(event: K, ...args: ReaperEvents[K]): void {
    for (const listener of this.listeners(event) as ((...a: ReaperEvents[K]) => unknown)[]) {
      try {
        listener.apply(this, args);
      } catch {
        this.#listenerErrors += 1;
      }
    }
  }

  #own(child: ChildProcess): void {
    const pid = child.pid;
    if (pid === undefined) return;
    this.#owned.add(pid);
    child.once('exit', () => this.#owned.delete(pid));
  }

  #onSigchld = (): void => {
    this.#sigchldAt = performance.now();
    if (this.#sweepQueued) return;
    this.#sweepQueued = true;
    setImmediate(() => {
      this.#sweepQueued = false;
      this.sweep();
    });
  };

  /**
   * Looks at every child of this process once: reaps the unowned zombies, counts the rest.
   * Runs on SIGCHLD and on a slow poll; call it yourself to sweep now. Returns how many it reaped.
   */
  sweep(): number {
    if (this.#closed) return 0;
    const now = performance.now();
    let reapedNow = 0;
    let zombies = 0;
    let orphans = 0;
    const seen = new Set<number>();
    for (const pid of mainThreadChildren()) {
      if (this.#owned.has(pid)) continue;
      const stat = procStat(pid);
      if (stat === undefined) continue;
      if (stat.state !== 'Z') {
        orphans += 1;
        continue;
      }
      seen.add(pid);
      const firstSeen = this.#zombieSeenAt.get(pid) ?? Math.min(now, this.#sigchldAt || now);
      if (this.#libc?.reap(pid) === true) {
        reapedNow += 1;
        this.#zombieSeenAt.delete(pid);
        const latencyMs = performance.now() - firstSeen;
        this.#latencies.push(latencyMs);
        if (this.#latencies.length > SAMPLES) this.#latencies.shift();
        this.#emit('reaped', { pid, latencyMs });
      } else {
        zombies += 1;
        this.#zombieSeenAt.set(pid, firstSeen);
      }
    }
    for (const pid of this.#zombieSeenAt.keys()) if (!seen.has(pid)) this.#zombieSeenAt.delete(pid);
    this.#reaped += reapedNow;
    this.#zombiesNow = zombies;
    this.#orphansRunning = orphans;
    return reapedNow;
  }

  /** Counters and the reap latency summary. */
  stats(): ReaperStats {
    const sorted = [...this.#latencies].sort((a, b) => a - b);
    const at = (q: number) =>
      sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
    return {
      reaped: this.#reaped,
      zombiesNow: this.#zombiesNow,
      orphansRunning: this.#orphansRunning,
      trackedGroups: trackedGroups(),
      reapLatencyMs: { p50: at(0.5), p95: at(0.95), max: sorted.at(-1) ?? 0, count: sorted.length },
      reapsOrphans: this.reapsOrphans,
      subreaper: this.subreaper,
      listenerErrors: this.#listenerErrors,
    };
  }

  /** Stops reaping (a last sweep first) and restores `child_process`; the singleton is released. */
  // eslint-disable-next-line @typescript-eslint/require-await -- async so that a throw here rejects (an async entry point never throws synchronously)
  async close(): Promise<void> {
    if (this.#closed) return;
    this.sweep();
    this.#closed = true;
    process.off('SIGCHLD', this.#onSigchld);
    this.#poll?.clear();
    childProcessPrototype.spawn = this.#originalSpawn;
    const store = globalThis as Record<symbol, Reaper | undefined>;
    if (store[KEY] === this) store[KEY] = undefined;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/**
 * Makes this process reap the orphans it adopts: as PID 1 of a container, or as a child
 * subreaper. Returns the process-wide reaper: a second call with the same options (as resolved:
 * `{}` and `{ subreaper: 'auto', pollInterval: 1_000 }` are the same) returns the same one; a
 * second call with other options throws a `ReaperError` (`ALREADY_INSTALLED`) — one policy per
 * process, never silently ignored. After `close()`, a new one can be installed.
 *
 * **When to use:** an agent that runs as PID 1 (`CMD ["node", "agent.js"]`) or spawns scripts
 * that leave background processes behind. libuv only reaps the children Node spawned itself, so
 * every orphan becomes a zombie forever — Zipkin's defunct `wget`s.
 *
 * **Details:** on SIGCHLD (and on a slow poll as a fallback) it looks at this process's children
 * in /proc and reaps, with `waitpid(pid, WNOHANG)` through the optional `koffi` dependency, only
 * the zombies no live `ChildProcess` owns. Without `koffi`, or off Linux, it warns once
 * (`HOLDFAST_NO_REAPER`) and says what to do instead; everything else in this package works.
 *
 * @example
 * ```ts
 * await using reaper = installReaper();
 * reaper.on('reaped', ({ pid }) => metrics.reaped.inc());
 * setInterval(() => gauge.set(reaper.stats().zombiesNow), 10_000);
 * ```
 *
 * @since 0.1.0
 */
export function installReaper(options: ReaperOptions = {}): Reaper {
  if (!isMainThread)
    throw new Error(
      'installReaper() must be called on the main thread: the kernel gives adopted orphans to the main thread, and a worker cannot see which of its children the main thread owns',
    );
  const given = optionsObject<ReaperOptions>('options', options, REAPER_OPTIONS);
  const subreaper = given.subreaper ?? 'auto';
  if (subreaper !== 'auto' && typeof subreaper !== 'boolean')
    fail('subreaper', "'auto', true or false", subreaper);
  const resolved = {
    subreaper,
    pollInterval: duration('pollInterval', given.pollInterval, 1_000),
  };
  const store = globalThis as Record<symbol, Reaper | undefined>;
  const existing = store[KEY];
  if (existing === undefined) return (store[KEY] = new Reaper(resolved));
  const was = existing.resolvedOptions;
  if (was.subreaper !== resolved.subreaper || was.pollInterval !== resolved.pollInterval) {
    throw new ReaperError(
      'ALREADY_INSTALLED',
      'installReaper',
      `a reaper is already installed in this process with other options (${JSON.stringify(was)}; asked: ${JSON.stringify(resolved)}); close() it first, or share it`,
    );
  }
  return existing;
}

const REAPER_OPTIONS = [
  'subreaper',
  'pollInterval',
] as const satisfies readonly (keyof ReaperOptions)[];
