/**
 * `pnpm bench` for @holdfast/batch: every variant in its own process, in one run, compared with
 * p-map without timeouts, on this Node and on the other Node lines CI runs (22, 24, 26); then
 * fetchEach's retained heap sampled during the run at 100,000 and 1,000,000 items. Writes
 * docs/benchmarks/batch.md and docs/benchmarks/batch.json. Measures the build in dist/ (`pnpm bench`
 * builds first).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// Children run as `node --import tsx`, with the node that runs them (so a Node line is measured
// with its own engine, not with the one tsx's shebang finds).
const tsxLoader = 'tsx';
const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
const out = fileURLToPath(new URL('../../../docs/benchmarks/', import.meta.url));

const names = [
  'p-map (no timeout)',
  'fetchAll (timeout + signal available)',
  'fetchAll (timeout + signal read by every item)',
  'p-map + p-timeout',
  'p-map + cockatiel timeout',
  'Promise.allSettled (unbounded)',
];
interface Row {
  name: string;
  usPerItem: number;
  maxRssMb: number;
}
/**
 * The Node lines measured: this one, and every other line CI runs (22, 24 and 26, from the
 * registry with `npx -y node@<line>`); a line the registry cannot give is said and skipped.
 */
const OTHER_LINES = [22, 24, 26];
function nodeLines(): { label: string; node: string }[] {
  const lines = [{ label: `Node ${process.version}`, node: process.execPath }];
  for (const line of OTHER_LINES) {
    try {
      const node = execFileSync('npx', ['-y', `node@${line}`, '-p', 'process.execPath'], {
        encoding: 'utf8',
      }).trim();
      const version = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();
      if (!lines.some((l) => l.label === `Node ${version}`))
        lines.push({ label: `Node ${version}`, node });
    } catch {
      process.stdout.write(`  (Node ${line} not available from the registry: not measured)\n`);
    }
  }
  return lines;
}

const run = (node: string, args: string[], env: NodeJS.ProcessEnv = process.env) =>
  execFileSync(node, ['--import', tsxLoader, ...args], { encoding: 'utf8', env });

// The variants take turns, process by process, three times; each keeps its best run. On a
// shared machine a slow spell then falls on every variant alike instead of on one.
const TURNS = 3;
const lines = nodeLines().map(({ label, node }) => {
  const best = new Map<string, Row>();
  for (let turn = 1; turn <= TURNS; turn += 1) {
    process.stdout.write(`${label}, turn ${turn} of ${TURNS}\n`);
    for (const name of names) {
      const row = JSON.parse(run(node, [here('variants.ts'), name])) as Row;
      const kept = best.get(name);
      if (kept === undefined || row.usPerItem < kept.usPerItem) best.set(name, row);
    }
  }
  return { label, rows: names.map((name) => best.get(name)!) };
});

interface Memory {
  items: number;
  payloadBytes: number;
  samples: number;
  maxGrowthMb: number;
  bytesPerItem: number;
}
const memory = [
  [100_000, 0],
  [1_000_000, 0],
  [100_000, 4_096],
].map(([items, payload]) => {
  process.stdout.write(`  fetchEach memory, ${items} items of ${payload} bytes …\n`);
  return JSON.parse(
    run(process.execPath, [
      '--expose-gc',
      here('stream-memory.ts'),
      String(items),
      String(payload),
    ]),
  ) as Memory;
});

const ratio = (a: number, b: number) => (a / b).toFixed(2);
const goals = lines.map(({ label, rows }) => {
  const base = rows[0]!;
  const withTimeouts = rows[1]!.usPerItem / base.usPerItem;
  const signalRead = rows[2]!.usPerItem / base.usPerItem;
  return { label, met: withTimeouts <= 1.5, withTimeouts, signalRead };
});
const memoryMet = memory.every((m) => m.maxGrowthMb < 2);
// The otel entry's cost on this Node (bench/otel.ts prints its table).
const otelRows = run(process.execPath, [here('otel.ts')]).trim();
const md = [
  '## @holdfast/batch',
  '',
  'Command: `pnpm bench` (`packages/batch/bench/run.ts`). 100,000 items of trivial async work at',
  'concurrency 16, per-attempt timeout 30 s where the variant has one; median of 5 rounds after a',
  'warm-up; each variant in its own process so that its peak RSS is its own; the variants take',
  "turns, three times, and each keeps its best; on this machine's Node and on the other lines CI",
  'runs (22, 24 and 26, from the registry: `npx -y node@<line>`).',
  '',
  ...lines.flatMap(({ label, rows }) => [
    `### ${label}`,
    '',
    '| variant | µs/item | × p-map | peak RSS (MB) | × p-map |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...rows.map(
      (r) =>
        `| ${r.name} | ${r.usPerItem.toFixed(3)} | ${ratio(r.usPerItem, rows[0]!.usPerItem)} | ${r.maxRssMb.toFixed(0)} | ${ratio(r.maxRssMb, rows[0]!.maxRssMb)} |`,
    ),
    '',
  ]),
  'Goal — per-item timeouts and signals at no more than 1.5× p-map without timeouts: ' +
    goals
      .map(
        (g) =>
          `${g.label} **${g.met ? 'met' : 'missed'}** (${g.withTimeouts.toFixed(2)}×; ${g.signalRead.toFixed(2)}× when every item reads its signal, an AbortController per attempt)`,
      )
      .join('; ') +
    '.',
  '',
  '`fetchEach` retained heap, sampled during the run after a forced GC (`node --expose-gc',
  'bench/stream-memory.ts <items> <payload bytes>`, concurrency 32, a consumer that keeps up, a',
  'sample every 5% of the items and at least every 10,000):',
  '',
  '| items | payload | samples | max growth above start (MB) | growth per item (bytes, slope of the samples) |',
  '| ---: | ---: | ---: | ---: | ---: |',
  ...memory.map(
    (m) =>
      `| ${m.items.toLocaleString('en')} | ${m.payloadBytes === 0 ? 'an integer' : `${m.payloadBytes.toLocaleString('en')} B string`} | ${m.samples} | ${m.maxGrowthMb.toFixed(2)} | ${m.bytesPerItem.toFixed(2)} |`,
  ),
  '',
  `Goal — under 2 MB above the start at every sample, at 100,000 and at 1,000,000 items: **${memoryMet ? 'met' : 'missed'}**.`,
  '',
  '`@holdfast/batch/otel` installed (`bench/otel.ts`: each mode in its own process, taking turns, best',
  'of 3; the no-op meter subscribes nothing, so `fetchAll` builds no message):',
  '',
  otelRows,
].join('\n');

mkdirSync(out, { recursive: true });
writeFileSync(`${out}batch.md`, `${md}\n`);
writeFileSync(
  `${out}batch.json`,
  `${JSON.stringify({ charts: [{ title: `@holdfast/batch: µs per item, 100,000 items, concurrency 16, ${lines[0]!.label}`, unit: 'µs', bars: lines[0]!.rows.map((r) => ({ label: r.name, value: r.usPerItem })) }] }, null, 2)}\n`,
);
process.stdout.write(`${md}\n`);
