/**
 * `waitUntilHealthy()`: a start-up wait that returns a verdict.
 *
 * @module
 */
import { fail, milliseconds, optionalSignal } from './internal/validate.js';
import type { WaitOptions } from './options.js';
import type { Probe, ProbeResult } from './probe.js';

/** The verdict of {@link waitUntilHealthy}. */
export interface WaitVerdict {
  readonly healthy: boolean;
  readonly attempts: number;
  readonly lastResult: ProbeResult | undefined;
}

/**
 * Probes until healthy or until `timeoutMs`, and says which.
 *
 * **When to use:** at start-up, waiting for a dependency. It returns `{ healthy: false }` on time
 * out; it never exits the process. Deciding is the caller's job — keep serving degraded, retry
 * later — not the wait's: Apollo's script ran `exit 1` after 240 s and killed a healthy container.
 *
 * @example
 * ```ts
 * const verdict = await waitUntilHealthy(httpProbe('http://127.0.0.1:8080/health'), { timeoutMs: 240_000 });
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
  const timeoutMs = milliseconds('timeoutMs', options.timeoutMs, 60_000);
  const intervalMs = milliseconds('intervalMs', options.intervalMs, 1_000);
  const attemptTimeoutMs = milliseconds('attemptTimeoutMs', options.attemptTimeoutMs, 5_000);
  const signal = optionalSignal('signal', options.signal);
  const endAt = Date.now() + timeoutMs;
  let attempts = 0;
  let lastResult: ProbeResult | undefined;

  while (signal?.aborted !== true) {
    const left = endAt - Date.now();
    if (left <= 0 && attempts > 0) break;
    attempts += 1;
    const controller = new AbortController();
    const stopAttempt = () => controller.abort(signal?.reason);
    signal?.addEventListener('abort', stopAttempt, { once: true });
    const timer = setTimeout(
      () => controller.abort(new Error('attempt timed out')),
      Math.max(0, Math.min(attemptTimeoutMs, left)),
    );
    try {
      lastResult = await probe(controller.signal);
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', stopAttempt);
    }
    if (lastResult.ok) return { healthy: true, attempts, lastResult };
    const pause = Math.min(intervalMs, endAt - Date.now());
    if (pause <= 0) break;
    await new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(sleep);
        resolve();
      };
      const sleep = setTimeout(() => {
        signal?.removeEventListener('abort', wake);
        resolve();
      }, pause);
      signal?.addEventListener('abort', wake, { once: true });
    });
  }
  return { healthy: false, attempts, lastResult };
}
