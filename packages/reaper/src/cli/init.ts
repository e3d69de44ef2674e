#!/usr/bin/env node
/**
 * holdfast-init: a tiny init for containers whose entrypoint is not Node.
 *
 *   holdfast-init [--grace 2s] -- command [args...]
 *
 * Starts the command in its own process group, forwards SIGTERM, SIGINT, SIGHUP, SIGQUIT,
 * SIGUSR1, SIGUSR2 and SIGWINCH to that group, reaps every orphan it adopts (as PID 1, or as a
 * subreaper). When the command exits, init ends what is left of its descendants — they are its
 * own, as PID 1 or as a subreaper: SIGTERM, `--grace` to exit, then SIGKILL — and exits with the
 * command's exit code, or 128 + the signal that killed it.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { performance } from 'node:perf_hooks';
import { installReaper } from '../reaper.js';
import { descendants } from '../testing/process-tree.js';
import { parseDuration, unknownFlag } from './duration.js';

const FORWARDED: readonly NodeJS.Signals[] = [
  'SIGTERM',
  'SIGINT',
  'SIGHUP',
  'SIGQUIT',
  'SIGUSR1',
  'SIGUSR2',
  'SIGWINCH',
];

const USAGE = `usage: holdfast-init [--grace 2s] -- command [args...]

Runs the command as its init: forwards termination signals to its process group, reaps orphans,
ends the command's leftover descendants (SIGTERM, then SIGKILL after --grace, default 2s), and
exits with the command's exit code or 128 + the signal that killed it.
`;

/** Flags come before `--` (or before the command); everything after is the command. */
function parseArgs(argv: string[]): { graceMs: number; command: string[] } | 'help' {
  let graceMs = 2_000;
  let i = 0;
  for (; i < argv.length; i += 1) {
    const arg = argv[i]!;
    if (arg === '--') {
      i += 1;
      break;
    }
    if (arg === '--help' || arg === '-h') return 'help';
    if (arg === '--grace') graceMs = parseDuration('--grace', argv[++i]);
    else if (arg.startsWith('-')) throw unknownFlag(arg, ['--grace', '--help']);
    else break;
  }
  return { graceMs, command: argv.slice(i) };
}

let parsed: ReturnType<typeof parseArgs>;
try {
  parsed = parseArgs(process.argv.slice(2));
} catch (error) {
  process.stderr.write(`holdfast-init: ${(error as Error).message}\n${USAGE}`);
  process.exit(2);
}
if (parsed === 'help') {
  process.stdout.write(USAGE);
  process.exit(0);
}
const { graceMs } = parsed;
const [command, ...args] = parsed.command;
if (command === undefined) {
  process.stderr.write(USAGE);
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

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const alive = () => descendants().filter((p) => p.state !== 'Z');
const signalAll = (signal: NodeJS.Signals) => {
  for (const { pid } of alive()) {
    try {
      process.kill(pid, signal);
    } catch {
      // exited meanwhile
    }
  }
};

/** SIGTERM to every live descendant, up to `graceMs` for them to exit, then SIGKILL. */
async function endDescendants(): Promise<void> {
  if (alive().length === 0) return;
  signalAll('SIGTERM');
  const endAt = performance.now() + graceMs;
  while (alive().length > 0 && performance.now() < endAt) await sleep(10);
  signalAll('SIGKILL');
  // SIGKILL cannot be caught: they are gone once the kernel has delivered it (a bounded wait).
  for (let waited = 0; alive().length > 0 && waited < 5_000; waited += 10) await sleep(10);
}

child.once('exit', (code, signal) => {
  const status = code ?? 128 + (signal === null ? 0 : (constants.signals[signal] ?? 0));
  endDescendants()
    .catch((error: unknown) =>
      process.stderr.write(`holdfast-init: ending the descendants failed: ${String(error)}\n`),
    )
    .finally(() => {
      reaper.sweep();
      process.exit(status);
    });
});
