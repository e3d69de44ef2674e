/**
 * Recovered chunks larger than an output's reserve (left by a run with a larger `chunkBytes` or
 * `reservePerOutput`) could never be brought up inside a reserve, so `take()` would wait for
 * ever. Recovery splits them into pieces of at most `chunkBytes`, written as new chunks before
 * the old one is deleted (a crash in between delivers those records twice, never loses them).
 *
 * @module
 */
import { ChunkPoolError } from './errors.js';
import { memoryCost } from './record-cost.js';

/**
 * Groups `records` into pieces costing at most `chunkBytes` bytes of memory (payload and
 * per-record overhead, see record-cost.ts), in order; a larger record gets a piece of its own.
 *
 * @throws {ChunkPoolError} `INVALID_OPTION` for a record larger than `reservePerOutput`, which no
 *   output could ever bring up: reopen with `reservePerOutput` (and `maxBytesUp`) at least that.
 */
export function splitRecords(
  chunkId: string,
  records: readonly Buffer[],
  chunkBytes: number,
  reservePerOutput: number,
): Buffer[][] {
  const pieces: Buffer[][] = [];
  let piece: Buffer[] = [];
  let bytes = 0;
  for (const record of records) {
    const cost = memoryCost(record.length, 1);
    if (cost > reservePerOutput) {
      throw new ChunkPoolError(
        'INVALID_OPTION',
        `recovered chunk ${chunkId} holds a record of ${record.length} bytes, costing ${cost} ` +
          `bytes of memory, more than reservePerOutput (${reservePerOutput}); reopen with ` +
          `reservePerOutput of at least ${cost} to deliver it`,
      );
    }
    if (piece.length > 0 && bytes + cost > chunkBytes) {
      pieces.push(piece);
      piece = [];
      bytes = 0;
    }
    piece.push(record);
    bytes += cost;
  }
  if (piece.length > 0) pieces.push(piece);
  return pieces;
}
