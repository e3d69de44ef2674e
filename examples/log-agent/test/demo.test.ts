/**
 * End to end: `pnpm demo --json` on real local parts, against the built packages (as a user would
 * run them), and every promise of its report is kept.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { beforeAll, expect, test } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const demo = fileURLToPath(new URL('../src/demo.ts', import.meta.url));

beforeAll(() => {
  execFileSync('pnpm', ['build'], { cwd: root, stdio: 'ignore' });
}, 180_000);

test('the demo keeps every promise', () => {
  const result = spawnSync(`${root}node_modules/.bin/tsx`, [demo, '--json'], {
    cwd: root,
    encoding: 'utf8',
    timeout: 120_000,
  });
  expect(result.status, result.stderr).toBe(0);
  const report = JSON.parse(result.stdout) as {
    allKept: boolean;
    promises: { promise: string; kept: boolean; detail: string }[];
  };
  expect(report.promises.map((p) => [p.promise, p.kept])).toEqual([
    ['discovery survives exited containers whose inspects hang or fail', true],
    ['probes leave no zombies and no leftover processes', true],
    ["the agent's last telemetry leaves the process, and it dies as it would have", true],
  ]);
  expect(report.allKept).toBe(true);
}, 180_000);
