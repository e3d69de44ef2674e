/** How `run()` reports a command that could not be started. */
import { statSync } from 'node:fs';
import { ReaperError, type ReaperErrorCode } from '../errors.js';

const SPAWN_CODES = new Set<string>(['ENOENT', 'EACCES', 'ENOTDIR', 'E2BIG', 'EPERM']);

/**
 * Why a spawn failed, as a ReaperError that blames what was wrong: the command, or the `cwd`
 * (Node reports a missing cwd as `spawn <command> ENOENT`, as if the command were missing).
 */
export function spawnError(command: string, cwd: string | undefined, error: NodeJS.ErrnoException) {
  const errno = error.code ?? '';
  if (cwd !== undefined && ['ENOENT', 'ENOTDIR', 'EACCES'].includes(errno)) {
    let isDirectory = false;
    try {
      isDirectory = statSync(cwd).isDirectory();
    } catch {
      // missing or unreadable: a bad cwd, reported below
    }
    if (!isDirectory)
      return new ReaperError(
        'BAD_CWD',
        command,
        `cannot run \`${command}\`: the working directory \`${cwd}\` is not a directory that exists (${errno})`,
        { cause: error },
      );
  }
  const code = (SPAWN_CODES.has(errno) ? errno : 'SPAWN_FAILED') as ReaperErrorCode;
  const why =
    code === 'E2BIG'
      ? 'the arguments and environment are too large for the system (E2BIG)'
      : error.message;
  return new ReaperError(code, command, `cannot run \`${command}\`: ${why}`, { cause: error });
}
