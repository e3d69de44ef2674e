import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import type { ChunkPool } from '../src/index.js';
import { RECORD_OVERHEAD_BYTES } from '../src/record-cost.js';

/**
 * What a 100-byte record (the tests' usual size, see {@link records}) costs the memory budget:
 * its payload and the per-record overhead. Budgets in tests are multiples of it.
 */
export const R = 100 + RECORD_OVERHEAD_BYTES;

const made: string[] = [];
afterEach(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A fresh temporary folder, removed after the test. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'holdfast-chunk-pool-'));
  made.push(dir);
  return dir;
}

/** `n` records `prefix-0`, `prefix-1`, ... padded to `size` bytes. */
export function records(n: number, size = 100, prefix = 'r'): string[] {
  return Array.from({ length: n }, (_, i) => `${prefix}-${i}-`.padEnd(size, '.'));
}

/** The record names (`prefix-i`) in leased records. */
export function names(data: readonly Buffer[]): string[] {
  return data.map((record) => record.toString().split('-').slice(0, 2).join('-'));
}

/** An error as Node's fs reports it. */
export function osError(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: injected`), { code, errno: -28, syscall: 'write' });
}

/** Takes and acks every pending chunk of `output`; the names of the records, in delivery order. */
export async function takeAll(pool: ChunkPool, output: string): Promise<string[]> {
  const seen: string[] = [];
  while ((pool.stats().outputs[output]?.pendingChunks ?? 0) > 0) {
    const lease = await pool.take(output);
    seen.push(...names(lease.chunk.records));
    await lease.ack();
  }
  return seen;
}
