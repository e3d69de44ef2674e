// startHealthCheck's lifecycle, exactly: what stop() and the signal end, which timers hold the
// process, what a run's result says, and how each bad option is named. On fake timers
// (performance.now() too), so every duration below is exact.
import { getEventListeners } from 'node:events';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { startHealthCheck, type HealthState, type ProbeResult } from '../src/index.js';

const ok: ProbeResult = { ok: true, detail: 'fine', durationMs: 1 };
const bad: ProbeResult = { ok: false, detail: 'HTTP 503', durationMs: 1 };

/** A probe whose runs are settled by the test; each run's signal is kept. */
function controlledProbe() {
  const runs: { signal: AbortSignal; settle: (result: ProbeResult) => void }[] = [];
  const probe = (signal: AbortSignal) =>
    new Promise<ProbeResult>((resolve) => runs.push({ signal, settle: resolve }));
  return { probe, runs };
}

beforeEach(() => {
  vi.useFakeTimers({
    toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'performance'],
  });
});
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('stop() and the signal end the check', () => {
  test('stop() aborts the run in flight, waits for it, records nothing after, and runs no more', async () => {
    const { probe, runs } = controlledProbe();
    const check = startHealthCheck({ probe, interval: 100, failureThreshold: 1 });
    await vi.advanceTimersByTimeAsync(0);
    expect(runs).toHaveLength(1);

    let stopped = false;
    const stopping = check.stop().then(() => (stopped = true));
    expect(runs[0]!.signal.aborted).toBe(true);
    expect((runs[0]!.signal.reason as Error).message).toBe('health check stopped');
    await vi.advanceTimersByTimeAsync(0);
    expect(stopped).toBe(false); // the probe has not answered yet
    runs[0]!.settle(bad);
    await stopping;
    expect(check.status()).toMatchObject({ state: 'unknown', runs: 0 }); // its answer not counted
    await vi.advanceTimersByTimeAsync(10_000);
    expect(runs).toHaveLength(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  test('stop() between runs cancels the next one', async () => {
    const check = startHealthCheck({ probe: async () => ok, interval: 100 });
    await vi.advanceTimersByTimeAsync(0);
    expect(check.status().runs).toBe(1);
    await check.stop();
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(check.status().runs).toBe(1);
  });

  test('an aborted signal stops it like stop(), and its listener is removed at stop()', async () => {
    const { probe, runs } = controlledProbe();
    const controller = new AbortController();
    const check = startHealthCheck({ probe, interval: 100, signal: controller.signal });
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(0);
    controller.abort();
    expect(runs[0]!.signal.aborted).toBe(true);
    runs[0]!.settle(ok);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(check.status().runs).toBe(0);
    expect(runs).toHaveLength(1);

    const other = new AbortController();
    const second = startHealthCheck({ probe: async () => ok, signal: other.signal });
    await second.stop();
    expect(getEventListeners(other.signal, 'abort')).toHaveLength(0);
  });

  test('a signal aborted before the start: no run ever, no timer, no listener', async () => {
    let calls = 0;
    const check = startHealthCheck({
      probe: async () => {
        calls += 1;
        return ok;
      },
      signal: AbortSignal.abort(),
    });
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(calls).toBe(0);
    expect(check.status().runs).toBe(0);
    await check.stop();
  });
});

describe('timers', () => {
  test.each([
    [false, false],
    [true, true],
    [undefined, true],
  ])('ref: %s → every timer it sets has hasRef() %s', async (ref, expected) => {
    const made: ReturnType<typeof setTimeout>[] = [];
    const fake = globalThis.setTimeout;
    vi.spyOn(globalThis, 'setTimeout').mockImplementation(((fn: () => void, ms?: number) => {
      const handle = fake(fn, ms);
      made.push(handle);
      return handle;
    }) as typeof setTimeout);
    const { probe, runs } = controlledProbe();
    const check = startHealthCheck({
      probe,
      interval: 100,
      timeout: 50,
      ...(ref === undefined ? {} : { ref }),
    });
    await vi.advanceTimersByTimeAsync(0); // the first run starts: its deadline
    await vi.advanceTimersByTimeAsync(50); // the deadline aborts it: the abandon timer
    runs[0]!.settle(ok); // it answers: the next run is scheduled
    await vi.advanceTimersByTimeAsync(0);
    expect(made.map((handle) => handle.hasRef())).toEqual([expected, expected, expected, expected]);
    await check.stop();
  });

  test('a run that answers in time clears its deadline: one timer is left, the next run', async () => {
    const check = startHealthCheck({ probe: async () => ok, interval: 100, timeout: 5_000 });
    await vi.advanceTimersByTimeAsync(0);
    expect(check.status().runs).toBe(1);
    expect(vi.getTimerCount()).toBe(1);
    await check.stop();
  });
});

describe('what a run records', () => {
  test('a probe answering ok after its abort is a failure, "timed out"; the abort says the timeout', async () => {
    const { probe, runs } = controlledProbe();
    const check = startHealthCheck({ probe, interval: 1_000, timeout: 500, failureThreshold: 1 });
    await vi.advanceTimersByTimeAsync(500);
    expect((runs[0]!.signal.reason as Error).message).toBe('probe timed out after 500 ms');
    runs[0]!.settle(ok);
    await vi.advanceTimersByTimeAsync(0);
    expect(check.status()).toMatchObject({
      state: 'unhealthy',
      lastResult: { ok: false, detail: 'timed out', durationMs: 1 },
    });
    await check.stop();
  });

  test('durations are measured from the run start: a throw at 300 ms, an abandon at timeout + 2 s', async () => {
    await vi.advanceTimersByTimeAsync(10_000); // runs start at a reading of the clock other than 0
    let call = 0;
    const check = startHealthCheck({
      probe: () =>
        call++ === 0
          ? new Promise((_, reject) => setTimeout(() => reject(new Error('boom')), 300))
          : new Promise(() => undefined), // ignores its signal, never answers
      interval: 1_000,
      timeout: 400,
    });
    await vi.advanceTimersByTimeAsync(300);
    expect(check.status().lastResult).toEqual({ ok: false, detail: 'boom', durationMs: 300 });
    await vi.advanceTimersByTimeAsync(1_000 + 400 + 2_000);
    expect(check.status().lastResult).toEqual({
      ok: false,
      detail: 'timed out (the probe did not stop when aborted)',
      durationMs: 2_400,
    });
    await check.stop();
  });

  test('successThreshold successes in a row make it healthy, not fewer', async () => {
    const answers = [ok, bad, ok, ok];
    const changes: HealthState[] = [];
    const check = startHealthCheck({
      probe: async () => answers.shift() ?? ok,
      interval: 10,
      successThreshold: 2,
      failureThreshold: 5,
      onChange: (state) => changes.push(state),
    });
    await vi.advanceTimersByTimeAsync(0);
    expect(check.status()).toMatchObject({ state: 'unknown', consecutiveSuccesses: 1 });
    await vi.advanceTimersByTimeAsync(20);
    expect(check.status()).toMatchObject({ state: 'unknown', consecutiveSuccesses: 1, runs: 3 });
    await vi.advanceTimersByTimeAsync(10);
    expect(check.status()).toMatchObject({ state: 'healthy', consecutiveSuccesses: 2 });
    expect(changes).toEqual(['healthy']);
    await check.stop();
  });

  test('a state change with no onChange is no callback error', async () => {
    const check = startHealthCheck({ probe: async () => bad, failureThreshold: 1 });
    await vi.advanceTimersByTimeAsync(0);
    expect(check.status()).toMatchObject({ state: 'unhealthy', callbackErrors: 0 });
    await check.stop();
  });
});

describe('bad options name the option', () => {
  const probe = async () => ok;
  test.each([
    [undefined, /^options: expected an object, got undefined/],
    [null, /^options: expected an object, got null/],
    [{ probe, intervall: 5 }, /^options: unknown option `intervall` \(did you mean `interval`\?\)/],
    ['http://x', /options/],
    [{}, /probe[^]*a function \(httpProbe\(url\), commandProbe\(cmd\)\)/],
    [{ probe, successThreshold: 0 }, /successThreshold/],
    [{ probe, onChange: 5 }, /onChange/],
    [{ probe, signal: 'x' }, /signal/],
    [{ probe, ref: 'yes' }, /ref[^]*a boolean/],
  ])('%j', (options, message) => {
    expect(() => startHealthCheck(options as never)).toThrow(TypeError);
    expect(() => startHealthCheck(options as never)).toThrow(message);
    expect(vi.getTimerCount()).toBe(0);
  });
});
