// The cost of delivery acknowledgements on the tryAppend path (issue #19), in one process: two
// builds of the package — one without acknowledgements (e.g. the base commit's pool.ts built
// into a copy of dist/) and one with — acks unused and used, taking turns; 300,000 records of
// 200 bytes per trial, 31 trials each; medians.
//   node bench/acks-cost.mjs <dist without acks> <dist with acks>
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
const load = (dir) => import(pathToFileURL(resolve(dir, 'index.js')).href);
const before = await load(process.argv[2]);
const after = await load(process.argv[3]);
const N = 300_000;
const samples = Array.from({ length: 1000 }, (_, i) =>
  Buffer.from(`record-${i}-`.padEnd(200, 'x')),
);
async function trial(lib, acks) {
  const pool = await lib.ChunkPool.open({
    outputs: ['a', 'b'],
    chunkBytes: 1 << 20,
    maxBytesUp: 512 << 20,
  });
  const waits = [];
  if (acks) pool.on('settled', () => {});
  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    if (!pool.tryAppend('app', samples[i % 1000])) throw new Error('full');
    if (acks && i % 10_000 === 9_999) waits.push(pool.whenSettled('app'));
  }
  const ms = performance.now() - t0;
  await pool.close(); // memory storage: what is pending is dropped, so every wait resolves
  if (acks) await Promise.all(waits);
  return ms;
}
const modes = [
  ['before', before, false],
  ['unused', after, false],
  ['used', after, true],
];
const times = { before: [], unused: [], used: [] };
for (let i = 0; i < 3; i++) for (const [, lib, acks] of modes) await trial(lib, acks); // warm-up
for (let round = 0; round < 31; round++) {
  for (const [name, lib, acks] of modes) times[name].push(await trial(lib, acks));
}
const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
for (const [name] of modes) {
  const m = median(times[name]);
  console.log(
    `${name}: median ${m.toFixed(1)} ms = ${((m * 1e6) / N).toFixed(0)} ns/record (${(((N / m) * 1000) / 1e3).toFixed(0)} k/s), min ${Math.min(...times[name]).toFixed(1)} ms`,
  );
}
