/**
 * Feeding the guard from pino.
 *
 * @module
 */
import type { CrashGuard } from './guard.js';

/**
 * A pino destination that keeps each line in the guard's ring of last records — one line of
 * set-up for an agent that already logs with pino. Pair it with your real destination through
 * `pino.multistream`. Lines are stored as they are and parsed only if a crash report is built.
 *
 * @example
 * ```ts
 * const logger = pino(pino.multistream([{ stream: process.stdout }, { stream: pinoDestination(guard) }]));
 * ```
 */
export function pinoDestination(guard: Pick<CrashGuard, 'log'>): { write(line: string): boolean } {
  return {
    write(line: string) {
      guard.log(line.endsWith('\n') ? line.slice(0, -1) : line);
      return true;
    },
  };
}
