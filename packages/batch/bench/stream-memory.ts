/**
 * `fetchEach` retained heap while the stream runs: `tsx bench/stream-memory.ts <items> <payloadBytes>`
 * (run with `--expose-gc`). A consumer that keeps up takes every outcome; every `items / 20`
 * outcomes (and at least every 10,000) the loop forces a full GC and samples `heapUsed`, so a
 * leak shows while it happens — a sample taken after the loop cannot see one (the stream has let
 * everything go by then). Concurrency 32. Prints `{ items, payloadBytes, startMb, samples,
 * maxGrowthMb, bytesPerItem }` as JSON: the largest growth above the start at any sample, and the
 * growth per item as the least-squares slope of the samples (a leak of b bytes an item shows as
 * ~b even if the heap drops now and then; a flat heap as ~0).
 */
import { fetchEach } from '@holdfast/batch';

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with --expose-gc');
const items = Number(process.argv[2] ?? 1_000_000);
const payloadBytes = Number(process.argv[3] ?? 0);
function* source() {
  for (let i = 0; i < items; i += 1) yield i;
}
const heapMb = () => {
  gc();
  return process.memoryUsage().heapUsed / 2 ** 20;
};
const work = async (i: number) => (payloadBytes === 0 ? i : 'x'.repeat(payloadBytes) + i);
const every = Math.min(10_000, Math.ceil(items / 20));

const startMb = heapMb();
const samples: { consumed: number; growthMb: number }[] = [];
let consumed = 0;
for await (const outcome of fetchEach(source(), work, { concurrency: 32, timeout: 30_000 })) {
  if (outcome.status !== 'fulfilled') throw new Error(`unexpected ${outcome.status}`);
  consumed += 1;
  if (consumed % every === 0) samples.push({ consumed, growthMb: heapMb() - startMb });
}
/** Least-squares slope of y over x. */
function slope(points: readonly (readonly [number, number])[]): number {
  const n = points.length;
  const mx = points.reduce((a, [x]) => a + x, 0) / n;
  const my = points.reduce((a, [, y]) => a + y, 0) / n;
  const sxy = points.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0);
  const sxx = points.reduce((a, [x]) => a + (x - mx) ** 2, 0);
  return sxy / sxx;
}
const worst = samples.reduce((a, b) => (b.growthMb > a.growthMb ? b : a));
process.stdout.write(
  JSON.stringify({
    items: consumed,
    payloadBytes,
    startMb,
    samples: samples.length,
    maxGrowthMb: worst.growthMb,
    bytesPerItem: slope(samples.map((x) => [x.consumed, x.growthMb * 2 ** 20] as const)),
  }) + '\n',
);
