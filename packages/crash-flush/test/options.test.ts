/** Every option of installCrashGuard is checked: a TypeError naming it, the form and the value. */
import { afterEach, describe, expect, test } from 'vitest';
import {
  buildReport,
  installCrashGuard,
  supervise,
  type CrashGuardOptions,
  type Sink,
} from '../src/index.js';

const sink: Sink = { name: 'memory', send: async () => undefined };
let uninstall: (() => Promise<void>) | undefined;
afterEach(async () => {
  await uninstall?.();
  uninstall = undefined;
});
const install = (extra: Record<string, unknown>) => {
  const guard = installCrashGuard({ service: 'a', sink, ...extra } as CrashGuardOptions);
  uninstall = guard.uninstall;
  return guard;
};

describe('bad options', () => {
  test.each([
    [
      { maxReportBytes: '65536' },
      "Expected `maxReportBytes` to be an integer >= 1024, got '65536' (string)",
    ],
    [
      { maxReportBytes: 100 },
      'Expected `maxReportBytes` to be an integer >= 1024, got 100 (number)',
    ],
    [{ maxReportBytes: NaN }, 'got NaN (number)'],
    [
      { rateLimit: { window: -1 } },
      'Expected `rateLimit.window` to be a duration in milliseconds >= 0',
    ],
    [
      { rateLimit: { fullReports: 0 } },
      'Expected `rateLimit.fullReports` to be an integer >= 1, got 0 (number)',
    ],
    [
      { rateLimit: { windowMs: 5 } },
      'Unknown option `rateLimit.windowMs`: did you mean `rateLimit.window`?',
    ],
    [{ rateLimit: 5 }, 'Expected `rateLimit` to be an object, got 5 (number)'],
    [
      { signals: ['TERM'] },
      "Expected `signals[0]` to be a signal name a listener can catch, such as 'SIGTERM' (did you mean 'SIGTERM'?), got 'TERM' (string)",
    ],
    [{ signals: ['SIGKILL'] }, "got 'SIGKILL' (string)"],
    [{ signals: 'SIGTERM' }, 'Expected `signals` to be an array of signal names'],
    [
      { metadataRefreshInterval: 0 },
      'Expected `metadataRefreshInterval` to be a duration in milliseconds >= 1000 (Infinity for never), got 0 (number)',
    ],
    [
      { flushTimeout: NaN },
      'Expected `flushTimeout` to be a duration in milliseconds >= 0 (Infinity for never), got NaN (number)',
    ],
    [{ flushTimeout: '500' }, "got '500' (string)"],
    [{ sendTimeout: -5 }, 'got -5 (number)'],
    [
      { shutdownGrace: null },
      'Expected `shutdownGrace` to be a duration in milliseconds >= 0 (Infinity for never), got null',
    ],
    [{ ringSize: 1.5 }, 'Expected `ringSize` to be an integer >= 1, got 1.5 (number)'],
    [
      { maxSpooledReports: 0 },
      'Expected `maxSpooledReports` to be an integer >= 1, got 0 (number)',
    ],
    [{ maxSpoolBytes: '1' }, "Expected `maxSpoolBytes` to be an integer >= 1024, got '1' (string)"],
    [{ spoolDir: '' }, "Expected `spoolDir` to be a folder path, got '' (string)"],
    [{ onReport: 'redact' }, "Expected `onReport` to be a function, got 'redact' (string)"],
    [
      { metadata: 'pod' },
      "Expected `metadata` to be an object of strings, numbers and booleans, or a function returning one, got 'pod' (string)",
    ],
    [{ flushTimeoutMs: 100 }, 'Unknown option `flushTimeoutMs`: did you mean `flushTimeout`?'],
    [{ timeoutMs: 100 }, 'Unknown option `timeoutMs`: did you mean `sendTimeout`?'],
    [
      { sink: { name: 'x', send: async () => undefined, prepare: 'no' } },
      'Expected `sink` to be a Sink',
    ],
  ])('%j', (options, message) => {
    expect(() => install(options)).toThrow(TypeError);
    expect(() => install(options)).toThrow(message);
  });

  test('Infinity is a duration that works: flushTimeout, sendTimeout, metadataRefreshInterval, shutdownGrace, rateLimit.window', async () => {
    let reads = 0;
    const guard = install({
      flushTimeout: Infinity,
      sendTimeout: Infinity,
      metadataRefreshInterval: Infinity,
      shutdownGrace: Infinity,
      rateLimit: { window: Infinity },
      metadata: () => ({ pod: `p${(reads += 1)}` }),
    });
    guard.capture(new Error('x'));
    await guard.flush();
    expect(guard.stats()).toMatchObject({ sent: 1, sinkErrors: 0 });
    expect(reads).toBe(1);
  });
});

describe('hooks and sizes', () => {
  test('every mistake a hook can make is counted in hookErrors and costs only itself', async () => {
    const got: unknown[] = [];
    const hooks = [
      () => {
        throw Object.create(null);
      },
      async () => undefined,
      () => 42,
      () => ({ kind: 'nonsense' }),
    ];
    for (const onReport of hooks) {
      got.length = 0;
      const guard = install({
        sink: { name: 'm', send: async (r: unknown) => void got.push(r) },
        onReport,
        metadata: () => {
          throw new Error('metadata source down');
        },
      });
      guard.capture(new Error('kept'));
      await guard.flush();
      expect(got).toHaveLength(1);
      expect(guard.stats()).toMatchObject({ sent: 1, hookErrors: 2 }); // the metadata, the hook
      await guard.uninstall();
      uninstall = undefined;
    }
  });

  test('maxReportBytes caps UTF-8 bytes, not characters (CJK text, emoji)', () => {
    for (const max of [1_024, 4_096, 65_536]) {
      const report = buildReport({
        service: 's',
        kind: 'uncaughtException',
        error: new Error('错误'.repeat(100_000)),
        lastRecords: Array.from({ length: 100 }, () => ({ msg: '日志🙂'.repeat(500) })),
        metadata: { note: '注'.repeat(10_000) },
        maxReportBytes: max,
      });
      expect(Buffer.byteLength(JSON.stringify(report))).toBeLessThanOrEqual(max);
      expect(report.truncated).toBe(true);
      expect(report.error?.message).not.toContain('\uFFFD'); // never cut inside a character
    }
  });

  test('building a report serialises only the newest records that fit (O(maxReportBytes), not O(ring))', () => {
    let serialised = 0;
    const record = { toJSON: () => ((serialised += 1), { msg: 'x'.repeat(100) }) };
    const report = buildReport({
      service: 's',
      kind: 'uncaughtException',
      error: new Error('e'),
      lastRecords: Array.from({ length: 200_000 }, () => record),
      metadata: {},
      maxReportBytes: 65_536,
    });
    expect(report.lastRecords.length).toBeGreaterThan(100);
    expect(serialised).toBeLessThanOrEqual(report.lastRecords.length + 1);
  });
});

describe('bad options of supervise(): a rejection, never a synchronous throw', () => {
  const base = { command: process.execPath, args: ['-e', ''], service: 's', sink };
  test.each([
    [{ flushTimeoutMs: 5 }, 'Unknown option `flushTimeoutMs`: did you mean `flushTimeout`?'],
    [
      { flushTimeout: '5s' },
      "Expected `flushTimeout` to be a duration in milliseconds >= 0 (Infinity for never), got '5s' (string)",
    ],
    [
      { restart: { maxRestarts: NaN } },
      'Expected `restart.maxRestarts` to be an integer >= 0, got NaN (number)',
    ],
    [
      { restart: { maxRestart: 3 } },
      'Unknown option `restart.maxRestart`: did you mean `restart.maxRestarts`?',
    ],
    [{ rateLimit: { window: -1 } }, 'Expected `rateLimit.window`'],
    [{ forwardSignals: ['TERM'] }, "did you mean 'SIGTERM'?"],
    [{ tailLines: 0 }, 'Expected `tailLines` to be an integer >= 1, got 0 (number)'],
    [{ service: 7 }, 'Expected `service` to be a non-empty string, got 7 (number)'],
    [{ args: 'agent.js' }, "Expected `args` to be an array of strings, got 'agent.js' (string)"],
  ])('%j', async (extra, message) => {
    let returned: Promise<unknown> | undefined;
    expect(() => {
      returned = supervise({ ...base, ...extra } as never);
    }).not.toThrow();
    await expect(returned).rejects.toThrow(message);
    await expect(supervise({ ...base, ...extra } as never)).rejects.toBeInstanceOf(TypeError);
  });
});
