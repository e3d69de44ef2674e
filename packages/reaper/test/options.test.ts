/**
 * Every entry point's options, checked the same way: a TypeError naming the option, the form
 * expected and the value received with its type; unknown keys rejected with the nearest name;
 * async entry points reject and never throw.
 */
import { afterEach, describe, expect, test } from 'vitest';
import {
  commandProbe,
  httpProbe,
  installReaper,
  run,
  startHealthCheck,
  waitUntilHealthy,
  type Probe,
} from '../src/index.js';

const okProbe: Probe = async () => ({ ok: true, detail: 'ok', durationMs: 0 });

/** How each entry point is called with one option set to `value` (or one unknown key). */
const entryPoints: Record<string, { durations: string[]; call: (options: object) => unknown }> = {
  run: { durations: ['timeout', 'killGrace'], call: (o) => run('true', [], o) },
  waitUntilHealthy: {
    durations: ['timeout', 'interval', 'attemptTimeout'],
    call: (o) => waitUntilHealthy(okProbe, o),
  },
  startHealthCheck: {
    durations: ['interval', 'timeout'],
    call: (o) => startHealthCheck({ probe: okProbe, ref: false, ...o }),
  },
  installReaper: { durations: ['pollInterval'], call: (o) => installReaper(o) },
};

/** The error an entry point gives, whether it throws or rejects (and which it did). */
async function errorOf(call: () => unknown): Promise<{ error: unknown; threw: boolean }> {
  let result: unknown;
  try {
    result = call();
  } catch (error) {
    return { error, threw: true };
  }
  try {
    await result;
  } catch (error) {
    return { error, threw: false };
  }
  return { error: undefined, threw: false };
}

describe.each(Object.entries(entryPoints))('%s', (name, { durations, call }) => {
  test.each([
    [NaN, 'NaN (number)'],
    ['5000', '"5000" (string)'],
    [-1, '-1 (number)'],
    [null, 'got null'],
  ])(
    'a duration of %s is a TypeError naming the option and showing the value',
    async (value, shown) => {
      for (const option of durations) {
        const { error, threw } = await errorOf(() => call({ [option]: value }));
        expect(error).toBeInstanceOf(TypeError);
        expect((error as Error).message).toMatch(new RegExp(`^${option}: expected`));
        expect((error as Error).message).toContain('a duration in milliseconds');
        expect((error as Error).message).toContain(shown);
        // Async entry points reject; only the synchronous ones throw.
        expect(threw).toBe(name === 'startHealthCheck' || name === 'installReaper');
      }
    },
  );

  test('an unknown key is a TypeError with the nearest known name', async () => {
    const misspelt = `${durations[0]!.replace(/Ms$/, '')}${durations[0]!.endsWith('Ms') ? '' : 'Ms'}`;
    const { error } = await errorOf(() => call({ [misspelt]: 5 }));
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toContain(`options: unknown option \`${misspelt}\``);
    expect((error as Error).message).toContain(`did you mean \`${durations[0]}\`?`);
  });
});

describe('run: other options', () => {
  test('maxOutput is a number of bytes (an integer >= 0), not milliseconds', async () => {
    for (const value of [1.5, -1, NaN, '1024', Infinity]) {
      await expect(run('true', [], { maxOutput: value as number })).rejects.toThrow(
        /maxOutput: expected an integer number of bytes ≥ 0/,
      );
    }
  });

  test('never throws synchronously: a bad option is a rejected promise', async () => {
    let promise: Promise<unknown> | undefined;
    expect(() => {
      promise = run('true', [], { timeout: NaN });
    }).not.toThrow();
    await expect(promise).rejects.toThrow(TypeError);
    await expect(run('', [])).rejects.toThrow(/command: expected a non-empty string/);
    await expect(run('true', [], { killSignal: 'SIGNOPE' as NodeJS.Signals })).rejects.toThrow(
      /killSignal: expected .*"SIGNOPE" \(string\)/,
    );
  });

  test('a value whose getters throw is still shown, without throwing', async () => {
    const hostile = Object.create(null) as Record<string, unknown>;
    Object.defineProperty(hostile, 'toJSON', {
      get() {
        throw new Error('no');
      },
    });
    await expect(run('true', [], { timeout: hostile as unknown as number })).rejects.toThrow(
      /timeout: expected .*, got an object with no keys/,
    );
  });

  test("commandProbe checks run()'s options at creation: an unknown key is a TypeError", () => {
    expect(() => commandProbe('true', [], { timeoutMs: 5 } as object)).toThrow(
      /options: unknown option `timeoutMs` \(did you mean `timeout`\?\)/,
    );
    expect(() => commandProbe('true', [], { maxOutput: -1 })).toThrow(/^maxOutput: expected/);
  });
});

describe('httpProbe', () => {
  test('an unknown key is a TypeError with the nearest known name', () => {
    expect(() =>
      httpProbe('http://127.0.0.1:1/', { expectedStatus: () => true } as object),
    ).toThrow(/options: unknown option `expectedStatus` \(did you mean `expectStatus`\?\)/);
    expect(() => httpProbe('http://127.0.0.1:1/', { expectStatus: 200 as never })).toThrow(
      /expectStatus: expected a function, got 200 \(number\)/,
    );
  });
});

describe('installReaper: one policy per process', () => {
  afterEach(async () => {
    await installReaper({ subreaper: false }).close();
  });

  test('the same options (as resolved) return the same reaper; other options throw ALREADY_INSTALLED', () => {
    const first = installReaper({ subreaper: false });
    expect(installReaper({ subreaper: false, pollInterval: 1_000 })).toBe(first);
    expect(() => installReaper({ subreaper: false, pollInterval: 5 })).toThrow(
      expect.objectContaining({ code: 'ALREADY_INSTALLED' }) as Error,
    );
    expect(() => installReaper({ subreaper: 'auto' })).toThrow(/already installed/);
  });
});
