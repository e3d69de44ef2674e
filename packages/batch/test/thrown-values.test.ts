/**
 * User code may throw anything. Building an outcome's message from a thrown value must never
 * throw: item failures never reject the batch, whatever was thrown and wherever.
 */
import { describe, expect, test } from 'vitest';
import {
  defaultClassify,
  fetchAll,
  fetchEach,
  isBatchError,
  type Classification,
} from '../src/index.js';

const throwing = () => {
  throw new Error('getter throws');
};
/** Thrown values that break naive `String(e)` / `e.message` / `e.name` / `e.stack` reads. */
const exotic: [string, () => unknown][] = [
  ['an Object.create(null)', () => Object.create(null) as unknown],
  ['an object whose toString throws', () => ({ toString: throwing })],
  [
    'an Error whose message getter throws',
    () => Object.defineProperty(new Error(), 'message', { get: throwing }),
  ],
  [
    'an Error whose name getter throws',
    () => Object.defineProperty(new Error('x'), 'name', { get: throwing }),
  ],
  [
    'an Error whose stack getter throws',
    () => Object.defineProperty(new Error('x'), 'stack', { get: throwing }),
  ],
  [
    'a Proxy whose every trap throws',
    () =>
      new Proxy({}, { get: throwing, getPrototypeOf: throwing, has: throwing, ownKeys: throwing }),
  ],
  ['a symbol', () => Symbol('thrown')],
  ['null', () => null],
  ['undefined', () => undefined],
];
const verdicts: Classification[] = ['fatal', 'transient', 'skip'];

describe('any thrown value is an item failure, never a rejection of the batch', () => {
  for (const [name, make] of exotic) {
    for (const verdict of verdicts) {
      test(`${name}, classified ${verdict}`, async () => {
        const thrown = make();
        const result = await fetchAll(
          [0, 1],
          (i) => {
            if (i === 0) throw thrown;
            return i;
          },
          { classify: () => verdict, importance: () => 'required', allFailedIsFatal: false },
        );
        const first = result.outcomes[0]!;
        if (verdict === 'skip') {
          expect(first.status).toBe('skipped');
          expect((first as { reason: unknown }).reason).toBe(thrown);
        }
        if (verdict !== 'skip') {
          expect(first.status).toBe('rejected');
          const error = (first as { error: Error }).error;
          expect(isBatchError(error)).toBe(true);
          expect(error.cause).toBe(thrown);
          expect(typeof error.message).toBe('string');
        }
        expect(result.values).toEqual([1]);
        if (verdict === 'fatal') expect(result.fatal?.cause).toBe(thrown);
        expect(typeof result.summary()).toBe('string');
      });
    }

    test(`${name} from the default classifier's point of view, a rejected promise, and an async source`, async () => {
      const thrown = make();
      expect(defaultClassify(thrown)).toBe('fatal');
      expect(isBatchError(thrown)).toBe(false);
      const rejected = await fetchAll([0], () => Promise.reject(thrown));
      expect(rejected.outcomes[0]!.status).toBe('rejected');
      async function* failingSource() {
        yield 0;
        throw thrown;
      }
      const fromSource = await fetchAll(failingSource(), (i) => i);
      expect(fromSource.fatal?.message).toBe('reading the items failed');
      expect(fromSource.fatal?.cause).toBe(thrown);
      const streamed: string[] = [];
      for await (const o of fetchEach([0], () => Promise.reject(thrown), {
        classify: () => 'transient',
      }))
        streamed.push(o.status);
      expect(streamed).toEqual(['rejected']);
    });
  }

  test('hooks that throw exotic values cost only themselves and are counted', async () => {
    const thrown = Object.create(null) as unknown;
    const result = await fetchAll([0, 1], (i) => i, {
      importance: () => {
        throw thrown;
      },
      onOutcome: () => {
        throw thrown;
      },
    });
    expect(result.values).toEqual([0, 1]);
    expect(result.stats.hookErrors).toBe(4);
  });
});
