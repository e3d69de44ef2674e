// The bad-value table of docs/conventions.md: every entry point of the four packages is fed, for
// every duration option it takes (nested ones included), NaN, a string number, a negative,
// 2 ** 31 and Infinity, and an unknown key in every options object. Which options are durations
// comes from the same walk of the exported options types as test/conventions.test.ts: a numeric
// option that is neither a row of DURATIONS nor a known count fails the test, so a duration added
// later without a row cannot slip through. The CLI flags get the same table in
// test/option-table-cli.test.ts.
import { expect, test } from 'vitest';
import { optionFields, type OptionField } from '../scripts/convention-names.js';
import {
  ENTRY_POINTS,
  NOT_ENTRY_OPTIONS,
  SELF_MARKER,
  type Options,
} from './option-table/entry-points.js';
import { LONG_TIMER_CHECKS, LONG_TIMER_NOT_OBSERVABLE } from './option-table/long-timers.js';

const packages = ['batch', 'chunk-pool', 'crash-flush', 'reaper'];
const entryFiles = packages.flatMap((name) =>
  ['index', 'testing'].map(
    (file) => new URL(`../packages/${name}/src/${file}.ts`, import.meta.url).pathname,
  ),
);

/**
 * Every duration option, by `Type.path`, and what it makes of `Infinity` (`'never'`: accepted,
 * the timer never fires; a string: refused, and why the convention allows that).
 */
export const DURATIONS: Readonly<Record<string, { readonly infinity: 'never' | string }>> = {
  'FetchOptions.timeout': { infinity: 'never' },
  'FetchOptions.deadline': { infinity: 'never' },
  'FetchOptions.hedge.delay': { infinity: 'never' },
  'FetchOptions.retry.minDelay': { infinity: 'never' },
  'FetchOptions.retry.maxDelay': { infinity: 'never' },
  'RetryOptions.minDelay': { infinity: 'never' },
  'BatchRetryOptions.minDelay': { infinity: 'never' },
  'BatchRetryOptions.maxDelay': { infinity: 'never' },
  'RetryOptions.maxDelay': { infinity: 'never' },
  'InventoryOptions.ttl': { infinity: 'never' },
  'ChunkPoolOptions.chunkAge': { infinity: 'never' },
  'ChunkPoolOptions.leaseTimeout': { infinity: 'never' },
  'ChunkPoolOptions.retry.minDelay': { infinity: 'never' },
  'ChunkPoolOptions.retry.maxDelay': { infinity: 'never' },
  'OutputOptions.retry.minDelay': { infinity: 'never' },
  'OutputOptions.retry.maxDelay': { infinity: 'never' },
  'CrashGuardOptions.flushTimeout': { infinity: 'never' },
  'CrashGuardOptions.sendTimeout': { infinity: 'never' },
  'CrashGuardOptions.shutdownGrace': { infinity: 'never' },
  'CrashGuardOptions.metadataRefreshInterval': { infinity: 'never' },
  'CrashGuardOptions.rateLimit.window': { infinity: 'never' },
  'SuperviseOptions.flushTimeout': { infinity: 'never' },
  'SuperviseOptions.rateLimit.window': { infinity: 'never' },
  'SuperviseOptions.restart.delay': { infinity: 'never' },
  'SuperviseSelfOptions.flushTimeout': { infinity: 'never' },
  'SuperviseSelfOptions.rateLimit.window': { infinity: 'never' },
  'SuperviseSelfOptions.restart.delay': { infinity: 'never' },
  'CrashScenariosOptions.timeout': { infinity: 'never' },
  'RunOptions.timeout': { infinity: 'never' },
  'RunOptions.killGrace': { infinity: 'never' },
  'WaitOptions.timeout': { infinity: 'never' },
  'WaitOptions.interval': { infinity: 'never' },
  'WaitOptions.attemptTimeout': { infinity: 'never' },
  'HealthCheckOptions.interval': { infinity: 'never' },
  'HealthCheckOptions.timeout': { infinity: 'never' },
  'ReaperOptions.pollInterval': { infinity: 'never' },
};

/** Numeric options that are counts, sizes or ratios, not durations: by their name. */
const NOT_DURATIONS = new Set([
  'abortAt', // GeneratedOptions: not an entry point's option
  'breakerThreshold',
  'chunkBytes',
  'concurrency',
  'factor',
  'failureRatio',
  'failureThreshold',
  'fullReports',
  'maxAbandoned',
  'maxAttempts',
  'maxBytesStored',
  'maxBytesUp',
  'maxOutput',
  'maxReportBytes',
  'maxRestarts',
  'maxSpoolBytes',
  'maxSpooledReports',
  'minItems',
  'minRetries',
  'minSamples',
  'numRuns',
  'ratio',
  'recordBytes',
  'recoveryBytesUp',
  'reservePerOutput',
  'ringSize',
  'seed',
  'segmentBytes',
  'successThreshold',
  'tailLines',
  'budget', // a ratio, or { ratio, minRetries }
  'retry', // `retry: n`, a count of retries
]);

/** Fields some nested objects require, so that the one under test is the only bad one. */
const REQUIRED: Readonly<Record<string, Options>> = {
  hedge: { delay: 1 },
  restart: { maxRestarts: 0 },
  'retry.budget': { ratio: 0.5 },
  budget: { ratio: 0.5 },
  breaker: { failureRatio: 0.5 },
};

/** Objects of the user's own code (interfaces the packages call), not options: any key goes. */
const USER_OBJECT_TYPES = new Set(['Clock', 'ChunkStorage', 'Sink', 'CaptureServer']);

const fields: readonly OptionField[] = optionFields(entryFiles);
const typeOf = (path: string) => path.split('.')[0]!;
const relative = (path: string) => path.split('.').slice(1).join('.');
const walkedTypes = [...new Set(fields.map((f) => typeOf(f.path)))];

/** `{ a: { b: value } }` for `a.b`, with what each level requires. */
function optionsAt(path: string, value: unknown): Options {
  const segments = path.split('.');
  const build = (depth: number): Options => {
    const key = segments[depth]!;
    const here = segments.slice(0, depth + 1).join('.');
    return {
      [key]: depth === segments.length - 1 ? value : { ...REQUIRED[here], ...build(depth + 1) },
    };
  };
  return build(0);
}

/** Calls the entry point and says how it ended; an async one must not throw synchronously. */
async function outcome(
  entry: (typeof ENTRY_POINTS)[string][number],
  options: Options,
): Promise<{ error: unknown } | { value: unknown }> {
  let returned: unknown;
  try {
    returned = entry.call(options);
  } catch (error) {
    if (entry.async)
      throw new Error(`${entry.name} threw synchronously: ${String(error)}`, { cause: error });
    return { error };
  }
  if (entry.async) {
    expect(returned, `${entry.name} returns a promise`).toBeInstanceOf(Promise);
    try {
      returned = await returned;
    } catch (error) {
      return { error };
    }
  }
  await entry.release?.(returned);
  return { value: returned };
}

function expectOptionError(
  result: { error: unknown } | { value: unknown },
  path: string,
  shown: string,
) {
  expect(result, `${path}: refused`).toHaveProperty('error');
  const error = (result as { error: Error & { option?: unknown } }).error;
  expect(error).toBeInstanceOf(TypeError);
  expect(error.option, `${path}: the error's option field`).toSatisfy(
    (option: unknown) => typeof option === 'string' && option.endsWith(path),
  );
  expect(error.message).toContain(path);
  expect(error.message).toContain(shown);
}

test("every exported options type is an entry point's, or said not to be", () => {
  const unknown = walkedTypes.filter((t) => !(t in ENTRY_POINTS) && !(t in NOT_ENTRY_OPTIONS));
  expect(unknown, 'options types with no entry point in test/option-table/entry-points.ts').toEqual(
    [],
  );
});

test('every numeric option is a row of the duration table or a known count', () => {
  const numeric = fields.filter((f) => f.numeric && !(typeOf(f.path) in NOT_ENTRY_OPTIONS));
  const unclassified = numeric
    .filter((f) => !(f.path in DURATIONS) && !NOT_DURATIONS.has(f.path.split('.').at(-1)!))
    .map((f) => f.path);
  expect(
    unclassified,
    'a duration needs a row in DURATIONS, a count a name in NOT_DURATIONS',
  ).toEqual([]);
  // And no row outlives its option.
  expect(Object.keys(DURATIONS).filter((p) => !numeric.some((f) => f.path === p))).toEqual([]);
});

const durationRows = Object.entries(DURATIONS).flatMap(([path, row]) =>
  (ENTRY_POINTS[typeOf(path)] ?? []).map((entry) => ({ path, row, entry })),
);

test.each(durationRows)(
  '$entry.name $path: NaN, a string, a negative are refused; 2 ** 31 and Infinity',
  async ({ path, row, entry }) => {
    process.env[SELF_MARKER] = '1';
    try {
      const at = relative(path);
      for (const [value, shown] of [
        [Number.NaN, 'NaN (number)'],
        ['5', '"5" (string)'],
        [-1, '-1 (number)'],
      ] as const) {
        expectOptionError(await outcome(entry, optionsAt(at, value)), at, shown);
      }
      expect(
        await outcome(entry, optionsAt(at, 2 ** 31)),
        `${at}: 2 ** 31 accepted`,
      ).toHaveProperty('value');
      const infinite = await outcome(entry, optionsAt(at, Infinity));
      if (row.infinity === 'never')
        expect(infinite, `${at}: Infinity accepted`).toHaveProperty('value');
      else expectOptionError(infinite, at, 'Infinity (number)');
    } finally {
      delete process.env[SELF_MARKER];
    }
  },
  20_000,
);

const objectRows = walkedTypes
  .filter((type) => type in ENTRY_POINTS)
  .flatMap((type) => {
    const nested = fields.filter(
      (f) => typeOf(f.path) === type && f.nested && !USER_OBJECT_TYPES.has(f.type),
    );
    return ['', ...nested.map((f) => relative(f.path))].flatMap((at) => {
      const children = fields.filter(
        (f) =>
          f.path.startsWith(`${type}.${at === '' ? '' : `${at}.`}`) &&
          f.path.split('.').length === (at === '' ? 2 : at.split('.').length + 2),
      );
      const near = (children.find((f) => f.numeric) ?? children[0])?.path.split('.').at(-1);
      return near === undefined
        ? []
        : (ENTRY_POINTS[type] ?? []).map((entry) => ({
            label: at === '' ? type : `${type}.${at}`,
            at,
            near,
            entry,
          }));
    });
  });

test.each(objectRows)(
  '$entry.name $label: an unknown key names the nearest known one',
  async ({ at, near, entry }) => {
    process.env[SELF_MARKER] = '1';
    try {
      const key = `${near}Ms`;
      const options = at === '' ? { [key]: 5 } : optionsAt(at, { ...REQUIRED[at], [key]: 5 });
      const result = await outcome(entry, options);
      expect(result, `${at}.${key}: refused`).toHaveProperty('error');
      const error = (result as { error: Error & { option?: unknown } }).error;
      expect(error).toBeInstanceOf(TypeError);
      expect(error.message).toContain(`unknown option \`${key}\``);
      expect(error.message).toContain(`did you mean \`${near}\`?`);
      if (at !== '') expect(error.message).toContain(at);
    } finally {
      delete process.env[SELF_MARKER];
    }
  },
  20_000,
);

test('every duration row has a long-timer check, or says why its timer is not observable', () => {
  const missing = Object.keys(DURATIONS).filter(
    (p) => !(p in LONG_TIMER_CHECKS) && !(p in LONG_TIMER_NOT_OBSERVABLE),
  );
  expect(missing).toEqual([]);
  const stale = [...Object.keys(LONG_TIMER_CHECKS), ...Object.keys(LONG_TIMER_NOT_OBSERVABLE)];
  expect(
    stale.filter((p) => !(p in DURATIONS)),
    'a check of a row that is gone',
  ).toEqual([]);
});

test.each(Object.entries(LONG_TIMER_CHECKS))(
  '%s = 2 ** 31 fires at 2 ** 31, not before',
  async (_path, check) => {
    await check();
  },
  20_000,
);
