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
}, 180_000);
