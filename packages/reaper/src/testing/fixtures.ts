/**
 * Misbehaving commands, as `sh` scripts: the children an agent's probes must survive. Each is a
 * `[command, args]` pair to hand to `run()`, `spawn()` or `commandProbe()`.
 */

/** The kinds of misbehaviour {@link misbehavingCommand} can produce. */
export type Misbehaviour =
  /** starts a grandchild that keeps stdout open, prints `ready`, then hangs */
  | 'pipe-holding-grandchild'
  /** ignores SIGTERM and hangs: only SIGKILL ends it */
  | 'ignores-sigterm'
  /** leaves an orphan behind (a grandchild re-parented to PID 1 or the subreaper) and exits 0 */
  | 'orphans-grandchild'
  /** starts a grandchild that outlives it by `seconds`, then hangs: the Zipkin health check */
  | 'outlives-timeout';

/**
 * A command that misbehaves the way real probes and scripts do, for an agent's own tests.
 *
 * @example
 * ```ts
 * const [command, args] = misbehavingCommand('ignores-sigterm');
 * const r = await run(command, args, { timeout: 50, killGrace: 100 });
 * expect(r.escalated).toBe(true);
 * ```
 */
export function misbehavingCommand(kind: Misbehaviour, { seconds = 30 } = {}): [string, string[]] {
  const s = String(seconds);
  switch (kind) {
    case 'pipe-holding-grandchild':
      return ['sh', ['-c', `sleep ${s} & echo ready; sleep ${s}`]];
    case 'ignores-sigterm':
      return ['sh', ['-c', `trap '' TERM; echo ready; sleep ${s}`]];
    case 'orphans-grandchild':
      return ['sh', ['-c', `(sleep ${s} >/dev/null 2>&1 &) ; echo ready`]];
    case 'outlives-timeout':
      return ['sh', ['-c', `sleep ${s} & sleep ${s}`]];
  }
}
