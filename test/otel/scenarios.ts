/**
 * One run of each package with its `otel` entry on a real SDK MeterProvider, exercised so that
 * every metric the package can emit is emitted, with every attribute key it can carry. The
 * docs-exactness test compares what these collect with the tables in docs/<package>.md.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetchAll } from '@holdfast/batch';
import { instrumentBatch } from '@holdfast/batch/otel';
import { ChunkPool } from '@holdfast/chunk-pool';
import { instrumentChunkPool } from '@holdfast/chunk-pool/otel';
import { installCrashGuard } from '@holdfast/crash-flush';
import { instrumentCrashGuard } from '@holdfast/crash-flush/otel';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  testMeterProvider,
  type CollectedMetric,
} from '../../packages/internal/test/otel-reader.js';

export type Collected = ReadonlyMap<string, CollectedMetric>;

export async function batchScenario(): Promise<Collected> {
  const { meterProvider, collect } = testMeterProvider();
  const instrumentation = instrumentBatch({ meterProvider });
  await fetchAll(
    [1, 2, 3],
    (n) => {
      if (n === 2) throw new Error('fatal for this optional item');
      if (n === 3) throw Object.assign(new Error('skip me'), { skip: true });
      return n;
    },
    {
      importance: (n) => (n === 2 ? 'optional' : 'required'),
      classify: (e) => ((e as { skip?: boolean }).skip === true ? 'skip' : 'fatal'),
    },
  );
  await fetchAll(
    [1, 2, 3, 4],
    () => {
      throw new Error('down');
    },
    { breaker: { failureRatio: 0.5, minSamples: 2 }, concurrency: 1 },
  );
  const collected = await collect();
  instrumentation.stop();
  return collected;
}

export async function chunkPoolScenario(): Promise<Collected> {
  // A record costs its payload plus 224 bytes in a chunk: two of these fit in one.
  const pool = await ChunkPool.open({ outputs: ['a', 'b'], chunkBytes: 600 });
  const { meterProvider, collect } = testMeterProvider();
  const instrumentation = instrumentChunkPool({ pool, meterProvider });
  for (let i = 0; i < 5; i++) await pool.append('app', 'x'.repeat(40));
  await (await pool.take('a')).ack();
  await (await pool.take('b')).drop('refused');
  const collected = await collect();
  instrumentation.stop();
  await pool.close();
  return collected;
}

export async function crashFlushScenario(): Promise<Collected> {
  const dir = mkdtempSync(join(tmpdir(), 'otel-docs-'));
  const guard = installCrashGuard({
    service: 'docs',
    sink: { name: 'memory', send: async () => {} },
    spoolDir: dir,
  });
  try {
    const { meterProvider, collect } = testMeterProvider();
    const instrumentation = instrumentCrashGuard({ guard, meterProvider });
    guard.capture(new Error('one'));
    await guard.flush();
    const collected = await collect();
    instrumentation.stop();
    return collected;
  } finally {
    await guard.uninstall();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The reaper is process-wide: its scenario runs in a child process (reaper's own fixture). */
export async function reaperScenario(): Promise<Collected> {
  const reaperRoot = fileURLToPath(new URL('../../packages/reaper/', import.meta.url));
  const stdout = await new Promise<string>((resolve, reject) =>
    execFile(
      process.execPath,
      ['--import', 'tsx', 'test/fixtures/otel-scenario.ts'],
      { cwd: reaperRoot, timeout: 60_000 },
      (error, out) => (error === null ? resolve(out) : reject(error)),
    ),
  );
  const { metrics } = JSON.parse(stdout.trim().split('\n').at(-1)!) as {
    metrics: CollectedMetric[];
  };
  return new Map(metrics.map((metric) => [metric.name, metric]));
}
