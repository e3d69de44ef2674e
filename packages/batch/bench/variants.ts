/**
 * One benchmark variant per process (so peak RSS belongs to that variant alone):
 * `tsx bench/variants.ts <name>` prints `{ name, usPerItem, maxRssMb }` as JSON.
 * Every variant moves the same 100,000 items of trivial async work at concurrency 16.
 */
import { TimeoutStrategy, timeout as cockatielTimeout } from 'cockatiel';
import pMap from 'p-map';
import pTimeout from 'p-timeout';
// The built package (self-reference through its exports map), as users run it.
import { fetchAll } from '@holdfast/batch';
import { benchMeterProvider } from '../../../scripts/bench-otel.js';

const ITEMS = Array.from({ length: 100_000 }, (_, i) => i);
const CONCURRENCY = 16;
const TIMEOUT_MS = 30_000;
const work = async (i: number) => i;

const variants: Record<string, () => Promise<unknown>> = {
  'p-map (no timeout)': () => pMap(ITEMS, work, { concurrency: CONCURRENCY }),
  'fetchAll (timeout + signal available)': () =>
    fetchAll(ITEMS, work, { concurrency: CONCURRENCY, timeout: TIMEOUT_MS }),
  'fetchAll (timeout + signal read by every item)': () =>
    fetchAll(ITEMS, (i, { signal }) => (signal.aborted ? -1 : work(i)), {
      concurrency: CONCURRENCY,
      timeout: TIMEOUT_MS,
    }),
  'p-map + p-timeout': () =>
    pMap(ITEMS, (i) => pTimeout(work(i), { milliseconds: TIMEOUT_MS }), {
      concurrency: CONCURRENCY,
    }),
  'p-map + cockatiel timeout': () => {
    const policy = cockatielTimeout(TIMEOUT_MS, TimeoutStrategy.Cooperative);
    return pMap(ITEMS, (i) => policy.execute(() => work(i)), { concurrency: CONCURRENCY });
  },
  'Promise.allSettled (unbounded)': () => Promise.allSettled(ITEMS.map(work)),
};

const name = process.argv[2] ?? '';
const run = variants[name];
if (run === undefined)
  throw new TypeError(
    `Expected a variant name, one of ${Object.keys(variants).join(', ')}; got \`${name}\``,
  );

// HOLDFAST_BENCH_OTEL (bench/otel.ts): the otel entry on a no-op or an SDK meter, or none.
const otel = benchMeterProvider();
const instrumentation =
  otel.meterProvider === undefined
    ? undefined
    : (await import('@holdfast/batch/otel')).instrumentBatch({ meterProvider: otel.meterProvider });

const rounds: number[] = [];
await run(); // warm-up
for (let round = 0; round < 5; round += 1) {
  const start = process.hrtime.bigint();
  await run();
  rounds.push(Number(process.hrtime.bigint() - start) / 1e3 / ITEMS.length);
}
await otel.finish();
instrumentation?.stop();
rounds.sort((a, b) => a - b);
process.stdout.write(
  JSON.stringify({ name, usPerItem: rounds[2], maxRssMb: process.resourceUsage().maxRSS / 1024 }) +
    '\n',
);
