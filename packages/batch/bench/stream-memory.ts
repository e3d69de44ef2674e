/**
 * `fetchEach` over 1,000,000 items: heap after 100,000 and after 1,000,000 outcomes consumed
 * (after a full GC each time). Flat growth means memory is O(concurrency), not O(items).
 * Run with `--expose-gc`. Prints `{ heapAt100kMb, heapAt1mMb }` as JSON.
 */
import { fetchEach } from '@holdfast/batch';

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with --expose-gc');
function* items() {
  for (let i = 0; i < 1_000_000; i += 1) yield i;
}
const heapMb = () => {
  gc();
  return process.memoryUsage().heapUsed / 2 ** 20;
};
let consumed = 0;
let heapAt100kMb = 0;
for await (const outcome of fetchEach(items(), async (i) => i, {
  concurrency: 16,
  timeout: 30_000,
})) {
  if (outcome.status !== 'fulfilled') throw new Error(`unexpected ${outcome.status}`);
  consumed += 1;
  if (consumed === 100_000) heapAt100kMb = heapMb();
}
process.stdout.write(JSON.stringify({ consumed, heapAt100kMb, heapAt1mMb: heapMb() }) + '\n');
