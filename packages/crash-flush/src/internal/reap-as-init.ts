/**
 * As PID 1 of a container the supervisor adopts every orphan of the agent (a script's background
 * job, a daemon whose parent died), and only PID 1 can reap them: unreaped, each stays a zombie
 * for the container's life. Reaping needs `waitpid(pid)`, which Node does not expose, so it is
 * `@holdfast/reaper`'s `installReaper()` (waitpid through its optional `koffi`): an OPTIONAL peer
 * dependency, loaded only when this process is PID 1, so crash-flush itself has no runtime
 * dependency. The reaper never waits on a pid a live `ChildProcess` owns, so the agent's own exit
 * status still reaches libuv, and the supervisor exits as the agent did.
 */

/** What the supervisor says when it is PID 1 and cannot reap (once per process). */
const CANNOT_REAP =
  'holdfast-supervise: running as PID 1, but the optional peer @holdfast/reaper is not installed, so orphaned processes will NOT be reaped (they stay zombies). Install @holdfast/reaper (with koffi), or run the supervisor under holdfast-init, tini or `docker run --init`.';

let started: Promise<void> | undefined;

/**
 * Starts reaping orphans when this process is PID 1 (once per process; later calls share the
 * first). Never rejects: without `@holdfast/reaper` it writes {@link CANNOT_REAP} to stderr;
 * without `koffi` the reaper warns itself (`HOLDFAST_NO_REAPER`). A reaper the agent's host code
 * installed already, with other options, is already reaping: that is kept.
 */
export function reapAsInit(): Promise<void> {
  if (process.pid !== 1) return Promise.resolve();
  started ??= import('@holdfast/reaper').then(
    (reaper) => {
      try {
        reaper.installReaper();
      } catch (error) {
        if (!(error instanceof reaper.ReaperError && error.code === 'ALREADY_INSTALLED'))
          process.stderr.write(`holdfast-supervise: cannot reap orphans: ${String(error)}\n`);
      }
    },
    () => {
      process.stderr.write(`${CANNOT_REAP}\n`);
    },
  );
  return started;
}
