#!/usr/bin/env node
/**
 * holdfast-init: a tiny init for containers whose entrypoint is not Node.
 *
 *   holdfast-init -- command [args...]
 *
 * Starts the command in its own process group, forwards SIGTERM, SIGINT, SIGHUP, SIGQUIT,
 * SIGUSR1, SIGUSR2 and SIGWINCH to that group, reaps every orphan it adopts (as PID 1, or as a
 * subreaper), and exits with the child's exit code, or 128 + the signal that killed it.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { installReaper } from '../reaper.js';

const FORWARDED: readonly NodeJS.Signals[] = [
  'SIGTERM',
  'SIGINT',
  'SIGHUP',
  'SIGQUIT',
  'SIGUSR1',
  'SIGUSR2',
  'SIGWINCH',
];

const separator = process.argv.indexOf('--');
const [command, ...args] =
  separator === -1 ? process.argv.slice(2) : process.argv.slice(separator + 1);
if (command === undefined) {
  process.stderr.write('usage: holdfast-init -- command [args...]\n');
  process.exit(2);
}

const reaper = installReaper({ subreaper: 'auto' });
const child = spawn(command, args, { stdio: 'inherit', detached: true });
child.once('error', (error) => {
  process.stderr.write(`holdfast-init: cannot run \`${command}\`: ${error.message}\n`);
  process.exit((error as NodeJS.ErrnoException).code === 'ENOENT' ? 127 : 126);
});

for (const signal of FORWARDED) {
  process.on(signal, () => {
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    try {
      process.kill(-child.pid, signal);
    } catch {
      // The group is already gone: nothing left to forward to.
    }
  });
}

child.once('exit', (code, signal) => {
  reaper.sweep();
  process.exit(code ?? 128 + (signal === null ? 0 : (constants.signals[signal] ?? 0)));
});
