/**
 * One output of the agent: it takes chunks from the pool and POSTs each, as a JSON array, to its
 * backend. A chunk the backend took is acked; any failure (connection refused while the backend
 * is down, a 5xx, a timeout) is a retry, scheduled by the output's retry policy in the pool —
 * while this output waits, the other output and the inputs go on.
 */
import type { ChunkLease, ChunkPool } from '@holdfast/chunk-pool';

const OPEN = Buffer.from('[');
const COMMA = Buffer.from(',');
const CLOSE = Buffer.from(']');

/** The records of a chunk (each one JSON object) as one JSON array. */
function jsonArray(records: readonly Buffer[]): Buffer {
  const parts: Buffer[] = [OPEN];
  records.forEach((record, i) => parts.push(i === 0 ? record : Buffer.concat([COMMA, record])));
  parts.push(CLOSE);
  return Buffer.concat(parts);
}

async function send(url: string, lease: ChunkLease): Promise<boolean> {
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: jsonArray(lease.chunk.records),
      signal: AbortSignal.timeout(2_000),
    });
    await response.arrayBuffer();
    return response.ok;
  } catch {
    return false;
  }
}

/** Ships `output`'s chunks to `url` until `signal` aborts. */
export async function runHttpOutput(
  pool: ChunkPool,
  output: string,
  url: string,
  signal: AbortSignal,
): Promise<void> {
  try {
    for await (const lease of pool.consume(output, { signal })) {
      if (await send(url, lease)) await lease.ack();
      else await lease.retry();
    }
  } catch (error) {
    if (!signal.aborted) throw error;
  }
}
