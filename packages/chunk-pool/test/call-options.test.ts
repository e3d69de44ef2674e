/**
 * Every call of a running pool checks its options object as `ChunkPool.open()` checks its own
 * (docs/conventions.md): a bad one is a TypeError naming the call and the option, given as a
 * rejection (never thrown synchronously), and never silently ignored.
 */
import { describe, expect, test } from 'vitest';
import { ChunkPool } from '../src/index.js';

const bad: [string, unknown, string][] = [
  ['null', null, 'expected an object, got null'],
  ['a number', 5, 'expected an object, got 5 (number)'],
  ['a misspelt key', { signl: undefined }, 'unknown option `signl` (did you mean `signal`?)'],
  ['an unknown key', { timeout: 5 }, 'unknown option `timeout`'],
  ['a signal that is not one', { signal: 5 }, '.signal: expected an AbortSignal, got 5 (number)'],
];

describe.each(bad)('a call given %s as its options', (_, options, message) => {
  test('append, take, drain, whenSettled and consume reject with a TypeError naming it', async () => {
    const pool = await ChunkPool.open({ outputs: ['a'] });
    const calls: [string, () => Promise<unknown>][] = [
      ['append(tag, record, options)', () => pool.append('app', 'x', options as never)],
      ['take(output, options)', () => pool.take('a', options as never)],
      ['drain(options)', () => pool.drain(options as never)],
      ['whenSettled(tag, below, options)', () => pool.whenSettled('app', 0, options as never)],
      ['consume(output, options)', () => pool.consume('a', options as never).next()],
    ];
    for (const [call, start] of calls) {
      let result: Promise<unknown> | undefined;
      expect(() => (result = start()), call).not.toThrow();
      await expect(result, call).rejects.toThrow(TypeError);
      await expect(result, call).rejects.toThrow(
        `${call}${message.startsWith('.') ? '' : ': '}${message}`,
      );
    }
    // Nothing was appended by the refused append.
    expect(pool.stats().accepted.records).toBe(0);
    await pool.close();
  });
});

test('valid options still work: a signal aborts a waiting take', async () => {
  const pool = await ChunkPool.open({ outputs: ['a'] });
  const controller = new AbortController();
  const waiting = pool.take('a', { signal: controller.signal });
  controller.abort();
  await expect(waiting).rejects.toMatchObject({ code: 'ABORTED' });
  expect(await pool.append('app', 'x', {})).toBe('accepted');
  await pool.close();
});
