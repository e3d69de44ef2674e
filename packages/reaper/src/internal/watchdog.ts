/**
 * The watchdog: a tiny `/bin/sh` process, started before the first `run()` child of a thread, that
 * kills the tracked groups when this process dies in a way no JavaScript sees — a signal with no
 * handler (SIGTERM, SIGINT, SIGHUP from an orchestrator), SIGKILL, the OOM killer, `abort()`.
 *
 * It reads `+<pgid>` and `-<pgid>` lines on its stdin, a pipe whose other end only this thread
 * holds (libuv opens it close-on-exec, so no child inherits it). However this process dies, the
 * kernel closes that end; the watchdog's `read` then sees the end of input, and it sends SIGKILL
 * to every group still listed and exits. It runs detached (its own session and group), so signals
 * aimed at the agent's group or terminal do not reach it, and it is unref'd: it never keeps the
 * agent alive. A watchdog that dies is replaced at the next tracked group, with the whole list.
 *
 * Why not `PR_SET_PDEATHSIG`: it must be set in the child between fork and exec, which Node gives
 * no hook for (a wrapper binary per run would cost an exec per run), and it fires when the parent
 * THREAD ends — a worker's exit — not the process.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import type { Socket } from 'node:net';

/** POSIX sh (dash, bash, busybox): the group ids live in one space-delimited string. */
const SCRIPT = `groups=' '
while read -r line; do
  case $line in
    +*) groups="$groups\${line#+} " ;;
    -*) g=\${line#-}; case $groups in *" $g "*) groups="\${groups%% $g *} \${groups#* $g }" ;; esac ;;
  esac
done
for g in $groups; do kill -9 -$g 2>/dev/null; done`;

/** The name the watchdog shows in `ps` (its `$0`). */
export const WATCHDOG_NAME = 'holdfast-reaper-watchdog';

export class Watchdog {
  #child: ChildProcess | undefined;
  #unavailable = false;

  /** The watchdog's pid while it runs (the testing kit leaves it out of `descendants()`). */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /**
   * Starts the watchdog if it is not running, with every group of `all`. Called before a child
   * is spawned, so that the watchdog already runs when the child's group is tracked: the only
   * window left unwatched is between spawn() returning and the `+pgid` line written right after,
   * in the same tick.
   */
  ensureRunning(all: Iterable<number>): void {
    if (this.#child !== undefined || this.#unavailable || process.platform === 'win32') return;
    const child = spawn('/bin/sh', ['-c', SCRIPT, WATCHDOG_NAME], {
      detached: true,
      stdio: ['pipe', 'ignore', 'ignore'],
      cwd: '/',
      env: {},
    });
    if (child.pid === undefined) {
      // No /bin/sh (a distroless image): deaths JavaScript sees are still covered by the 'exit'
      // hook; the others are not. docs/reaper.md says so. Not retried: it will not appear.
      this.#unavailable = true;
      child.once('error', () => undefined); // the reason is the missing shell, reported above
      return;
    }
    this.#child = child;
    const stdin = child.stdin as Socket;
    // EPIPE when the watchdog died: its 'exit' below clears it and the next spawn restarts it.
    stdin.on('error', () => undefined);
    child.once('exit', () => {
      if (this.#child === child) this.#child = undefined;
    });
    child.unref();
    stdin.unref();
    let lines = '';
    for (const group of all) lines += `+${group}\n`;
    if (lines !== '') this.#send(lines);
  }

  /** Lists `pgid` (a group just tracked). */
  track(pgid: number): void {
    this.#send(`+${pgid}\n`);
  }

  untrack(pgid: number): void {
    this.#send(`-${pgid}\n`);
  }

  #send(lines: string): void {
    const stdin = this.#child?.stdin;
    if (stdin?.writable === true) stdin.write(lines);
  }
}
