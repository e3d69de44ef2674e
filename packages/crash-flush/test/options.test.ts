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
      'maxReportBytes: expected an integer ≥ 1024, got "65536" (string)',
    ],
    [{ maxReportBytes: 100 }, 'maxReportBytes: expected an integer ≥ 1024, got 100 (number)'],
    [{ maxReportBytes: NaN }, 'got NaN (number)'],
    [
      { rateLimit: { window: -1 } },
      'rateLimit.window: expected a duration in milliseconds: a number ≥ 0',
    ],
    [
      { rateLimit: { fullReports: 0 } },
      'rateLimit.fullReports: expected an integer ≥ 1, got 0 (number)',
    ],
    [
      { rateLimit: { windowMs: 5 } },
      'rateLimit: unknown option `windowMs` (did you mean `window`?)',
    ],
    [{ rateLimit: 5 }, 'rateLimit: expected an object, got 5 (number)'],
    [
      { signals: ['TERM'] },
      `signals[0]: expected a signal name a listener can catch, such as 'SIGTERM' (did you mean 'SIGTERM'?), got "TERM" (string)`,
    ],
    [{ signals: ['SIGKILL'] }, 'got "SIGKILL" (string)'],
    [{ signals: 'SIGTERM' }, 'signals: expected an array of signal names'],
    [
      { metadataRefreshInterval: 0 },
      'metadataRefreshInterval: expected a duration in milliseconds: a number ≥ 1000 (Infinity allowed), got 0 (number)',
    ],
    [
      { flushTimeout: NaN },
      'flushTimeout: expected a duration in milliseconds: a number ≥ 0 (Infinity allowed), got NaN (number)',
    ],
    [{ flushTimeout: '500' }, 'got "500" (string)'],
    [{ sendTimeout: -5 }, 'got -5 (number)'],
    [
      { shutdownGrace: null },
      'shutdownGrace: expected a duration in milliseconds: a number ≥ 0 (Infinity allowed), got null',
    ],
    [{ ringSize: 1.5 }, 'ringSize: expected an integer ≥ 1, got 1.5 (number)'],
    [{ maxSpooledReports: 0 }, 'maxSpooledReports: expected an integer ≥ 1, got 0 (number)'],
    [{ maxSpoolBytes: '1' }, 'maxSpoolBytes: expected an integer ≥ 1024, got "1" (string)'],
    [{ spoolDir: '' }, 'spoolDir: expected a folder path, got "" (string)'],
    [{ onReport: 'redact' }, 'onReport: expected a function, got "redact" (string)'],
    [
      { metadata: 'pod' },
      'metadata: expected an object of strings, numbers and booleans, or a function returning one, got "pod" (string)',
    ],
    [
      { flushTimeoutMs: 100 },
      'options: unknown option `flushTimeoutMs` (did you mean `flushTimeout`?)',
    ],
    [{ timeoutMs: 100 }, 'options: unknown option `timeoutMs` (did you mean `flushTimeout`?)'],
    [{ sink: { name: 'x', send: async () => undefined, prepare: 'no' } }, 'sink: expected a Sink'],
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
    [
      { flushTimeoutMs: 5 },
      'options: unknown option `flushTimeoutMs` (did you mean `flushTimeout`?)',
    ],
    [
      { flushTimeout: '5s' },
      'flushTimeout: expected a duration in milliseconds: a number ≥ 0 (Infinity allowed), got "5s" (string)',
    ],
    [
      { restart: { maxRestarts: NaN } },
      'restart.maxRestarts: expected an integer ≥ 0, got NaN (number)',
    ],
    [
      { restart: { maxRestart: 3 } },
      'restart: unknown option `maxRestart` (did you mean `maxRestarts`?)',
    ],
    [{ rateLimit: { window: -1 } }, 'rateLimit.window: expected'],
    [{ forwardSignals: ['TERM'] }, "did you mean 'SIGTERM'?"],
    [{ tailLines: 0 }, 'tailLines: expected an integer ≥ 1, got 0 (number)'],
    [{ service: 7 }, 'service: expected a non-empty string, got 7 (number)'],
    [{ args: 'agent.js' }, 'args: expected an array of strings, got "agent.js" (string)'],
  ])('%j', async (extra, message) => {
    let returned: Promise<unknown> | undefined;
    expect(() => {
      returned = supervise({ ...base, ...extra } as never);
    }).not.toThrow();
    await expect(returned).rejects.toThrow(message);
    await expect(supervise({ ...base, ...extra } as never)).rejects.toBeInstanceOf(TypeError);
  });
});
