import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import {
  commandProbe,
  httpProbe,
  startHealthCheck,
  waitUntilHealthy,
  type HealthState,
  type ProbeResult,
} from '../src/index.js';

const ok: ProbeResult = { ok: true, detail: 'fine', durationMs: 1 };
const bad: ProbeResult = { ok: false, detail: 'HTTP 503', durationMs: 1 };

describe('startHealthCheck (fake timers)', () => {
  beforeEach(() => {
    // performance.now() too: the deadlines are on the monotonic clock.
    vi.useFakeTimers({
      toFake: [
        'setTimeout',
        'clearTimeout',
        'setInterval',
        'clearInterval',
        'setImmediate',
        'clearImmediate',
        'Date',
        'performance',
      ],
    });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  test('thresholds decide the state; every change is called back, nothing exits', async () => {
    const results = [ok, bad, bad, bad, ok];
    const changes: [HealthState, HealthState][] = [];
    const check = startHealthCheck({
      probe: async () => results.shift() ?? ok,
      interval: 100,
      failureThreshold: 3,
      onChange: (state, previous) => changes.push([state, previous]),
    });
    await vi.advanceTimersByTimeAsync(0);
    expect(check.status().state).toBe('healthy');
    await vi.advanceTimersByTimeAsync(200);
    expect(check.status()).toMatchObject({ state: 'healthy', consecutiveFailures: 2 });
    await vi.advanceTimersByTimeAsync(100);
    expect(check.status().state).toBe('unhealthy');
    await vi.advanceTimersByTimeAsync(100);
    expect(check.status().state).toBe('healthy');
    expect(changes).toEqual([
      ['healthy', 'unknown'],
      ['unhealthy', 'healthy'],
      ['healthy', 'unhealthy'],
    ]);
    await check.stop();
  });

  test('runs never overlap: a slow probe delays the next run', async () => {
    let running = 0;
    let maxRunning = 0;
    let runs = 0;
    const check = startHealthCheck({
      probe: () => {
        running += 1;
        runs += 1;
        maxRunning = Math.max(maxRunning, running);
        return new Promise((resolve) =>
          setTimeout(() => {
            running -= 1;
            resolve(ok);
          }, 250),
        );
      },
      interval: 100,
      timeout: 1_000,
    });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(maxRunning).toBe(1);
    expect(runs).toBe(3); // 0–250, 350–600, 700–950: each starts 100 ms after the last ended
    await check.stop();
  });

  test('a probe past its timeout is aborted and counts as a failure', async () => {
    let aborted = false;
    const check = startHealthCheck({
      probe: (signal) =>
        new Promise((resolve) => {
          signal.addEventListener('abort', () => {
            aborted = true;
            resolve({ ok: false, detail: 'aborted', durationMs: 0 });
          });
        }),
      interval: 1_000,
      timeout: 50,
      failureThreshold: 1,
    });
    await vi.advanceTimersByTimeAsync(50);
    expect(aborted).toBe(true);
    expect(check.status()).toMatchObject({ state: 'unhealthy', consecutiveFailures: 1 });
    await check.stop();
  });

  test('a throwing probe or callback does not stop the check', async () => {
    const check = startHealthCheck({
      probe: () => Promise.reject(new Error('probe bug')),
      interval: 10,
      failureThreshold: 1,
      onChange: () => {
        throw new Error('callback bug');
      },
    });
    await vi.advanceTimersByTimeAsync(50);
    expect(check.status().state).toBe('unhealthy');
    expect(check.status().runs).toBeGreaterThan(1);
    await check.stop();
  });

  test('waitUntilHealthy returns a verdict: healthy after retries, or not healthy at the timeout', async () => {
    const answers = [bad, bad, ok];
    const first = waitUntilHealthy(async () => answers.shift() ?? ok, {
      interval: 100,
      timeout: 10_000,
    });
    await vi.advanceTimersByTimeAsync(200);
    expect(await first).toMatchObject({ healthy: true, attempts: 3 });

    const second = waitUntilHealthy(async () => bad, { interval: 1_000, timeout: 5_000 });
    await vi.advanceTimersByTimeAsync(5_000);
    const verdict = await second;
    expect(verdict).toMatchObject({ healthy: false, lastResult: bad });
    expect(verdict.attempts).toBe(5); // at 0, 1, 2, 3 and 4 s; the 5 s mark ends the wait
  });

  test('durations past 2^31 - 1 ms are not clamped to 1 ms: a 2^31 ms interval means one run now', async () => {
    let runs = 0;
    const check = startHealthCheck({
      probe: async () => {
        runs += 1;
        return ok;
      },
      interval: 2 ** 31,
      timeout: 2 ** 31,
    });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(runs).toBe(1);
    expect(check.status()).toMatchObject({ state: 'healthy', runs: 1 });
    await check.stop();
  });

  test('waitUntilHealthy with a 2^31 ms attempt timeout lets a slow attempt answer', async () => {
    const slow = (signal: AbortSignal) =>
      new Promise<ProbeResult>((resolve) => {
        const timer = setTimeout(() => resolve(ok), 50);
        signal.addEventListener('abort', () => {
          clearTimeout(timer);
          resolve({ ...bad, detail: 'aborted' });
        });
      });
    const verdict = waitUntilHealthy(slow, { attemptTimeout: 2 ** 31, timeout: 2 ** 31 });
    await vi.advanceTimersByTimeAsync(50);
    expect(await verdict).toMatchObject({ healthy: true, attempts: 1 });
  });

  test('a probe that ignores its signal and never answers is abandoned 2 s after its abort; the check goes on', async () => {
    let calls = 0;
    const check = startHealthCheck({
      probe: () => {
        calls += 1;
        return calls === 1 ? new Promise<ProbeResult>(() => undefined) : Promise.resolve(ok);
      },
      interval: 100,
      timeout: 500,
      failureThreshold: 1,
    });
    await vi.advanceTimersByTimeAsync(500 + 1_999);
    expect(check.status().runs).toBe(0); // waited for, so that runs never overlap
    await vi.advanceTimersByTimeAsync(1);
    expect(check.status()).toMatchObject({ state: 'unhealthy', runs: 1 });
    expect(check.status().lastResult?.detail).toBe(
      'timed out (the probe did not stop when aborted)',
    );
    await vi.advanceTimersByTimeAsync(100);
    expect(check.status()).toMatchObject({ state: 'healthy', runs: 2 });
    await check.stop();
  });

  test('waitUntilHealthy: a hanging probe is cut at the attempt timeout, a throwing one is a failed attempt', async () => {
    const hostile = Object.create(null) as object;
    const answers: (() => Promise<ProbeResult>)[] = [
      () => new Promise<ProbeResult>(() => undefined),
      () => Promise.reject(hostile),
      () => Promise.resolve(42 as unknown as ProbeResult),
      () => Promise.resolve(ok),
    ];
    const verdict = waitUntilHealthy(() => answers.shift()!(), {
      attemptTimeout: 200,
      interval: 10,
      timeout: 10_000,
    });
    await vi.advanceTimersByTimeAsync(200 + 2_000 + 100);
    expect(await verdict).toMatchObject({ healthy: true, attempts: 4 });
  });

  test('user code that throws anything costs only itself: onChange is counted, a probe is a failure', async () => {
    const hostile = Object.create(null) as object;
    const check = startHealthCheck({
      probe: async () => {
        throw hostile;
      },
      interval: 100,
      failureThreshold: 1,
      onChange: () => {
        throw hostile;
      },
    });
    await vi.advanceTimersByTimeAsync(0);
    expect(check.status()).toMatchObject({ state: 'unhealthy', callbackErrors: 1 });
    expect(check.status().lastResult?.detail).toBe('threw an object with no keys');
    await check.stop();
  });

  test('bad options are TypeErrors naming the option', () => {
    expect(() => startHealthCheck({ probe: 'http://x' as never })).toThrow(
      /probe: expected a function/,
    );
    expect(() => startHealthCheck({ probe: async () => ok, failureThreshold: 0 })).toThrow(
      /failureThreshold: expected an integer ≥ 1/,
    );
  });
});

describe('probes against real local services', () => {
  let server: Server;
  let base: string;
  let status = 200;
  beforeEach(async () => {
    server = createServer((req, res) => {
      if (req.url === '/hang') return; // never answers
      res.writeHead(status);
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterEach(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  test('httpProbe: 200 is healthy, 503 is not, a hang is aborted by its signal', async () => {
    expect(await httpProbe(`${base}/health`)(AbortSignal.timeout(5_000))).toMatchObject({
      ok: true,
      detail: 'HTTP 200',
    });
    status = 503;
    expect(await httpProbe(`${base}/health`)(AbortSignal.timeout(5_000))).toMatchObject({
      ok: false,
      detail: 'HTTP 503',
    });
    const controller = new AbortController();
    const hung = httpProbe(`${base}/hang`)(controller.signal);
    controller.abort();
    expect(await hung).toMatchObject({ ok: false, detail: 'timed out' });
  });

  test('httpProbe: a refused connection is a result, not a throw', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    expect(await httpProbe(`http://127.0.0.1:${port}/`)(AbortSignal.timeout(5_000))).toMatchObject({
      ok: false,
      detail: 'ECONNREFUSED',
    });
  });

  test('the Apollo scenario: a check failing past every threshold calls back; process and service keep running', async () => {
    status = 503;
    let resolveChanged!: (state: HealthState) => void;
    const changed = new Promise<HealthState>((resolve) => (resolveChanged = resolve));
    const check = startHealthCheck({
      probe: httpProbe(`${base}/health`),
      interval: 5,
      failureThreshold: 3,
      onChange: (state) => resolveChanged(state),
    });
    expect(await changed).toBe('unhealthy');
    expect(check.status().consecutiveFailures).toBeGreaterThanOrEqual(3);
    // Still here: the check changed state, it did not exit; the watched service still answers.
    status = 200;
    expect(await httpProbe(`${base}/health`)(AbortSignal.timeout(5_000))).toMatchObject({
      ok: true,
    });
    await check.stop();
  });

  test('commandProbe: exit 0 is healthy, non-zero is not, and an abort kills the whole group', async () => {
    expect(await commandProbe('sh', ['-c', 'exit 0'])(AbortSignal.timeout(5_000))).toMatchObject({
      ok: true,
      detail: 'exit code 0',
    });
    expect(await commandProbe('sh', ['-c', 'exit 3'])(AbortSignal.timeout(5_000))).toMatchObject({
      ok: false,
      detail: 'exit code 3',
    });
    const controller = new AbortController();
    const probe = commandProbe('sh', ['-c', 'sleep 30 & sleep 30'])(controller.signal);
    controller.abort();
    expect(await probe).toMatchObject({ ok: false, detail: 'timed out' });
  });
});
