/**
 * End to end: `pnpm demo --json` on real local parts (a simulated runtime or the Docker daemon,
 * two log backends, the agent under its supervisor), and every promise of its report is kept —
 * checked here again from the report's figures, not only from its verdicts.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';
import type { DemoReport } from '../src/report.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const demo = fileURLToPath(new URL('../src/demo.ts', import.meta.url));

test('the demo keeps every promise', () => {
  const result = spawnSync(`${root}node_modules/.bin/tsx`, [demo, '--json'], {
    cwd: root,
    encoding: 'utf8',
    timeout: 120_000,
  });
  expect(result.status, `${result.stdout}\n${result.stderr}`).toBe(0);
  const report = JSON.parse(result.stdout) as DemoReport;
  expect(report.promises.filter((p) => !p.kept)).toEqual([]);
  expect(report.allKept).toBe(true);

  expect(report.containers.discovered).toBe(report.containers.present);
  expect(report.containers.present).toBeGreaterThan(0);
  expect(report.records.accepted).toBe(report.records.total);
  expect(report.records.delivered).toEqual({
    search: report.records.total,
    archive: report.records.total,
  });
  expect(report.records.dropped).toBe(0);
  expect(report.memory.peakBytesUp).toBeLessThanOrEqual(report.memory.maxBytesUp);
  expect(report.zombies.left).toBe(0);
  expect(report.zombies.processesLeft).toBe(0);
  expect(report.zombies.reaped).toBeGreaterThan(0);
  expect(report.crashReports.map((r) => `${r.from} ${r.type}`).sort()).toEqual([
    'guard Error',
    'supervisor heap-out-of-memory',
    'supervisor uncaught-exception',
  ]);
  for (const crash of report.crashReports) {
    expect(crash.pod).toBe('log-agent-7d9fz');
    expect(crash.node).toBe('demo-node-1');
  }
  const heap = report.crashReports.find((r) => r.type === 'heap-out-of-memory');
  expect(report.agentExit).toEqual(heap?.exit);

  // The Prometheus scrape of the agent's last run agrees with the report: every line had been
  // delivered then, so each output's counter is what the agent said before and after the
  // scrape, and no more than the backends received over both runs; the counters that still
  // move (zombies reaped by the sidecar check) lie between the agent's two reports.
  const telemetry = report.telemetry!;
  expect(telemetry.agrees).toBe(true);
  for (const output of ['search', 'archive'] as const) {
    const figure = telemetry.delivered[output];
    expect(figure.scraped).toBe(figure.agentBefore);
    expect(figure.scraped).toBe(figure.agentAfter);
    expect(figure.scraped).toBeGreaterThan(0);
    expect(figure.scraped).toBeLessThanOrEqual(
      report.records.delivered[output] + report.records.duplicates[output],
    );
  }
  expect(telemetry.zombiesReaped.scraped).toBeGreaterThan(0);
  expect(telemetry.zombiesReaped.scraped).toBeGreaterThanOrEqual(
    telemetry.zombiesReaped.agentBefore,
  );
  expect(telemetry.zombiesReaped.scraped).toBeLessThanOrEqual(telemetry.zombiesReaped.agentAfter);
  expect(telemetry.zombiesReaped.scraped).toBeLessThanOrEqual(report.zombies.reaped);
  expect(telemetry.crashReportsSent.scraped).toBe(telemetry.crashReportsSent.agentAfter);
}, 180_000);
