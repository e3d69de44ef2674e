/**
 * What a record costs the memory budget: its payload plus what holding it costs the heap. A
 * budget of payload bytes alone let 3,000,000 zero-byte records into 8 MiB (560 MiB of heap;
 * issue #18), so every account (`budget.ts`) and `chunkBytes` count this cost, not the payload.
 *
 * Measured on Node 20 (x64) with `node --expose-gc --import tsx bench/scenario.ts
 * heap-per-record <bytes>` (200,000 records held in sealed chunks, after a forced GC), heap per
 * record beyond its payload, over three runs: 0-byte records 187–194 bytes, 1-byte 106–114,
 * 100-byte 117, 4 KiB 206–210. A record is a `Buffer` (about 100 bytes of object; a record of
 * 0 bytes or of 4 KiB or more also has an `ArrayBuffer` of its own, about 90 more) and a slot in
 * its chunk's array. With this figure, the heap that records held in a pool of `maxBytesUp`
 * 8 MiB added was 0.89× `maxBytesUp` for 0-byte records, 0.53× for 1-byte, 0.70× for 100-byte
 * and 1.03× for 4 KiB (`heap-factor <bytes>`); the docs state 1.1× as the bound.
 *
 * @module
 */

/** Heap bytes a held record costs beyond its payload: the largest figure measured (210), rounded up. */
export const RECORD_OVERHEAD_BYTES = 224;

/** The memory cost of `records` records of `payloadBytes` bytes in all. */
export function memoryCost(payloadBytes: number, records: number): number {
  return payloadBytes + records * RECORD_OVERHEAD_BYTES;
}
