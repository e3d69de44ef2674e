/**
 * `pnpm bench` for @holdfast/batch: every variant in its own process, in one run, compared with
 * p-map without timeouts; then fetchEach's memory over 1,000,000 items. Writes
 * docs/benchmarks/batch.md and docs/benchmarks/batch.json. Measures the build in dist/ (`pnpm bench`
 * builds first).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const tsx = fileURLToPath(new URL('../../../node_modules/.bin/tsx', import.meta.url));
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
const rows: Row[] = names.map((name) => {
  process.stdout.write(`  ${name} …\n`);
  return JSON.parse(execFileSync(tsx, [here('variants.ts'), name], { encoding: 'utf8' })) as Row;
});
const memory = JSON.parse(
  execFileSync(tsx, [here('stream-memory.ts')], {
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: '--expose-gc' },
  }),
) as { consumed: number; heapAt100kMb: number; heapAt1mMb: number };

const base = rows[0]!;
const ratio = (a: number, b: number) => (a / b).toFixed(2);
const fetchAllRow = rows[1]!;
const goal = fetchAllRow.usPerItem / base.usPerItem <= 1.5;
const growth = memory.heapAt1mMb / memory.heapAt100kMb;
const md = [
  '## @holdfast/batch',
  '',
  'Command: `pnpm bench` (`packages/batch/bench/run.ts`). 100,000 items of trivial async work at',
  'concurrency 16, per-attempt timeout 30 s where the variant has one; median of 5 rounds after a',
  'warm-up; each variant in its own process so that its peak RSS is its own.',
  '',
  '| variant | µs/item | × p-map | peak RSS (MB) | × p-map |',
  '| --- | ---: | ---: | ---: | ---: |',
  ...rows.map(
    (r) =>
      `| ${r.name} | ${r.usPerItem.toFixed(3)} | ${ratio(r.usPerItem, base.usPerItem)} | ${r.maxRssMb.toFixed(0)} | ${ratio(r.maxRssMb, base.maxRssMb)} |`,
  ),
  '',
  `Goal — per-item timeouts and signals at no more than 1.5× p-map without timeouts: **${goal ? 'met' : 'missed'}** (${ratio(fetchAllRow.usPerItem, base.usPerItem)}×; ${ratio(rows[2]!.usPerItem, base.usPerItem)}× when every item reads its signal, which creates an AbortController per attempt).`,
  '',
  `\`fetchEach\` over ${memory.consumed.toLocaleString('en')} items: heap ${memory.heapAt100kMb.toFixed(1)} MB after 100,000 outcomes, ${memory.heapAt1mMb.toFixed(1)} MB after 1,000,000 (${growth.toFixed(2)}×): memory stays O(concurrency) — **${growth < 1.5 ? 'flat' : 'NOT flat'}**.`,
].join('\n');

mkdirSync(out, { recursive: true });
writeFileSync(`${out}batch.md`, `${md}\n`);
writeFileSync(
  `${out}batch.json`,
  `${JSON.stringify({ charts: [{ title: '@holdfast/batch: µs per item, 100,000 items, concurrency 16', unit: 'µs', bars: rows.map((r) => ({ label: r.name, value: r.usPerItem })) }] }, null, 2)}\n`,
);
process.stdout.write(`${md}\n`);
