// The use snippet of packages/chunk-pool/README.md, made runnable and self-contained: it uses
// everything the README's block imports (snippets.test.ts checks that, and runs this file).
// Run from the repository root: node --import tsx examples/snippets/chunk-pool.ts

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChunkPool, fileStorage } from '@holdfast/chunk-pool';

const dir = mkdtempSync(join(tmpdir(), 'agent-buffer-'));
const pool = await ChunkPool.open({ outputs: ['otlp', 'archive'], storage: fileStorage({ dir }) });

// One loop per output; `send` stands for the exporter, and says whether the backend took it.
const send = async (output: string, records: readonly Uint8Array[]) => {
  console.log(`${output}: ${records.length} records`);
  return true;
};
const deliver = async (output: string) => {
  for await (const lease of pool.consume(output)) {
    if (await send(output, lease.chunk.records)) await lease.ack();
    else await lease.retry();
  }
};
const outputs = [deliver('otlp'), deliver('archive')];

for (const line of ['GET /', 'GET /health', 'POST /login']) {
  await pool.append('app', line); // waits while the inputs' share is full
}
await pool.drain(); // every record delivered on both routes
await pool.close(); // ends the consume loops
await Promise.all(outputs);
rmSync(dir, { recursive: true });
