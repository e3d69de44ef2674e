/** Helpers shared by the reaper's process-level tests. */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const packageRoot = fileURLToPath(new URL('..', import.meta.url));
export const fixture = (name: string) =>
  fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
export const cli = (name: string) =>
  fileURLToPath(new URL(`../src/cli/${name}.ts`, import.meta.url));
/** Node flags that run a TypeScript entry file from source. */
export const TSX = ['--import', 'tsx'];

export const isRoot = process.getuid?.() === 0;
/**
 * PID-namespace tests need root (`unshare --pid`). CI runs as root, so there they must run: a
 * non-root CI is a broken set-up, not a reason to skip.
 */
export function requireRootOrSkip(): boolean {
  if (isRoot) return true;
  if (process.env.CI !== undefined)
    throw new Error('CI must run as root: the PID-namespace tests cannot be skipped there');
  return false;
}

export interface Exited {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to its end (a hang guard only, no timing assertion) and collects its output. */
export function runToEnd(
  command: string,
  args: string[],
  options: { input?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<Exited> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: packageRoot, env: options.env ?? process.env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    if (options.input !== undefined) child.stdin.end(options.input);
  });
}

/** Waits until `predicate()` holds, checking every 10 ms; fails after `ms` (a hang guard). */
export async function waitUntil(
  what: string,
  predicate: () => boolean,
  ms = 10_000,
): Promise<void> {
  for (let waited = 0; !predicate(); waited += 10) {
    if (waited > ms) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export const fileExists = (path: string) => existsSync(path);

export function unshareAvailable(): Promise<boolean> {
  return new Promise((resolve) =>
    execFile('unshare', ['--pid', '--fork', '--mount-proc', 'true'], (error) =>
      resolve(error === null),
    ),
  );
}
