/**
 * `pnpm bench` for @holdfast/chunk-pool, in one run, each scenario in its own process (for its
 * peak RSS), best of 5, scenarios taking turns: memory storage moving 1,000,000 records of 200 bytes from one input to
 * two outputs against an object-mode stream pipeline (Readable piped to two Writables,
 * highWaterMark 1024); file storage (CRC32, fsync 'batch') against writing the same bytes with
 * fs.writeSync in 1 MiB blocks. Writes docs/benchmarks/chunk-pool.md and .json. Measures the
 * build in dist/.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const out = fileURLToPath(new URL('../../../docs/benchmarks/', import.meta.url));
const scenarioFile = fileURLToPath(new URL('./scenario.ts', import.meta.url));

interface Result {
  records: number;
  bytes: number;
  /** For file storage: ingest to disk (append all, flush). */
  ms: number;
  /** For file storage: then delivering everything to one output (read back, ack, delete). */
  deliverMs?: number;
  maxRssMb: number;
}

function run(name: string): Result {
  // Dirty pages another run left would be written back during this one: flush them first.
  if (process.platform !== 'win32') execFileSync('sync');
  return JSON.parse(
    execFileSync(process.execPath, ['--import', 'tsx', scenarioFile, name], { encoding: 'utf8' }),
  ) as Result;
}

/**
 * The best of `rounds` runs of each scenario, the scenarios taking turns, so that a slow spell
 * of the machine (the disk's, above all) falls on all of them alike.
 */
function bestOf(rounds: number, names: readonly string[]): Result[] {
  const best: (Result | undefined)[] = names.map(() => undefined);
  for (let round = 0; round < rounds; round++) {
    names.forEach((name, i) => {
      const result = run(name);
      if (best[i] === undefined || result.ms < (best[i] as Result).ms) best[i] = result;
    });
  }
  return best as Result[];
}

const [poolMemory, stream] = bestOf(5, ['pool-memory', 'stream']) as [Result, Result];
const [poolFile, raw] = bestOf(5, ['pool-file', 'raw-write']) as [Result, Result];

const perSecond = (r: Result) => r.records / (r.ms / 1000);
const mbPerSecond = (r: Result) => r.bytes / 1e6 / (r.ms / 1000);
const memoryRatio = perSecond(poolMemory) / perSecond(stream);
const fileRatio = mbPerSecond(poolFile) / mbPerSecond(raw);
// The otel entry's cost on the tryAppend path (bench/otel.ts prints its table).
const otelRows = execFileSync(
  process.execPath,
  ['--import', 'tsx', fileURLToPath(new URL('./otel.ts', import.meta.url))],
  {
    encoding: 'utf8',
  },
).trim();
const k = (n: number) => `${Math.round(n / 1000).toLocaleString('en-US')} k`;

const md = [
  '## @holdfast/chunk-pool',
  '',
  'Command: `pnpm bench` (`packages/chunk-pool/bench/run.ts`). 1,000,000 records of 200 bytes, each scenario in its own process, taking turns after a `sync`, best of 5.',
  '',
  '| scenario | records/s | MB/s | peak RSS (MB) |',
  '| --- | ---: | ---: | ---: |',
  `| ChunkPool, memory storage, 1 input → 2 outputs | ${k(perSecond(poolMemory))} | ${mbPerSecond(poolMemory).toFixed(0)} | ${poolMemory.maxRssMb.toFixed(0)} |`,
  `| object-mode stream, Readable piped to 2 Writables (highWaterMark 1024) | ${k(perSecond(stream))} | ${mbPerSecond(stream).toFixed(0)} | ${stream.maxRssMb.toFixed(0)} |`,
  `| ChunkPool, file storage (CRC32, fsync 'batch'): ingest to disk (append all, flush) | ${k(perSecond(poolFile))} | ${mbPerSecond(poolFile).toFixed(0)} | ${poolFile.maxRssMb.toFixed(0)} |`,
  `| … then delivering the backlog to one output (read back, ack, delete) | ${k(poolFile.records / ((poolFile.deliverMs ?? NaN) / 1000))} | ${(poolFile.bytes / 1e6 / ((poolFile.deliverMs ?? NaN) / 1000)).toFixed(0)} | |`,
  `| fs.writeSync, same bytes in 1 MiB writes, one fsync | ${k(perSecond(raw))} | ${mbPerSecond(raw).toFixed(0)} | ${raw.maxRssMb.toFixed(0)} |`,
  '',
  `Goal — memory storage at least 2× the stream pipeline's records/s: **${memoryRatio >= 2 ? 'met' : 'missed'}** (${memoryRatio.toFixed(2)}×).`,
  `Goal — file storage at least 50% of raw \`writeSync\` bandwidth: **${fileRatio >= 0.5 ? 'met' : 'missed'}** (${(fileRatio * 100).toFixed(0)}%; chunkio publishes about 545 MB/s with CRC32 on its machine).`,
  '',
  '`@holdfast/chunk-pool/otel` installed (`bench/otel.ts`: each mode in its own process, taking turns,',
  'best of 3; everything but drops is read from `stats()` at collection, so `tryAppend` does no metric work):',
  '',
  otelRows,
].join('\n');

mkdirSync(out, { recursive: true });
writeFileSync(`${out}chunk-pool.md`, `${md}\n`);
writeFileSync(
  `${out}chunk-pool.json`,
  `${JSON.stringify(
    {
      charts: [
        {
          title: '@holdfast/chunk-pool: records/s, 1 input → 2 outputs (memory)',
          unit: 'k records/s',
          bars: [
            { label: 'ChunkPool (memory)', value: perSecond(poolMemory) / 1000 },
            { label: 'object-mode stream', value: perSecond(stream) / 1000 },
          ],
        },
        {
          title: '@holdfast/chunk-pool: MB/s to disk',
          unit: 'MB/s',
          bars: [
            { label: 'ChunkPool (file, CRC32)', value: mbPerSecond(poolFile) },
            { label: 'fs.writeSync 1 MiB', value: mbPerSecond(raw) },
          ],
        },
      ],
    },
    null,
    2,
  )}\n`,
);
process.stdout.write(`${md}\n`);
