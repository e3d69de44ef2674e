import fc from 'fast-check';
import { expect, test } from 'vitest';
import { Chunk } from '../src/chunk.js';
import { SpillQueue } from '../src/spill-queue.js';

test('the spill queue gives the newest chunk of those added and not deleted, whatever the order', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.boolean(), fc.nat(40)), { maxLength: 300 }), (commands) => {
      const chunks = Array.from({ length: 41 }, (_, i) => new Chunk(`c${i}`, 't', 0, ['a']));
      const queue = new SpillQueue();
      const model = new Set<Chunk>();
      for (const [add, index] of commands) {
        const chunk = chunks[index] as Chunk;
        if (add) {
          queue.add(chunk);
          model.add(chunk);
        } else {
          queue.delete(chunk);
          model.delete(chunk);
        }
        const newest = [...model].sort((x, y) => y.sequence - x.sequence)[0];
        expect(queue.newest()).toBe(newest);
        expect(queue.size).toBe(model.size);
        expect(queue.has(chunk)).toBe(model.has(chunk));
      }
      // Taking the newest until empty visits every chunk once, newest first.
      const order: Chunk[] = [];
      for (let chunk = queue.newest(); chunk !== undefined; chunk = queue.newest()) {
        order.push(chunk);
        queue.delete(chunk);
      }
      expect(order).toEqual([...model].sort((x, y) => y.sequence - x.sequence));
    }),
  );
});
