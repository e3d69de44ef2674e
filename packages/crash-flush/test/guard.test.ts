import { afterEach, describe, expect, test } from 'vitest';
import {
  buildReport,
  fingerprintOf,
  httpSink,
  installCrashGuard,
  isCrashFlushError,
  kubernetesMetadata,
  pinoDestination,
  RingBuffer,
  type CrashReport,
  type Sink,
} from '../src/index.js';

const memorySink = () => {
  const got: CrashReport[] = [];
  const sink: Sink = { name: 'memory', send: async (r) => void got.push(r) };
  return { sink, got };
};

let uninstall: (() => Promise<void>) | undefined;
afterEach(async () => {
  await uninstall?.();
  uninstall = undefined;
});

describe('installCrashGuard', () => {
  test('is a process-wide singleton: a second install (any copy) is a clear error', async () => {
    const guard = installCrashGuard({ service: 'a', sink: memorySink().sink });
    uninstall = guard.uninstall;
    let error: unknown;
    try {
      installCrashGuard({ service: 'b', sink: memorySink().sink });
    } catch (e) {
      error = e;
    }
    expect(isCrashFlushError(error) && error.code).toBe('ALREADY_INSTALLED');
    expect((globalThis as Record<symbol, unknown>)[Symbol.for('holdfast.crash-flush.guard')]).toBe(
      guard,
    );
  });

  test('uninstall removes every hook it added', async () => {
    const listeners = () =>
      ['uncaughtExceptionMonitor', 'SIGTERM', 'SIGINT', 'SIGHUP', 'exit'].map((e) =>
        process.listenerCount(e),
      );
    const before = listeners();
    const guard = installCrashGuard({ service: 'a', sink: memorySink().sink });
    expect(listeners()).not.toEqual(before);
    await guard.uninstall();
    expect(listeners()).toEqual(before);
  });

  test('capture sends a report with the last records; a repeated fingerprint is only counted', async () => {
    const { sink, got } = memorySink();
    const guard = installCrashGuard({
      service: 'agent',
      sink,
      ringSize: 2,
      metadata: { node: 'n1' },
    });
    uninstall = guard.uninstall;
    guard.log({ msg: 'one' });
    guard.log({ msg: 'two' });
    guard.log({ msg: 'three' });
    const fail = () => new Error('parse failed at offset 17');
    guard.capture(fail(), { file: 'a.log' });
    guard.capture(fail());
    await guard.flush();
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({
      kind: 'capture',
      service: 'agent',
      metadata: { node: 'n1' },
      extra: { file: 'a.log' },
    });
    expect(got[0]!.lastRecords).toEqual([{ msg: 'two' }, { msg: 'three' }]);
    expect(guard.stats()).toMatchObject({ sent: 1, suppressed: 1 });
  });

  test('bad options are TypeErrors naming the option', () => {
    expect(() => installCrashGuard({ service: '', sink: memorySink().sink })).toThrow(
      /service: expected/,
    );
    expect(() => installCrashGuard({ service: 'a', sink: 'http://x' as never })).toThrow(
      /sink: expected/,
    );
    expect(() => httpSink({ url: 'not a url' })).toThrow(/url: expected an absolute http\(s\) URL/);
  });
});

describe('reports', () => {
  test('are capped at maxReportBytes, oldest records first', () => {
    const records = Array.from({ length: 200 }, (_, i) => ({ i, text: 'x'.repeat(100) }));
    const r = buildReport({
      service: 's',
      kind: 'capture',
      error: new Error('e'),
      lastRecords: records,
      metadata: {},
      maxReportBytes: 4_096,
    });
    expect(Buffer.byteLength(JSON.stringify(r))).toBeLessThanOrEqual(4_096);
    expect(r.truncated).toBe(true);
    expect((r.lastRecords.at(-1) as { i: number }).i).toBe(199);
  });

  test('fingerprints ignore numbers and line positions, not the error', () => {
    const a = { type: 'Error', message: 'offset 17', stack: 'Error\n    at parse (/a.js:10:5)' };
    const b = { type: 'Error', message: 'offset 99', stack: 'Error\n    at parse (/a.js:12:9)' };
    const c = {
      type: 'TypeError',
      message: 'offset 17',
      stack: 'Error\n    at parse (/a.js:10:5)',
    };
    expect(fingerprintOf('capture', a)).toBe(fingerprintOf('capture', b));
    expect(fingerprintOf('capture', a)).not.toBe(fingerprintOf('capture', c));
  });

  test('kubernetesMetadata reads only its keys', () => {
    expect(
      kubernetesMetadata({ POD_NAME: 'p', POD_NAMESPACE: 'ns', NODE_NAME: 'n', SECRET: 'nope' }),
    ).toEqual({
      'k8s.pod.name': 'p',
      'k8s.namespace.name': 'ns',
      'k8s.node.name': 'n',
    });
  });

  test('the ring keeps the last items, oldest first; the pino destination feeds it lines', () => {
    const ring = new RingBuffer<string>(3);
    const destination = pinoDestination({ log: (line) => ring.push(line as string) });
    for (const n of [1, 2, 3, 4]) destination.write(`{"n":${n}}\n`);
    expect(ring.toArray()).toEqual(['{"n":2}', '{"n":3}', '{"n":4}']);
    expect(() => new RingBuffer(0)).toThrow(/ringSize: expected/);
  });
});
