// `pnpm bench`: runs every package's benchmark (`packages/<name>/bench/run.ts`) one after the
// other in one session, then writes docs/benchmarks.md from what they reported.
//
// Contract with a package benchmark: run with the package folder as cwd, it compares holdfast
// with the named peers in the same process run and writes `docs/benchmarks/<name>.md` (a section
// of markdown: tables with ratios, and the goals met or missed) and `docs/benchmarks/<name>.json`
// (`{ "charts": [{ "title", "unit", "bars": [{ "label", "value" }] }] }`) for the charts.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { basename, join } from 'node:path';
import { barChartSvg } from './bar-chart.mjs';
import { root, workspacePackages } from './workspace-packages.mjs';

const outDir = join(root, 'docs', 'benchmarks');
mkdirSync(outDir, { recursive: true });

const only = process.argv.slice(2);
const ran = [];
for (const { dir } of workspacePackages()) {
  const name = basename(dir);
  if (only.length > 0 && !only.includes(name)) continue;
  const script = join(dir, 'bench', 'run.ts');
  if (!existsSync(script)) continue;
  process.stdout.write(`\n== bench ${name}\n`);
  execFileSync(join(root, 'node_modules', '.bin', 'tsx'), [script], { cwd: dir, stdio: 'inherit' });
  ran.push(name);
}

// Each package section, followed by its charts (one SVG per chart, next to this page).
const sections = [];
for (const { dir } of workspacePackages()) {
  const name = basename(dir);
  const markdown = join(outDir, `${name}.md`);
  if (!existsSync(markdown)) continue;
  const parts = [readFileSync(markdown, 'utf8').trim()];
  const chartsFile = join(outDir, `${name}.json`);
  const charts = existsSync(chartsFile) ? JSON.parse(readFileSync(chartsFile, 'utf8')).charts : [];
  charts.forEach((chart, i) => {
    const svg = `${name}-${i + 1}.svg`;
    writeFileSync(join(outDir, svg), barChartSvg(chart));
    parts.push(`![${chart.title}](benchmarks/${svg})`);
  });
  sections.push(parts.join('\n\n'));
}

const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Linux, Node ${process.version}`;
const page = [
  '# Benchmarks',
  '',
  'Produced by `pnpm bench` (each package compared with its named peers in the same run).',
  `Latest run: ${new Date().toISOString().slice(0, 10)} on ${machine}; packages run this time: ${ran.join(', ') || 'none'}.`,
  'Speed goals are checked here, never by timed tests.',
  '',
  ...sections.flatMap((section) => [section, '']),
].join('\n');
writeFileSync(join(root, 'docs', 'benchmarks.md'), page);
process.stdout.write(`\nwrote docs/benchmarks.md (${sections.length} package sections)\n`);
