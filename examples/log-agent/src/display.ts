/**
 * The demo's output: one line per event of the scenario. Nothing at all with `--json`, whose
 * report is the only thing printed.
 */
import type { Writable } from 'node:stream';

export interface Display {
  /** A line that says what the scenario does now. */
  event(line: string): void;
  close(): void;
}

export function createDisplay(out: Writable, quiet: boolean): Display {
  if (quiet) return { event: () => {}, close: () => {} };
  return { event: (line) => out.write(`-- ${line}\n`), close: () => {} };
}
