/**
 * `pnpm bench` for @holdfast/reaper, in one run: 500 runs of /bin/true through `run()`,
 * `child_process.spawn` and execa 9 (p50/p99); reap latency from an orphan's exit to its reaping,
 * against `tini -s` on the same workload; the cost of a sweep over 100 zombies. Writes
 * docs/benchmarks/reaper.md and docs/benchmarks/reaper.json. Measures the build in dist/.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
// The built package (self-reference through its exports map), as users run it.
import { run } from '@holdfast/reaper';

const out = fileURLToPath(new URL('../../../docs/benchmarks/', import.meta.url));
const RUNS = 500;

const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
/**
 * p50 and p99 of each runner. The runners take turns, one run each, so that a slow spell of the
 * machine falls on all of them alike instead of on whichever was measured then.
 */
async function timeInTurns(runners: readonly { name: string; task: () => Promise<unknown> }[]) {
  for (let i = 0; i < 20; i += 1) for (const { task } of runners) await task(); // warm-up
  const samples = runners.map((): number[] => []);
  for (let i = 0; i < RUNS; i += 1) {
    for (const [r, { task }] of runners.entries()) {
      const start = performance.now();
      await task();
      samples[r]?.push(performance.now() - start);
    }
  }
  return runners.map(({ name }, r) => {
    const sorted = (samples[r] ?? []).sort((a, b) => a - b);
    return { name, p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99) };
  });
}

const spawnTrue = () => new Promise((resolve) => spawn('/bin/true').on('exit', resolve));
const rows = await timeInTurns([
  { name: 'child_process.spawn', task: spawnTrue },
  {
    name: 'run() (process group, deadline)',
    task: () => run('/bin/true', [], { timeout: 10_000 }),
  },
  { name: 'execa 9', task: () => execa('/bin/true', { timeout: 10_000 }) },
]);

// Reap latency: a fixture (as a subreaper, or under tini -s) starts orphans that exit after a
// short sleep and reports, per orphan, the time from its exit to its reaping.
const tsx = fileURLToPath(new URL('../../../node_modules/.bin/tsx', import.meta.url));
const fixture = fileURLToPath(new URL('./reap-latency.ts', import.meta.url));
const holdfast = JSON.parse(execFileSync(tsx, [fixture, 'holdfast'], { encoding: 'utf8' })) as {
  p50: number;
  p95: number;
  sweep100Ms: number;
};
let tini: { p50: number; p95: number } | undefined;
let tiniNote = '';
const haveTini = () => spawnSync('sh', ['-c', 'command -v tini']).status === 0;
if (!haveTini())
  spawnSync('sh', ['-c', 'apt-get update -qq && apt-get install -y -qq tini'], { stdio: 'ignore' });
if (haveTini())
  tini = JSON.parse(
    execFileSync('tini', ['-s', '--', process.execPath, '--import', 'tsx', fixture, 'tini'], {
      encoding: 'utf8',
    }),
  ) as { p50: number; p95: number };
else tiniNote = ' (tini could not be installed here: column left empty)';

const base = rows[0]!;
const runRow = rows[1]!;
const execaRow = rows[2]!;
const f = (n: number) => n.toFixed(3);
const md = [
  '## @holdfast/reaper',
  '',
  `Command: \`pnpm bench\` (\`packages/reaper/bench/run.ts\`). ${RUNS} runs of \`/bin/true\` each, after 20 warm-up runs, the runners taking turns.`,
  '',
  '| runner | p50 (ms) | p99 (ms) | p50 × spawn |',
  '| --- | ---: | ---: | ---: |',
  ...rows.map(
    (r) => `| ${r.name} | ${f(r.p50)} | ${f(r.p99)} | ${(r.p50 / base.p50).toFixed(2)} |`,
  ),
  '',
  `Goal — \`run()\` p50 within 1.1× of \`child_process.spawn\`: **${runRow.p50 <= base.p50 * 1.1 ? 'met' : 'missed'}** (${(runRow.p50 / base.p50).toFixed(2)}×). Faster than execa 9 at p50 and p99: **${runRow.p50 < execaRow.p50 && runRow.p99 < execaRow.p99 ? 'met' : 'missed'}**.`,
  '',
  `Reap latency, from an orphan's exit (SIGCHLD) to its reaping, 200 orphans${tiniNote}:`,
  '',
  '| reaper | p50 (ms) | p95 (ms) |',
  '| --- | ---: | ---: |',
  `| installReaper() (subreaper) | ${f(holdfast.p50)} | ${f(holdfast.p95)} |`,
  `| tini -s | ${tini === undefined ? '—' : f(tini.p50)} | ${tini === undefined ? '—' : f(tini.p95)} |`,
  '',
  tini === undefined
    ? 'Goal — within 2× of tini p50: not measured here.'
    : `Goal — within 2× of tini's p50: **${holdfast.p50 <= tini.p50 * 2 ? 'met' : 'missed'}** (${(holdfast.p50 / tini.p50).toFixed(2)}×). The two measure the same way: the fixture timestamps each orphan's exit and polls /proc until it is gone.`,
  '',
  `One sweep over 100 zombies (scan /proc, waitpid each): ${f(holdfast.sweep100Ms)} ms.`,
].join('\n');

mkdirSync(out, { recursive: true });
writeFileSync(`${out}reaper.md`, `${md}\n`);
writeFileSync(
  `${out}reaper.json`,
  `${JSON.stringify({ charts: [{ title: '@holdfast/reaper: p50 per run of /bin/true', unit: 'ms', bars: rows.map((r) => ({ label: r.name, value: r.p50 })) }] }, null, 2)}\n`,
);
process.stdout.write(`${md}\n`);
