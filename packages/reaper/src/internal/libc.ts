/**
 * The two libc calls Node does not expose, through the optional `koffi` dependency:
 * `waitpid(pid, WNOHANG)` for ONE given pid (never -1: that would steal libuv's children and
 * their `'exit'` events would never fire) and `prctl(PR_SET_CHILD_SUBREAPER)`.
 * `loadLibc()` returns undefined off Linux or without koffi.
 */
import { createRequire } from 'node:module';

const WNOHANG = 1;
const PR_SET_CHILD_SUBREAPER = 36;

export interface Libc {
  /** Reaps `pid` if it is a zombie child: true when it was reaped now. */
  reap(pid: number): boolean;
  /** Makes this process a child subreaper: true on success. */
  becomeSubreaper(): boolean;
}

let cached: Libc | null | undefined;

export function loadLibc(): Libc | undefined {
  if (cached !== undefined) return cached ?? undefined;
  cached = null;
  if (process.platform !== 'linux') return undefined;
  try {
    const require = createRequire(import.meta.url);
    const koffi = require('koffi') as {
      load(path: string): { func(signature: string): (...args: unknown[]) => number };
    };
    const lib = koffi.load('libc.so.6');
    const waitpid = lib.func('int waitpid(int pid, _Out_ int *status, int options)');
    const prctl = lib.func(
      'int prctl(int option, unsigned long arg2, unsigned long arg3, unsigned long arg4, unsigned long arg5)',
    );
    cached = {
      reap: (pid) => {
        if (!Number.isInteger(pid) || pid <= 0)
          throw new RangeError(`refusing to waitpid(${pid}): only a positive, known pid`);
        return waitpid(pid, [0], WNOHANG) === pid;
      },
      becomeSubreaper: () => prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) === 0,
    };
  } catch {
    cached = null;
  }
  return cached ?? undefined;
}
