/**
 * The tryAppend path (bench/scenario.ts `pool-memory`: 1,000,000 records of 200 bytes, 1 input →
 * 2 outputs) with `@holdfast/chunk-pool/otel` installed, against the no-op meter and an SDK
 * meter, compared with the pool without it (each mode in its own process, taking turns, best of
 * 3). Prints the markdown rows; bench/run.ts adds them to docs/benchmarks/chunk-pool.md.
 */
import { fileURLToPath } from 'node:url';
import { bestPerMode, MODE_LABELS, OTEL_MODES } from '../../../scripts/bench-otel.js';

const scenario = fileURLToPath(new URL('./scenario.ts', import.meta.url));
const best = bestPerMode<{ ms: number; records: number }>([scenario, 'pool-memory'], 'ms', 3);
const perSecond = (r: { ms: number; records: number }) => r.records / (r.ms / 1000);
const base = perSecond(best.none);
export const otelRows = [
  '| tryAppend → 2 outputs, memory storage, 1,000,000 records | records/s | ratio vs without |',
  '| --- | ---: | ---: |',
  ...OTEL_MODES.map(
    (mode) =>
      `| ${MODE_LABELS[mode]} | ${Math.round(perSecond(best[mode]) / 1000).toLocaleString('en-US')} k | ${(perSecond(best[mode]) / base).toFixed(2)}× |`,
  ),
].join('\n');
if (import.meta.url === `file://${process.argv[1]}`) process.stdout.write(`${otelRows}\n`);
