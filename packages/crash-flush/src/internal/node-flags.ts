/** How Node ends this process: its flags and exit statuses. */

/** The exit status the parent sees for `process.exit(code)` (0–255; 256 is 0). */
export function exitStatus(code: unknown): number {
  const n = typeof code === 'number' ? code : Number(code ?? 0);
  if (!Number.isInteger(n)) return 0;
  return ((n % 256) + 256) % 256;
}

/** Node's `--unhandled-rejections` mode for this process, however the flag was written. */
export function unhandledRejectionsMode(
  execArgv: readonly string[] = process.execArgv,
  nodeOptions: string = process.env.NODE_OPTIONS ?? '',
): string {
  // NODE_OPTIONS first: a flag on the command line wins, and the last one given wins.
  const flags = [...nodeOptions.split(/\s+/).filter((f) => f !== ''), ...execArgv];
  let mode = 'throw';
  for (let i = 0; i < flags.length; i += 1) {
    const flag = flags[i]!;
    if (flag.startsWith('--unhandled-rejections='))
      mode = flag.slice('--unhandled-rejections='.length);
    else if (flag === '--unhandled-rejections' && flags[i + 1] !== undefined) {
      mode = flags[i + 1]!; // `--unhandled-rejections warn`, which Node accepts too
      i += 1;
    }
  }
  return mode;
}

/** The `--unhandled-rejections` modes in which the process goes on after an unhandled rejection. */
export const GOES_ON_AFTER_REJECTION: readonly string[] = ['warn', 'none', 'warn-with-error-code'];

/**
 * Whether the caller runs inside Node's processing of unhandled rejections (its
 * `processPromiseRejections`, on the stack of an 'uncaughtExceptionMonitor' listener in 'strict'
 * mode), rather than the ES module loader's report of a failed top-level evaluation. Reads the
 * call stack with Node's own formatting, whatever the agent did to `Error.stackTraceLimit` or
 * `Error.prepareStackTrace` (both restored).
 */
export function calledFromRejectionProcessing(): boolean {
  // Typed as always set, yet undefined unless someone set it: Node's formatting is the default.
  const errorClass = Error as { prepareStackTrace?: ErrorConstructor['prepareStackTrace'] };
  const { stackTraceLimit } = Error;
  const { prepareStackTrace } = errorClass;
  try {
    Error.stackTraceLimit = 32;
    delete errorClass.prepareStackTrace;
    const holder: { stack?: string } = {};
    Error.captureStackTrace(holder);
    return /\bprocessPromiseRejections\b/.test(holder.stack ?? '');
  } catch {
    return false;
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
    if (prepareStackTrace !== undefined) errorClass.prepareStackTrace = prepareStackTrace;
  }
}
