/**
 * `waitUntilHealthy()`: a start-up wait that returns a verdict.
 *
 * @module
 */
import { type LongTimer, setLongTimeout } from '@holdfast/internal';
import { ABANDON_AFTER_ABORT_MS, asProbeResult } from './internal/probe-result.js';
import {
  describeError,
  duration,
  fail,
  optionalSignal,
  optionsObject,
} from './internal/validate.js';
import type { Probe, ProbeResult } from './probe.js';

/** Options of {@link waitUntilHealthy}. */
export interface WaitOptions {
  /**
   * Give up after this many milliseconds (any length; `Infinity` waits for ever) and return
   * `healthy: false`. It never exits the process.
   * @default 60_000
   */
  readonly timeout?: number;
  /**
   * Milliseconds between attempts.
   * @default 1_000
   */
  readonly interval?: number;
  /**
   * Per-attempt timeout; capped by what is left of `timeout`.
   * @default 5_000
   */
  readonly attemptTimeout?: number;
  /** Stops waiting; the verdict is then `healthy: false`. */
  readonly signal?: AbortSignal;
}

const WAIT_OPTIONS = [
  'timeout',
  'interval',
  'attemptTimeout',
  'signal',
] as const satisfies readonly (keyof WaitOptions)[];

/** The verdict of {@link waitUntilHealthy}. */
export interface WaitVerdict {
  readonly healthy: boolean;
  readonly attempts: number;
  readonly lastResult: ProbeResult | undefined;
}

/**
 * Probes until healthy or until `timeout`, and says which.
 *
 * **When to use:** at start-up, waiting for a dependency. It returns `{ healthy: false }` on time
 * out; it never exits the process. Deciding is the caller's job — keep serving degraded, retry
 * later — not the wait's: Apollo's script ran `exit 1` after 240 s and killed a healthy container.
 *
 * @example
 * ```ts
 * const verdict = await waitUntilHealthy(httpProbe('http://127.0.0.1:8080/health'), { timeout: 240_000 });
 * if (!verdict.healthy) log.warn(`backend not ready after ${verdict.attempts} attempts: ${verdict.lastResult?.detail}`);
 * ```
 *
 * @since 0.1.0
 */
export async function waitUntilHealthy(
  probe: Probe,
  options: WaitOptions = {},
): Promise<WaitVerdict> {
  if (typeof probe !== 'function')
    fail('probe', 'a function (httpProbe(url), commandProbe(cmd))', probe);
  optionsObject<WaitOptions>('options', options, WAIT_OPTIONS);
  const timeoutMs = duration('timeout', options.timeout, 60_000);
  const intervalMs = duration('interval', options.interval, 1_000);
  const attemptTimeoutMs = duration('attemptTimeout', options.attemptTimeout, 5_000);
  const signal = optionalSignal('signal', options.signal);
  const endAt = performance.now() + timeoutMs; // monotonic: a wall-clock step changes nothing
  let attempts = 0;
  let lastResult: ProbeResult | undefined;

  while (signal?.aborted !== true) {
    const left = endAt - performance.now();
    if (left <= 0 && attempts > 0) break;
    attempts += 1;
    lastResult = await attempt(probe, Math.max(0, Math.min(attemptTimeoutMs, left)), signal);
    if (lastResult.ok) return { healthy: true, attempts, lastResult };
    const pause = Math.min(intervalMs, endAt - performance.now());
    if (pause <= 0) break;
    await sleep(pause, signal);
  }
  return { healthy: false, attempts, lastResult };
}

/**
 * One attempt: the probe's answer (anything that is not a result is a failure). At the attempt's
 * deadline, or when `signal` aborts, the probe's signal aborts; a probe that has not settled
 * ABANDON_AFTER_ABORT_MS later (it ignores its signal, or hangs) is abandoned as a failure.
 */
function attempt(probe: Probe, ms: number, signal: AbortSignal | undefined): Promise<ProbeResult> {
  const started = performance.now();
  const controller = new AbortController();
  return new Promise<ProbeResult>((resolve) => {
    let abandonTimer: LongTimer | undefined;
    const finish = (result: ProbeResult) => {
      timer.clear();
      abandonTimer?.clear();
      signal?.removeEventListener('abort', onAbort);
      resolve(result);
    };
    const abort = (reason: unknown) => {
      controller.abort(reason);
      abandonTimer ??= setLongTimeout(
        () =>
          finish({
            ok: false,
            detail: 'timed out (the probe did not stop when aborted)',
            durationMs: performance.now() - started,
          }),
        ABANDON_AFTER_ABORT_MS,
      );
    };
    const onAbort = () => abort(signal?.reason);
    const timer = setLongTimeout(() => abort(new Error('attempt timed out')), ms);
    signal?.addEventListener('abort', onAbort, { once: true });
    Promise.resolve()
      .then(() => probe(controller.signal))
      .then(
        (value) => finish(asProbeResult(value, started)),
        (error: unknown) =>
          finish({
            ok: false,
            detail: describeError(error),
            durationMs: performance.now() - started,
          }),
      )
      // finish() cannot throw (asProbeResult and describeError never do); nothing to report.
      .catch(() => undefined);
  });
}

/** Waits `ms` (any length), or until `signal` aborts. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise<void>((resolve) => {
    const wake = () => {
      timer.clear();
      signal?.removeEventListener('abort', wake);
      resolve();
    };
    const timer = setLongTimeout(wake, ms);
    signal?.addEventListener('abort', wake, { once: true });
  });
}
