/**
 * Options of every entry point of `@holdfast/reaper`, with their defaults.
 *
 * @module
 */
import type { ProbeResult } from './probe.js';

/** Options of {@link run}. */
export interface RunOptions {
  /**
   * Milliseconds from the spawn until the whole process group gets `killSignal`. `Infinity`: no
   * deadline (not recommended for probes).
   * @default Infinity
   */
  readonly timeout?: number;
  /**
   * The first signal sent to the group at the deadline or on abort.
   * @default 'SIGTERM'
   */
  readonly killSignal?: NodeJS.Signals;
  /**
   * Milliseconds between `killSignal` and SIGKILL for a group that is still alive; `false` never
   * escalates.
   * @default 2_000
   */
  readonly killGrace?: number | false;
  /**
   * Bytes kept per stream (stdout, stderr); the rest is read and discarded, and `truncated` is set.
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
  /** Environment of the child. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** Written to the child's stdin, which is then closed. @default stdin is ignored */
  readonly input?: string | Uint8Array;
  /** Aborting kills the group like a deadline does; the result says `cancelled: true`. */
  readonly signal?: AbortSignal;
}

/** Options of {@link startHealthCheck}. */
export interface HealthCheckOptions {
  /** What to check: `httpProbe(url)`, `commandProbe(cmd, args)` or your own. */
  readonly probe: (signal: AbortSignal) => Promise<ProbeResult>;
  /**
   * Milliseconds between the end of one run and the start of the next: runs never overlap.
   * @default 10_000
   */
  readonly intervalMs?: number;
  /**
   * A run not finished within this many milliseconds is aborted and counts as a failure.
   * @default 5_000
   */
  readonly timeoutMs?: number;
  /**
   * Consecutive failures that turn the state `unhealthy`.
   * @default 3
   */
  readonly failureThreshold?: number;
  /**
   * Consecutive successes that turn the state `healthy`.
   * @default 1
   */
  readonly successThreshold?: number;
  /** Called on every state change; it never exits or kills anything by itself. */
  readonly onChange?: (state: HealthState, previous: HealthState, last: ProbeResult) => void;
  /** Stops the check. */
  readonly signal?: AbortSignal;
  /**
   * Keeps the process alive while the check runs. `false` (`unref`) lets an agent exit even
   * though a check is scheduled — the right choice for a check that only reports.
   * @default true
   */
  readonly ref?: boolean;
}

/** The state of a health check. */
export type HealthState = 'unknown' | 'healthy' | 'unhealthy';

/** Options of {@link waitUntilHealthy}. */
export interface WaitOptions {
  /**
   * Give up after this many milliseconds and return `healthy: false`. It never exits the process.
   * @default 60_000
   */
  readonly timeoutMs?: number;
  /**
   * Milliseconds between attempts.
   * @default 1_000
   */
  readonly intervalMs?: number;
  /**
   * Per-attempt timeout; capped by what is left of `timeoutMs`.
   * @default 5_000
   */
  readonly attemptTimeoutMs?: number;
  /** Stops waiting; the verdict is then `healthy: false`. */
  readonly signal?: AbortSignal;
}

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
   * Milliseconds between sweeps when no SIGCHLD arrives (a lost signal, a zombie adopted later).
   * @default 1_000
   */
  readonly pollIntervalMs?: number;
}
