/**
 * The demo's live display. On a terminal, a status block (records in and delivered, memory up,
 * the outage, health, zombies, crashes) is redrawn in place several times a second, with the
 * scenario's events scrolling above it. When stdout is not a terminal (CI, a pipe), events are
 * plain lines and the status is printed as one plain line a second. With `--json` nothing is
 * printed but the final report.
 */
import type { Writable } from 'node:stream';
import type { AgentStats } from './agent/agent-stats.js';

/** What the status block shows. */
export interface DemoStatus {
  readonly elapsedMs: number;
  readonly agent: AgentStats | undefined;
  readonly delivered: { readonly search: number; readonly archive: number };
  readonly searchUp: boolean;
  readonly agentRuns: number;
  readonly crashReports: number;
}

export interface Display {
  /** A line that says what the scenario does now. */
  event(line: string): void;
  status(status: DemoStatus): void;
  close(): void;
}

const count = (n: number) => n.toLocaleString('en-US');
const mib = (bytes: number) => `${(bytes / 1_048_576).toFixed(1)} MiB`;

/** The status block, one string per line. */
export function statusLines(s: DemoStatus): string[] {
  const a = s.agent;
  if (a === undefined) return [`  ${(s.elapsedMs / 1_000).toFixed(1)} s  waiting for the agent…`];
  const d = a.discovery;
  return [
    `  time       ${(s.elapsedMs / 1_000).toFixed(1)} s · agent run ${s.agentRuns} (pid ${a.pid})`,
    `  discovery  ${d.known} of ${d.running} running containers · ${d.listed - d.running} exited (${d.timedOut} timed out, ${d.failed} failed) · round ${d.rounds}`,
    `  records    accepted ${count(a.source.position)} of ${count(a.source.total)} · delivered: search ${count(s.delivered.search)}, archive ${count(s.delivered.archive)}`,
    `  memory     ${mib(a.pool.bytesUp)} up of ${mib(a.pool.maxBytesUp)} (peak ${mib(a.pool.peakBytesUp)}) · ${mib(a.pool.bytesDown)} on disk`,
    `  outage     search backend ${s.searchUp ? 'up' : 'DOWN'} (health: ${a.health.backend}) · retries: search ${a.pool.retries.search ?? 0}, archive ${a.pool.retries.archive ?? 0}`,
    `  probes     sidecar ${a.health.sidecar} after ${a.health.sidecarRuns} runs · orphans reaped ${a.health.reaped} · zombies ${a.health.zombies}`,
    `  crashes    reports received ${s.crashReports}`,
  ];
}

export function createDisplay(
  out: Writable & { isTTY?: boolean; columns?: number },
  quiet: boolean,
): Display {
  if (quiet) return { event: () => {}, status: () => {}, close: () => {} };
  if (out.isTTY !== true) {
    let lastPrinted = -Infinity;
    return {
      event: (line) => out.write(`-- ${line}\n`),
      status: (status) => {
        if (status.elapsedMs - lastPrinted < 1_000) return;
        lastPrinted = status.elapsedMs;
        out.write(`${statusLines(status).join(' |').replace(/ {2,}/g, ' ')}\n`);
      },
      close: () => {},
    };
  }
  // Terminal: the block is the last `drawn` lines; redrawing moves up over it and clears below.
  // Block lines are cut to the terminal's width, so none wraps and `drawn` stays exact.
  const fit = (line: string) => line.slice(0, Math.max(20, (out.columns ?? 120) - 1));
  let drawn = 0;
  let block: string[] = [];
  const redraw = (above: string) => {
    const up = drawn > 0 ? `\x1b[${drawn}F` : '';
    out.write(`${up}\x1b[J${above}${block.join('\n')}\n`);
    drawn = block.length;
  };
  return {
    event: (line) => redraw(`\x1b[1m›\x1b[0m ${line}\n`),
    status: (status) => {
      block = statusLines(status).map(fit);
      redraw('');
    },
    close: () => {
      drawn = 0;
    },
  };
}
