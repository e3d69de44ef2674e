/**
 * The demo's live view. On a terminal it redraws a fixed block of lines in place; when stdout is
 * not a TTY (CI, a pipe, `--json`) it prints one plain line per refresh instead, never escape codes.
 */
import type { Writable } from 'node:stream';

export interface LiveFigures {
  readonly phase: string;
  readonly containers: string;
  readonly recordsIn: number;
  readonly delivered: string;
  readonly memoryUp: string;
  readonly outage: boolean;
  readonly zombies: number;
  readonly crashReports: number;
}

export interface Display {
  update(figures: LiveFigures): void;
  /** A line that scrolls above the live block (an event of the scenario). */
  event(line: string): void;
  close(): void;
}

function lines(f: LiveFigures): string[] {
  return [
    `phase        ${f.phase}`,
    `containers   ${f.containers}`,
    `records in   ${f.recordsIn}`,
    `delivered    ${f.delivered}`,
    `memory up    ${f.memoryUp}`,
    `backend      ${f.outage ? 'DOWN (outage)' : 'up'}`,
    `zombies      ${f.zombies}`,
    `crash reports ${f.crashReports}`,
  ];
}

export function createDisplay(out: Writable & { isTTY?: boolean }, quiet: boolean): Display {
  if (quiet) return { update: () => {}, event: () => {}, close: () => {} };
  if (out.isTTY !== true) {
    return {
      update: (f) =>
        out.write(
          `[${f.phase}] containers ${f.containers} | in ${f.recordsIn} | delivered ${f.delivered} | memory ${f.memoryUp} | ${f.outage ? 'outage' : 'backend up'} | zombies ${f.zombies}\n`,
        ),
      event: (line) => out.write(`-- ${line}\n`),
      close: () => {},
    };
  }
  // Invariant: `drawn` is the number of lines of the live block currently on screen, right
  // above the cursor; an event or a redraw first moves up over exactly that many lines.
  let drawn = 0;
  let last: LiveFigures | undefined;
  const clear = () => {
    if (drawn > 0) out.write(`\x1b[${drawn}A\x1b[0J`);
    drawn = 0;
  };
  const draw = (f: LiveFigures) => {
    const block = lines(f);
    out.write(`${block.join('\n')}\n`);
    drawn = block.length;
  };
  return {
    update: (f) => {
      last = f;
      clear();
      draw(f);
    },
    event: (line) => {
      clear();
      out.write(`-- ${line}\n`);
      if (last !== undefined) draw(last);
    },
    close: () => {
      drawn = 0;
    },
  };
}
