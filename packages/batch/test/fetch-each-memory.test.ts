/**
 * fetchEach memory is O(concurrency): an outcome the consumer took is released at once, while the
 * stream is still running (not when it ends). Checked with weak references and a forced full GC.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { expect, test } from 'vitest';
import { fetchEach } from '../src/index.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

test('outcomes already consumed are collectable while the stream still runs', async () => {
  const refs: WeakRef<object>[] = [];
  let consumed = 0;
  let alive = -1;
  for await (const outcome of fetchEach(
    Array.from({ length: 20_000 }, (_, i) => i),
    async (i) => {
      const value = { i, payload: new Array(16).fill(i) };
      if (i < 1_000) refs.push(new WeakRef(value));
      return value;
    },
    { concurrency: 32 },
  )) {
    if (outcome.status !== 'fulfilled') throw new Error(outcome.status);
    consumed += 1;
    if (consumed === 15_000) {
      gc();
      await new Promise((resolve) => setImmediate(resolve));
      gc();
      alive = refs.filter((r) => r.deref() !== undefined).length;
    }
  }
  expect(consumed).toBe(20_000);
  expect(alive).toBe(0);
});
