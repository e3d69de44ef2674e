/**
 * The guard's hooks driven in this process: its own listeners are called directly (a real signal
 * or exit would end the test runner), `process.exit` is a stand-in while a test runs, and timers
 * are fake. What only a dying process shows (the exit status, the re-raised signal, the budget
 * of a real death) stays in the child-process tests.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { EventEmitter } from 'node:events';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterAll, afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import {
  buildReport,
  fileSink,
  GUARD_INSTALLED_CHANNEL,
  httpSink,
  installCrashGuard,
  type CrashGuard,
  type CrashGuardOptions,
  type CrashReport,
  type Sink,
} from '../src/index.js';
import { SEND_CHANNEL, type SendMessage } from '../src/internal/send-channel.js';
import { Spool } from '../src/internal/spool.js';

const work = mkdtempSync(join(tmpdir(), 'holdfast-guard-hooks-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
let dirCount = 0;
const freshDir = () => {
  const dir = join(work, `d${(dirCount += 1)}`);
  mkdirSync(dir);
  return dir;
};

const realExit = process.exit;
let exits: (number | string | null | undefined)[] = [];
let guard: CrashGuard | undefined;
const cleanups: (() => void)[] = [];
beforeEach(() => {
  exits = [];
  // The guard keeps the `process.exit` it found: this stand-in records instead of exiting.
  process.exit = ((code?: number | string | null) => void exits.push(code)) as never;
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) cleanup();
  await guard?.uninstall();
  guard = undefined;
  process.exit = realExit;
  vi.useRealTimers();
});

const install = (options: Partial<CrashGuardOptions> & { sink: Sink }) => {
  guard = installCrashGuard({ service: 'agent', ...options });
  return guard;
};
/** The listener the guard added for `event` (its own, not the test runner's). */
const added = <T>(event: string, before: readonly unknown[]): T => {
  const mine = process.listeners(event as 'exit').filter((l) => !before.includes(l));
  expect(mine).toHaveLength(1);
  return mine[0] as unknown as T;
};
const fileReports = (path: string): CrashReport[] => {
  try {
    return readFileSync(path, 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as CrashReport);
  } catch {
    return [];
  }
};
const memorySink = (send?: (r: CrashReport) => Promise<void>) => {
  const got: CrashReport[] = [];
  const sink: Sink = {
    name: 'memory',
    send: send ?? (async (r) => void got.push(r)),
  };
  return { sink, got };
};
/** An agent's own listener, for as long as the test runs. */
const listen = (event: string) => {
  const own = () => undefined;
  process.on(event as 'exit', own);
  cleanups.push(() => process.off(event as 'exit', own));
};
const spoolEntries = (dir: string) => readdirSync(dir).filter((n) => n.endsWith('.json'));

describe('a termination signal the agent handles itself', () => {
  test('a shutdown report at once; after shutdownGrace a shutdownTimeout; the timer is one', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const path = join(freshDir(), 'crashes.jsonl');
    listen('SIGUSR2');
    const before = process.listeners('SIGUSR2');
    const g = install({ sink: fileSink(path), signals: ['SIGUSR2'], shutdownGrace: 5_000 });
    const onSignal = added<(s: NodeJS.Signals) => void>('SIGUSR2', before);
    onSignal('SIGUSR2');
    expect(fileReports(path)).toMatchObject([{ kind: 'shutdown', signal: 'SIGUSR2' }]);
    expect(fileReports(path)[0]).not.toHaveProperty('exitCode');
    onSignal('SIGUSR2'); // the same shutdown again: counted, not sent twice
    expect(g.stats()).toMatchObject({ sent: 1, suppressed: 1 });
    vi.advanceTimersByTime(4_999);
    expect(fileReports(path)).toHaveLength(1);
    vi.advanceTimersByTime(1);
    const [, timeout] = fileReports(path);
    expect(timeout).toMatchObject({
      kind: 'shutdownTimeout',
      signal: 'SIGUSR2',
      error: { message: 'still running 5000 ms after SIGUSR2' },
    });
    vi.advanceTimersByTime(60_000);
    expect(fileReports(path)).toHaveLength(2);
    // The death it was is reported: a later exit is not a second one.
    process.listeners('exit')[0]!.call(process, 1);
    expect(fileReports(path)).toHaveLength(2);
  });

  test('an exit within the grace clears the shutdown timer', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const path = join(freshDir(), 'crashes.jsonl');
    listen('SIGUSR2');
    const before = process.listeners('SIGUSR2');
    const g = install({ sink: fileSink(path), signals: ['SIGUSR2'], shutdownGrace: 5_000 });
    const onSignal = added<(s: NodeJS.Signals) => void>('SIGUSR2', before);
    onSignal('SIGUSR2');
    process.listeners('exit')[0]!.call(process, 0);
    vi.advanceTimersByTime(10_000);
    expect(fileReports(path).map((r) => r.kind)).toEqual(['shutdown']);
    expect(g.stats().sent).toBe(1);
  });
});

describe('a termination signal nobody else handles', () => {
  test('is re-raised at once, or once the captures in flight have left, within flushTimeout', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const kill = vi.spyOn(process, 'kill').mockImplementation(() => true);
    const before = process.listeners('SIGUSR2');
    const answers: (() => void)[] = [];
    const { sink } = memorySink(() => new Promise<void>((resolve) => answers.push(resolve)));
    const g = install({ sink, signals: ['SIGUSR2'], flushTimeout: 2_000 });
    const onSignal = added<(s: NodeJS.Signals) => void>('SIGUSR2', before);
    // Nothing in flight: at once, its own listener gone so the signal kills.
    onSignal('SIGUSR2');
    expect(kill.mock.calls).toEqual([[process.pid, 'SIGUSR2']]);
    expect(process.listeners('SIGUSR2')).toEqual(before);
    await g.uninstall();

    // A capture in flight: the budget, then the re-raise.
    const second = install({ sink, signals: ['SIGUSR2'], flushTimeout: 2_000 });
    const onSecond = added<(s: NodeJS.Signals) => void>('SIGUSR2', before);
    second.capture(new Error('in flight'));
    onSecond('SIGUSR2');
    vi.advanceTimersByTime(1_999);
    expect(kill).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(1);
    expect(kill).toHaveBeenCalledTimes(2);
    answers.splice(0).forEach((answer) => answer());
    await second.flush();
    await second.uninstall();

    // A capture that leaves in time: re-raised when it has, and the budget does nothing more.
    const third = install({ sink, signals: ['SIGUSR2'], flushTimeout: 2_000 });
    const onThird = added<(s: NodeJS.Signals) => void>('SIGUSR2', before);
    third.capture(new Error('in flight'));
    onThird('SIGUSR2');
    answers.splice(0).forEach((answer) => answer());
    await third.flush();
    await vi.waitFor(() => expect(kill).toHaveBeenCalledTimes(3));
    vi.advanceTimersByTime(10_000);
    expect(kill).toHaveBeenCalledTimes(3);
  });
});

/**
 * Runs `fn` with the test runner's own 'uncaughtException' and 'unhandledRejection' listeners
 * taken away (they would take the error, as an agent's own handler does), then puts them back.
 */
const asIfUnhandled = (fn: () => void) => {
  const events = ['uncaughtException', 'unhandledRejection'] as const;
  const saved = events.map((event) => [event, process.listeners(event as 'exit')] as const);
  for (const event of events) process.removeAllListeners(event);
  try {
    fn();
  } finally {
    for (const [event, listeners] of saved)
      for (const l of listeners) process.on(event, l as never);
  }
};

describe('rejections and uncaught exceptions', () => {
  test('by origin and by what Node passed through the unhandledRejection event', async () => {
    const cases: [string, (onUncaught: (e: unknown, origin: string) => void) => void, string][] = [
      [
        'a rejection Node reported',
        (onUncaught) => {
          const reason = new Error('rejected');
          process.emit('unhandledRejection', reason, Promise.resolve());
          onUncaught(reason, 'unhandledRejection');
        },
        'unhandledRejection',
      ],
      [
        'a throw at the top level of an ES module',
        (onUncaught) => {
          process.emit('unhandledRejection', new Error('another'), Promise.resolve());
          onUncaught(new Error('top-level throw'), 'unhandledRejection');
        },
        'uncaughtException',
      ],
      [
        'a rejection wrapped by Node',
        (onUncaught) =>
          onUncaught(
            Object.assign(new Error('wrapped'), { code: 'ERR_UNHANDLED_REJECTION' }),
            'unhandledRejection',
          ),
        'unhandledRejection',
      ],
      [
        'an uncaught exception',
        (onUncaught) => onUncaught(new Error('thrown'), 'uncaughtException'),
        'uncaughtException',
      ],
    ];
    vi.stubEnv('NODE_OPTIONS', '');
    for (const [, trigger, kind] of cases) {
      const path = join(freshDir(), 'crashes.jsonl');
      const before = process.listeners('uncaughtExceptionMonitor');
      const g = install({ sink: fileSink(path) });
      const onUncaught = added<(e: unknown, origin: string) => void>(
        'uncaughtExceptionMonitor',
        before,
      );
      asIfUnhandled(() => trigger(onUncaught));
      expect(fileReports(path).map((r) => r.kind)).toEqual([kind]);
      await g.uninstall();
      guard = undefined;
    }
    vi.unstubAllEnvs();
  });

  test("a mode where the process goes on: a capture; with 'warn-with-error-code' the exit carries the rejection", async () => {
    for (const [flags, exitCarries] of [
      ['--unhandled-rejections=warn', false],
      ['--unhandled-rejections warn-with-error-code', true],
    ] as const) {
      vi.stubEnv('NODE_OPTIONS', flags);
      const path = join(freshDir(), 'crashes.jsonl');
      const g = install({ sink: fileSink(path) });
      asIfUnhandled(() => {
        process.emit('unhandledRejection', new Error('went on'), Promise.resolve());
      });
      await g.flush();
      process.listeners('exit')[0]!.call(process, 1);
      const [capture, exit] = fileReports(path);
      expect(capture).toMatchObject({ kind: 'capture', extra: { unhandledRejection: true } });
      expect(exit).toMatchObject({ kind: 'exit', exitCode: 1 });
      expect(exit!.error?.message).toBe(exitCarries ? 'went on' : undefined);
      await g.uninstall();
      guard = undefined;
      vi.unstubAllEnvs();
    }
    // An agent that listens for unhandled rejections handles them: nothing is captured.
    vi.stubEnv('NODE_OPTIONS', '--unhandled-rejections=warn');
    const path = join(freshDir(), 'crashes.jsonl');
    const g = install({ sink: fileSink(path) });
    asIfUnhandled(() => {
      const own = () => undefined;
      process.on('unhandledRejection', own);
      process.emit('unhandledRejection', new Error('handled'), Promise.resolve());
      process.off('unhandledRejection', own);
    });
    await g.flush();
    expect(fileReports(path)).toEqual([]);
    vi.unstubAllEnvs();
  });
});

describe('the exit', () => {
  test('a non-zero status is reported once; 256 is status 0; a process.exit(n) in a later listener is seen', () => {
    const path = join(freshDir(), 'crashes.jsonl');
    install({ sink: fileSink(path) });
    const onExitStarted = process.listeners('exit')[0]!;
    onExitStarted.call(process, 256);
    expect(fileReports(path)).toEqual([]);
    // From the 'exit' event on, process.exit(n) (in a later listener) is the status.
    process.exit(5);
    expect(exits).toEqual([5]);
    expect(fileReports(path)).toMatchObject([{ kind: 'exit', exitCode: 5 }]);
    expect(fileReports(path)[0]).not.toHaveProperty('error');
    process.exit(6);
    expect(exits).toEqual([5, 6]);
    expect(fileReports(path)).toHaveLength(1);
  });

  test('process.exit() with no status takes process.exitCode', () => {
    const path = join(freshDir(), 'crashes.jsonl');
    install({ sink: fileSink(path) });
    process.listeners('exit')[0]!.call(process, 0);
    const saved = process.exitCode;
    process.exitCode = 9;
    try {
      process.exit();
    } finally {
      process.exitCode = saved;
    }
    expect(fileReports(path)).toMatchObject([{ kind: 'exit', exitCode: 9 }]);
  });

  test('an error the agent’s own uncaughtException handler took is a capture; the exit after it carries it', async () => {
    const path = join(freshDir(), 'crashes.jsonl');
    listen('uncaughtException');
    const before = process.listeners('uncaughtExceptionMonitor');
    const g = install({ sink: fileSink(path) });
    const onUncaught = added<(e: unknown, origin: string) => void>(
      'uncaughtExceptionMonitor',
      before,
    );
    onUncaught(new Error('handled by the agent'), 'uncaughtException');
    await g.flush();
    expect(fileReports(path)).toMatchObject([
      {
        kind: 'capture',
        error: { message: 'handled by the agent' },
        extra: { handledBy: 'uncaughtException listener', origin: 'uncaughtException' },
      },
    ]);
    process.listeners('exit')[0]!.call(process, 1);
    expect(fileReports(path)[1]).toMatchObject({
      kind: 'exit',
      exitCode: 1,
      error: { message: 'handled by the agent' },
    });
  });
});

describe('crash-time delivery', () => {
  test('a capture still being sent when the process dies is spooled with the death; its late answer counts nothing', async () => {
    const spoolDir = freshDir();
    let answer: (() => void) | undefined;
    // The first send (the capture) hangs until the test answers it; the rest (the start-up
    // resend of this spool, which can see what the death spools) are answered at once.
    const { sink } = memorySink(() =>
      answer === undefined ? new Promise<void>((resolve) => (answer = resolve)) : Promise.resolve(),
    );
    const g = install({ sink, spoolDir });
    g.capture(new Error('in flight'));
    process.listeners('exit')[0]!.call(process, 2);
    const spooled = spoolEntries(spoolDir).map(
      (n) => JSON.parse(readFileSync(join(spoolDir, n), 'utf8')) as CrashReport,
    );
    expect(spooled.map((r) => r.kind).sort()).toEqual(['capture', 'exit']);
    answer?.();
    await g.flush();
    expect(g.stats()).toMatchObject({ sent: 0, spooled: 2, sinkErrors: 0 });
  });

  test('a prepare() that throws or returns no delivery, or a backend that refuses: spooled, or lost without a spool', async () => {
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port: free } = probe.address() as AddressInfo;
        probe.close(() => resolve(free));
      });
    });
    const sinks: Sink[] = [
      {
        name: 'throws',
        send: async () => undefined,
        prepare: () => {
          throw new Error('x');
        },
      },
      { name: 'nothing', send: async () => undefined, prepare: () => ({}) as never },
      {
        name: 'bad-http',
        send: async () => undefined,
        prepare: () => ({ kind: 'http', url: 1 }) as never,
      },
      {
        name: 'bad-file',
        send: async () => undefined,
        prepare: () => ({ kind: 'file', path: 'p' }) as never,
      },
      {
        name: 'http-no-body',
        send: async () => undefined,
        prepare: () => ({ kind: 'http', url: 'http://127.0.0.1:1/', body: 1 }) as never,
      },
      {
        name: 'file-no-path',
        send: async () => undefined,
        prepare: () => ({ kind: 'file', path: 1, line: 'x' }) as never,
      },
      httpSink({ url: `http://127.0.0.1:${port}/` }),
      fileSink(join(work, 'no-such-dir', 'x', 'crashes.jsonl')),
    ];
    for (const sink of sinks) {
      const spoolDir = freshDir();
      const g = install({ sink, spoolDir, flushTimeout: 5_000 });
      process.listeners('exit')[0]!.call(process, 1);
      expect(spoolEntries(spoolDir)).toHaveLength(1);
      expect(g.stats()).toMatchObject({
        sent: 0,
        spooled: 1,
        sinkErrors: sink.name === 'throws' ? 1 : 0,
      });
      await g.uninstall();
      const lost = install({ sink });
      process.listeners('exit')[0]!.call(process, 1);
      expect(lost.stats()).toMatchObject({ sent: 0, lost: 1 });
      await lost.uninstall();
      guard = undefined;
    }
  });

  test('an HTTP delivery to a sink that answers is sent; one that is not a delivery is spooled', async () => {
    // The sink answers from a thread of its own: this one waits on the sender while it sends.
    const sinkThread = new Worker(
      `const { parentPort } = require('node:worker_threads');
      const server = require('node:http').createServer((req, res) => {
        let body = '';
        req.on('data', (part) => (body += part));
        req.on('end', () => { parentPort.postMessage({ body, tenant: req.headers['x-tenant'] }); res.end(); });
      });
      server.listen(0, '127.0.0.1', () => parentPort.postMessage({ port: server.address().port }));`,
      { eval: true },
    );
    sinkThread.unref(); // terminated at the end; never keeps the test runner alive
    const received: { body: string; tenant?: string }[] = [];
    const port = await new Promise<number>((resolve) =>
      sinkThread.on('message', (m: { port?: number; body?: string; tenant?: string }) =>
        m.port === undefined ? received.push(m as { body: string }) : resolve(m.port),
      ),
    );
    const url = `http://127.0.0.1:${port}/`;
    const prepared = (delivery: unknown): Sink => ({
      name: 'custom',
      send: async () => undefined,
      prepare: () => delivery as never,
    });
    const cases: [Sink, number][] = [
      [httpSink({ url, headers: { 'x-tenant': 't1' } }), 1],
      // Headers are optional in a custom prepare's delivery.
      [prepared({ kind: 'http', url, body: '{"custom":true}' }), 1],
      // Not deliveries: a body or line that is not text, a URL that is an object, a kind of
      // delivery there is none of, a function dressed as one.
      [prepared({ kind: 'http', url, body: Buffer.from('{}') }), 0],
      [prepared({ kind: 'http', url: new URL(url), body: '{}' }), 0],
      [prepared({ kind: 'http', url: Object(url) as object, body: '{}' }), 0],
      [prepared({ kind: 'file', path: join(work, 'line.jsonl'), line: Buffer.from('{}\n') }), 0],
      [prepared({ kind: 'append', path: join(work, 'kind.jsonl'), line: '{}\n' }), 0],
      [prepared(Object.assign(() => undefined, { kind: 'http', url, body: '{}' })), 0],
    ];
    for (const [sink, sent] of cases) {
      const spoolDir = freshDir();
      const g = install({ sink, spoolDir, flushTimeout: 10_000 });
      await g.flush();
      process.listeners('exit')[0]!.call(process, 1);
      expect(g.stats()).toMatchObject({ sent, spooled: 1 - sent });
      await g.uninstall();
      guard = undefined;
    }
    await vi.waitFor(() => expect(received).toHaveLength(2));
    expect(JSON.parse(received[0]!.body)).toMatchObject({ kind: 'exit', exitCode: 1 });
    expect(received[0]!.tenant).toBe('t1');
    expect(received[1]!.body).toBe('{"custom":true}');
    await sinkThread.terminate();
  });

  test('a file delivery is appended with mode 0600 and counted sent', () => {
    const path = join(freshDir(), 'crashes.jsonl');
    const g = install({ sink: fileSink(path), spoolDir: freshDir() });
    process.listeners('exit')[0]!.call(process, 4);
    expect(fileReports(path)).toMatchObject([{ kind: 'exit', exitCode: 4 }]);
    expect(g.stats()).toMatchObject({ sent: 1, spooled: 0, lost: 0 });
  });
});

describe('while the process runs', () => {
  test('metadata: primitives kept, read at install and every metadataRefreshInterval; a throwing read keeps the last', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { sink, got } = memorySink();
    let calls = 0;
    const g = install({
      sink,
      rateLimit: { fullReports: 100 },
      metadataRefreshInterval: 1_000,
      metadata: () => {
        calls += 1;
        if (calls === 3) throw new Error('metadata server down');
        if (calls === 4) return 'not an object' as never;
        return { pod: `p-${calls}`, ready: true, cpus: 2, nested: { no: 1 } as never };
      },
    });
    const metadataNow = async () => {
      g.capture(new Error(`at ${calls}`));
      await g.flush();
      return got.at(-1)!.metadata;
    };
    expect(await metadataNow()).toEqual({ pod: 'p-1', ready: true, cpus: 2 });
    vi.advanceTimersByTime(999);
    expect(calls).toBe(1);
    vi.advanceTimersByTime(1);
    expect(await metadataNow()).toEqual({ pod: 'p-2', ready: true, cpus: 2 });
    vi.advanceTimersByTime(1_000);
    expect(g.stats().hookErrors).toBe(1);
    expect(await metadataNow()).toEqual({ pod: 'p-2', ready: true, cpus: 2 });
    vi.advanceTimersByTime(1_000);
    expect(await metadataNow()).toEqual({});
    expect(calls).toBe(4);
    await g.uninstall();
    vi.advanceTimersByTime(10_000);
    expect(calls).toBe(4);
  });

  test('a capture whose extra cannot be serialised is sent, that field as its text', async () => {
    const { sink, got } = memorySink();
    const g = install({ sink });
    expect(() => g.capture(new Error('x'), { big: 1n, ok: true })).not.toThrow();
    await g.flush();
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({ kind: 'capture', extra: { big: '1', ok: true } });
    expect(g.stats().lost).toBe(0);
  });

  test('a second install says what to do', () => {
    install({ sink: memorySink().sink });
    expect(() => installCrashGuard({ service: 'b', sink: memorySink().sink })).toThrow(
      'a crash guard is already installed in this process (perhaps by another copy of @holdfast/crash-flush); call uninstall() first or share the guard',
    );
  });

  test('a metadata object is read once, and never on a timer', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    install({ sink: memorySink().sink, metadata: { pod: 'p' } });
    expect(vi.getTimerCount()).toBe(0);
  });

  test('a failed send is counted, spooled (or lost), and published; a sent one too', async () => {
    const messages: SendMessage[] = [];
    const onMessage = (m: unknown) => void messages.push(m as SendMessage);
    subscribe(SEND_CHANNEL, onMessage);
    cleanups.push(() => unsubscribe(SEND_CHANNEL, onMessage));
    const spoolDir = freshDir();
    let fail = true;
    const { sink, got } = memorySink(async (r) => {
      if (fail) throw new Error('down');
      got.push(r);
    });
    const g = install({ sink, spoolDir, rateLimit: { fullReports: 10 } });
    await g.flush(); // the start-up resend of the (empty) spool is over
    g.capture(new Error('one'));
    await g.flush();
    expect(g.stats()).toMatchObject({ sent: 0, sinkErrors: 1, spooled: 1 });
    expect(spoolEntries(spoolDir)).toHaveLength(1);
    expect(g.spoolSize().reports).toBe(1);
    fail = false;
    g.capture(new Error('two'), { step: 2 });
    await g.flush();
    expect(got).toMatchObject([{ kind: 'capture', extra: { step: 2 } }]);
    expect(g.stats()).toMatchObject({ sent: 1, sinkErrors: 1 });
    expect(messages.map((m) => [m.kind, m.outcome])).toEqual([
      ['capture', 'failed'],
      ['capture', 'sent'],
    ]);
    expect(messages.every((m) => m.durationMs >= 0)).toBe(true);
    await g.uninstall();
    fail = true;
    const lost = install({ sink });
    lost.capture(new Error('three'));
    await lost.flush();
    expect(lost.stats()).toMatchObject({ lost: 1, spooled: 0 });
    expect(lost.spoolSize()).toEqual({ reports: 0, bytes: 0 });
  });

  test('what was suppressed rides on the next report that passes', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const { sink, got } = memorySink();
    const g = install({ sink, rateLimit: { window: 1_000 } });
    const same = () => new Error('same');
    for (let i = 0; i < 3; i += 1) g.capture(same());
    vi.advanceTimersByTime(1_001);
    g.capture(same());
    await g.flush();
    expect(got).toHaveLength(2);
    expect(got[0]!).not.toHaveProperty('extra');
    expect(got[1]!.extra).toEqual({ suppressedSinceLast: 2 });
    expect(g.stats().suppressed).toBe(2);
  });

  test('with a spool folder the rate limit outlives the process: the same crash after a restart is counted', async () => {
    const spoolDir = freshDir();
    const { sink, got } = memorySink();
    const first = install({ sink, spoolDir });
    await first.flush();
    first.capture(new Error('crash loop'));
    await first.flush();
    await first.uninstall();
    const second = install({ sink, spoolDir });
    await second.flush();
    second.capture(new Error('crash loop'));
    await second.flush();
    expect(got).toHaveLength(1);
    expect(second.stats().suppressed).toBe(1);
    // Its state is no report: the spool's reader and its size leave it out.
    expect(readdirSync(spoolDir)).toEqual(['rate-limit.state']);
    expect(second.spoolSize()).toEqual({ reports: 0, bytes: 0 });
  });

  test('the spool of a previous run is sent at install, and published as resends', async () => {
    const spoolDir = freshDir();
    const counts = { spooled: 0, recovered: 0, evicted: 0, rejected: 0, lost: 0 };
    const earlier = new Spool(spoolDir, { maxReports: 10, maxBytes: 1_000_000 }, counts);
    // Written a millisecond apart: the spool sends the oldest first.
    for (const [i, message] of ['a', 'b'].entries())
      earlier.write({
        ...buildReport({
          service: 'earlier',
          kind: 'exit',
          error: new Error(message),
          lastRecords: [],
          metadata: {},
          maxReportBytes: 65_536,
        }),
        time: 1_700_000_000_000 + i,
      });
    const messages: SendMessage[] = [];
    const onMessage = (m: unknown) => void messages.push(m as SendMessage);
    subscribe(SEND_CHANNEL, onMessage);
    cleanups.push(() => unsubscribe(SEND_CHANNEL, onMessage));
    let fail = true;
    const { sink, got } = memorySink(async (r) => {
      if (fail) throw new Error('still down');
      got.push(r);
    });
    const g = install({ sink, spoolDir });
    await g.flush();
    expect(g.stats()).toMatchObject({ recovered: 0, sinkErrors: 2 });
    expect(messages.map((m) => [m.kind, m.outcome])).toEqual([
      ['resend', 'failed'],
      ['resend', 'failed'],
    ]);
    await g.uninstall();
    fail = false;
    const next = install({ sink, spoolDir });
    await next.flush();
    expect(got.map((r) => r.error?.message)).toEqual(['a', 'b']);
    expect(next.stats()).toMatchObject({ recovered: 2, sinkErrors: 0 });
    expect(spoolEntries(spoolDir)).toEqual([]);
  });

  test('watchWorker: a worker’s error is a worker report; a guard inside it forwards its reports', async () => {
    const { sink, got } = memorySink();
    const g = install({ sink });
    const worker = Object.assign(new EventEmitter(), { threadId: 7 }) as unknown as Worker;
    const stop = g.watchWorker(worker);
    worker.emit('error', new Error('worker died'));
    const inner = buildReport({
      service: 'agent',
      kind: 'uncaughtException',
      error: new Error('inside'),
      lastRecords: [{ msg: 'worker record' }],
      metadata: {},
      extra: { job: 3 },
      maxReportBytes: 65_536,
    });
    worker.emit('message', { '@holdfast/crash-flush:report': inner });
    worker.emit('message', { '@holdfast/crash-flush:report': { kind: 'nonsense' } });
    worker.emit('message', { other: 1 });
    worker.emit('message', null);
    await g.flush();
    expect(got).toMatchObject([
      { kind: 'worker', error: { message: 'worker died' }, extra: { worker: 'worker 7' } },
      {
        id: inner.id,
        kind: 'uncaughtException',
        lastRecords: [{ msg: 'worker record' }],
        extra: { job: 3, worker: 'worker 7' },
      },
    ]);
    stop();
    const emitter = worker as unknown as EventEmitter;
    expect([emitter.listenerCount('error'), emitter.listenerCount('message')]).toEqual([0, 0]);
    const named = Object.assign(new EventEmitter(), { threadId: 8 }) as unknown as Worker;
    g.watchWorker(named, 'parser');
    named.emit('error', new Error('parser died'));
    await g.flush();
    expect(got[2]).toMatchObject({ kind: 'worker', extra: { worker: 'parser' } });
  });

  test('install announces itself on its channel; uninstall puts process.emit back and frees the slot', async () => {
    const seen: unknown[] = [];
    const onInstalled = (m: unknown) => void seen.push(m);
    // By name: every copy of the package, and the testing kit's crash trigger, use this one.
    expect(GUARD_INSTALLED_CHANNEL).toBe('holdfast:crash-flush:guard-installed');
    subscribe('holdfast:crash-flush:guard-installed', onInstalled);
    cleanups.push(() => unsubscribe('holdfast:crash-flush:guard-installed', onInstalled));
    const emit = process.emit;
    const g = install({ sink: memorySink().sink, service: 'announced' });
    expect(seen).toEqual([{ service: 'announced' }]);
    expect(process.emit).not.toBe(emit);
    await g.uninstall();
    guard = undefined;
    expect(process.emit).toBe(emit);
    await (install({ sink: memorySink().sink }) as AsyncDisposable)[Symbol.asyncDispose]();
    guard = undefined;
    expect(() => install({ sink: memorySink().sink })).not.toThrow();
  });
});
