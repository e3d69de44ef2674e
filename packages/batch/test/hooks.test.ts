/** Every user callback other than fetchOne has a safe default, and its failure is counted. */
import { afterEach, describe, expect, test } from 'vitest';
import {
  fetchAll,
  fetchEach,
  isFatalError,
  type Classification,
  type Importance,
} from '../src/index.js';

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
process.on('unhandledRejection', onUnhandled);
afterEach(() => {
  expect(unhandled).toEqual([]);
});

describe('user callbacks', () => {
  test('an async onOutcome that rejects is counted, and leaves no unhandled rejection', async () => {
    const result = await fetchAll([1, 2], (n) => n, {
      // The misuse under test: a user passes an async hook where a void one is expected.
      // eslint-disable-next-line @typescript-eslint/no-misused-promises
      onOutcome: async () => {
        await Promise.resolve();
        throw new Error('async hook bug');
      },
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(result.values).toEqual([1, 2]);
    expect(result.stats.hookErrors).toBe(2);
  });

  test('an importance that returns something else than the two words means required, counted', async () => {
    const result = await fetchAll([1, 2, 3], () => Promise.reject(new Error('gone')), {
      importance: () => 'Optional' as Importance,
    });
    expect(isFatalError(result.fatal)).toBe(true);
    expect(result.stats.hookErrors).toBe(3);
  });

  test('a classifier that returns an unknown verdict means fatal for the item (not a retry), counted', async () => {
    let calls = 0;
    const result = await fetchAll(
      [1],
      () => {
        calls += 1;
        throw new Error('x');
      },
      { retry: 3, classify: () => 'retry' as Classification, importance: () => 'optional' },
    );
    expect(calls).toBe(1);
    expect(isFatalError((result.outcomes[0] as { error: unknown }).error)).toBe(true);
    expect(result.stats.hookErrors).toBe(1);
  });

  test('a source whose return() throws when the batch closes it early is counted', async () => {
    const source = {
      [Symbol.iterator]() {
        let i = 0;
        return {
          next: () => ({ done: false, value: i++ }),
          return: () => {
            throw new Error('cleanup failed');
          },
        };
      },
    };
    const stream = fetchEach(source, (i) => i);
    for await (const outcome of stream) {
      expect(outcome.status).toBe('fulfilled');
      break;
    }
    expect(stream.stats().hookErrors).toBe(1);
  });
});
