/**
 * The outage scenario of issue #18: file storage, two outputs, four inputs (tags) flooding for
 * `seconds`, `flush()` every second. With `downSeconds > 0`, output `search` is down for that long from the
 * start: each of its leases fails (`retry()`), as a sender whose backend refuses does; `archive`
 * delivers throughout. Reports the appends per second, every flush()'s duration and the sealed
 * chunks' sizes. Run by bench/scenario.ts (`outage`, `no-outage`).
 */
import { setImmediate as turn } from 'node:timers/promises';
import { performance } from 'node:perf_hooks';
import { ChunkPool, fileStorage } from '@holdfast/chunk-pool';

const TAGS = ['app', 'audit', 'nginx', 'kernel'];

export interface OutageResult {
  readonly seconds: number;
  readonly downSeconds: number;
  readonly appended: number;
  readonly appendsPerSecond: number;
  readonly flushes: number;
  /** Flushes still running when the run ended count with the time they had taken. */
  readonly maxFlushMs: number;
  readonly medianChunkRecords: number;
  readonly chunks: number;
}

export async function outageScenario(
  dir: string,
  record: (i: number) => Buffer,
  { seconds, downSeconds }: { seconds: number; downSeconds: number },
): Promise<OutageResult> {
  const pool = await ChunkPool.open({
    outputs: [
      { name: 'search', retry: { maxAttempts: Infinity, minDelay: 100, maxDelay: 500 } },
      { name: 'archive', retry: { maxAttempts: Infinity, minDelay: 100, maxDelay: 500 } },
    ],
    storage: fileStorage({ dir, fsync: 'batch' }),
    chunkBytes: 64 * 1024,
    chunkAge: 200,
    maxBytesUp: 2 * 1024 * 1024,
    reservePerOutput: 256 * 1024,
    maxBytesStored: 4 * 1024 * 1024 * 1024,
  });
  const sizes: number[] = [];
  pool.on('sealed', (chunk) => sizes.push(chunk.recordCount));
  const started = performance.now();
  const elapsed = () => performance.now() - started;
  const stop = new AbortController();
  const consumers = ['search', 'archive'].map(async (output) => {
    for await (const lease of pool.consume(output, { signal: stop.signal })) {
      if (output === 'search' && elapsed() < downSeconds * 1000) await lease.retry();
      else await lease.ack();
    }
  });

  const flushTimes: number[] = [];
  let flushing: { since: number } | undefined;
  const flusher = setInterval(() => {
    if (flushing !== undefined) return; // the previous flush() is still running
    const since = performance.now();
    flushing = { since };
    pool.flush().then(
      () => {
        flushTimes.push(performance.now() - since);
        flushing = undefined;
      },
      (error: unknown) => {
        throw error;
      },
    );
  }, 1000);

  let appended = 0;
  while (elapsed() < seconds * 1000) {
    // An input reading a busy file: a thousand lines a read, then the event loop turns.
    for (let k = 0; k < 1000; k++, appended++) {
      const tag = TAGS[appended % TAGS.length] as string;
      if (!pool.tryAppend(tag, record(appended))) await pool.append(tag, record(appended));
    }
    await turn();
  }
  const ms = elapsed();
  clearInterval(flusher);
  const unfinished = flushing === undefined ? [] : [performance.now() - flushing.since];
  const allFlushes = [...flushTimes, ...unfinished];
  stop.abort();
  await Promise.all(consumers);
  await pool.close();
  const sorted = [...sizes].sort((a, b) => a - b);
  return {
    seconds,
    downSeconds,
    appended,
    appendsPerSecond: appended / (ms / 1000),
    flushes: allFlushes.length,
    maxFlushMs: Math.max(0, ...allFlushes),
    medianChunkRecords: sorted[Math.floor(sorted.length / 2)] ?? 0,
    chunks: sizes.length,
  };
}
