/**
 * One benchmark scenario per process, so each reports its own peak RSS. Prints one JSON line:
 * `{ records, bytes, ms, maxRssMb }`. Run by bench/run.ts.
 */
import { closeSync, fsyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Readable, Writable } from 'node:stream';
// The built package (self-reference through its exports map), as users run it.
import { ChunkPool, fileStorage, type ChunkStorage } from '@holdfast/chunk-pool';
import { benchMeterProvider } from '../../../scripts/bench-otel.js';
import { factor, perRecord } from './heap.js';
import { outageScenario } from './outage.js';

const RECORDS = 1_000_000;
const RECORD_BYTES = 200;
// A thousand distinct records, reused: the input side costs the same in every scenario.
const samples = Array.from({ length: 1_000 }, (_, i) =>
  Buffer.from(`record-${i}-`.padEnd(RECORD_BYTES, 'x')),
);
const record = (i: number) => samples[i % samples.length] as Buffer;

/** Memory storage: the whole path, from append to every output's ack. */
async function poolScenario(storage: ChunkStorage | undefined, outputs: string[]): Promise<void> {
  const pool = await ChunkPool.open({
    outputs,
    ...(storage === undefined ? {} : { storage }),
    chunkBytes: 1 << 20,
    maxBytesUp: 64 << 20,
  });
  // HOLDFAST_BENCH_OTEL (bench/otel.ts): the otel entry on a no-op or an SDK meter, or none.
  const otel = benchMeterProvider();
  const instrumentation =
    otel.meterProvider === undefined
      ? undefined
      : (await import('@holdfast/chunk-pool/otel')).instrumentChunkPool({
          pool,
          meterProvider: otel.meterProvider,
        });
  const consumers = outputs.map(async (output) => {
    for await (const lease of pool.consume(output)) await lease.ack();
  });
  // HOLDFAST_BENCH_ACKS=1: delivery acknowledgements used as an input checkpointing on them
  // would (a `settled` listener, and a wait every 10,000 records).
  const acks = process.env.HOLDFAST_BENCH_ACKS === '1';
  const checkpoints: Promise<number>[] = [];
  let settledChunks = 0;
  if (acks) pool.on('settled', () => (settledChunks += 1));
  // The hot-path idiom: tryAppend, and await append only when the pool says to wait.
  for (let i = 0; i < RECORDS; i++) {
    if (!pool.tryAppend('app', record(i))) await pool.append('app', record(i));
    if (acks && i % 10_000 === 9_999) checkpoints.push(pool.whenSettled('app'));
  }
  await pool.flush();
  await pool.drain();
  if (acks && ((await Promise.all(checkpoints)).length !== 100 || settledChunks === 0)) {
    throw new Error('the delivery acknowledgements did not all arrive');
  }
  await otel.finish();
  instrumentation?.stop();
  await pool.close();
  await Promise.all(consumers);
}

/**
 * File storage: ingest to disk (append every record, then flush: all of it written, CRC'd and
 * fsynced), which is what raw writeSync is compared with; delivery is timed separately.
 */
async function fileScenario(dir: string): Promise<{ deliverMs: number }> {
  const pool = await ChunkPool.open({
    outputs: ['a'],
    storage: fileStorage({ dir, fsync: 'batch' }),
    chunkBytes: 1 << 20,
    maxBytesUp: 64 << 20,
  });
  for (let i = 0; i < RECORDS; i++)
    if (!pool.tryAppend('app', record(i))) await pool.append('app', record(i));
  await pool.flush();
  ingestMs = performance.now() - started;
  const delivering = performance.now();
  const consumer = (async () => {
    for await (const lease of pool.consume('a')) await lease.ack();
  })();
  await pool.drain();
  await pool.close();
  await consumer;
  return { deliverMs: performance.now() - delivering };
}

async function streamScenario(): Promise<void> {
  let i = 0;
  const source = new Readable({
    objectMode: true,
    highWaterMark: 1024,
    read() {
      while (i < RECORDS) if (!this.push(record(i++))) return;
      this.push(null);
    },
  });
  const sink = () =>
    new Promise<void>((resolve) => {
      const writable = new Writable({
        objectMode: true,
        highWaterMark: 1024,
        write(_chunk, _encoding, callback) {
          callback();
        },
      });
      writable.on('finish', resolve);
      source.pipe(writable);
    });
  await Promise.all([sink(), sink()]);
}

function rawWriteScenario(dir: string): void {
  // The same bytes, written sequentially in 1 MiB writes, fsynced once at the end.
  const fd = openSync(join(dir, 'raw'), 'w');
  const block = Buffer.concat(
    Array.from({ length: (1 << 20) / RECORD_BYTES }, (_, k) => record(k)),
  );
  let written = 0;
  while (written < RECORDS * RECORD_BYTES) written += writeSync(fd, block);
  fsyncSync(fd);
  closeSync(fd);
}

const name = process.argv[2];
const dir = mkdtempSync(join(tmpdir(), 'holdfast-bench-'));
const started = performance.now();
let ingestMs: number | undefined;
let extra = {};
if (name === 'pool-memory') await poolScenario(undefined, ['a', 'b']);
else if (name === 'stream') await streamScenario();
else if (name === 'pool-file') extra = await fileScenario(dir);
else if (name === 'raw-write') rawWriteScenario(dir);
// `outage [seconds] [downSeconds]`, `no-outage [seconds]`: see bench/outage.ts.
else if (name === 'outage' || name === 'no-outage') {
  const seconds = Number(process.argv[3] ?? 30);
  const downSeconds = name === 'outage' ? Number(process.argv[4] ?? seconds) : 0;
  extra = await outageScenario(dir, record, { seconds, downSeconds });
}
// `heap-per-record <bytes>`, `heap-factor <bytes>` (with --expose-gc): see bench/heap.ts.
else if (name === 'heap-per-record') extra = await perRecord(Number(process.argv[3]));
else if (name === 'heap-factor') extra = await factor(Number(process.argv[3]));
else throw new Error(`unknown scenario ${String(name)}`);
const ms = ingestMs ?? performance.now() - started;
rmSync(dir, { recursive: true, force: true });
process.stdout.write(
  `${JSON.stringify({ records: RECORDS, bytes: RECORDS * RECORD_BYTES, ms, ...extra, maxRssMb: process.resourceUsage().maxRSS / 1024 })}\n`,
);
