/**
 * What a supervisor knows of one exit of its child: the crash signature read from the exit and
 * the stderr tail, and the exit diagnosis `supervise()` reports.
 *
 * @module
 */

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
