/**
 * `fetchAll` with `@holdfast/batch/otel` installed, against the no-op meter and an SDK meter,
 * compared with `fetchAll` without it (bench/variants.ts, 100,000 items at concurrency 16; each
 * mode in its own process, taking turns, best of 3). Prints the markdown rows; bench/run.ts adds
 * them to docs/benchmarks/batch.md.
 */
import { fileURLToPath } from 'node:url';
import { bestPerMode, MODE_LABELS, OTEL_MODES } from '../../../scripts/bench-otel.js';

const variants = fileURLToPath(new URL('./variants.ts', import.meta.url));
const best = bestPerMode<{ usPerItem: number }>(
  [variants, 'fetchAll (timeout + signal available)'],
  'usPerItem',
  3,
);
const base = best.none.usPerItem;
export const otelRows = [
  '| fetchAll, 100,000 items, concurrency 16 | µs per item | ratio vs without |',
  '| --- | ---: | ---: |',
  ...OTEL_MODES.map(
    (mode) =>
      `| ${MODE_LABELS[mode]} | ${best[mode].usPerItem.toFixed(2)} | ${(best[mode].usPerItem / base).toFixed(2)}× |`,
  ),
].join('\n');
if (import.meta.url === `file://${process.argv[1]}`) process.stdout.write(`${otelRows}\n`);
