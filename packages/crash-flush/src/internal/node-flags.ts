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
