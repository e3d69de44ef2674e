/**
 * `startHealthCheck()`: periodic probes with thresholds and state changes.
 *
 * @module
 */
import {
  fail,
  milliseconds,
  optionalFunction,
  optionalSignal,
  positiveInteger,
} from './internal/validate.js';
import type { HealthCheckOptions, HealthState } from './options.js';
import type { ProbeResult } from './probe.js';

/** What a health check knows now. */
export interface HealthStatus {
  readonly state: HealthState;
  readonly consecutiveFailures: number;
  readonly consecutiveSuccesses: number;
  /** Probe runs completed. */
  readonly runs: number;
  readonly lastResult: ProbeResult | undefined;
}

/** A running health check; see {@link startHealthCheck}. */
export interface HealthCheck extends AsyncDisposable {
  status(): HealthStatus;
  /** Stops scheduling; an in-flight run is aborted. Resolves when it has ended. */
  stop(): Promise<void>;
}

/**
 * Runs a probe periodically and keeps a state with thresholds, calling back on changes.
 *
 * **When to use:** watching a dependency (a backend, a sidecar) from inside an agent. A failing
 * check changes state and calls `onChange`; it never exits or kills the process — what to do is
 * the agent's decision. Apollo's start script did the opposite: `exit 1` after 240 s of polling
 * killed a healthy container.
 *
 * **Details:** runs never overlap: the next run starts `intervalMs` after the previous one ended.
 * A run longer than `timeoutMs` is aborted (its signal aborts) and counts as a failure. The state
 * starts `unknown`; `failureThreshold` consecutive failures make it `unhealthy`,
 * `successThreshold` consecutive successes `healthy`.
 *
 * @example
 * ```ts
 * const check = startHealthCheck({
 *   probe: httpProbe('http://127.0.0.1:4318/health'),
 *   intervalMs: 5_000,
 *   onChange: (state) => (state === 'unhealthy' ? outputs.pause() : outputs.resume()),
 * });
 * ```
 *
 * @since 0.1.0
 */
export function startHealthCheck(options: HealthCheckOptions): HealthCheck {
  if (typeof options !== 'object' || options === null) fail('options', 'an object', options);
  const probe = optionalFunction<HealthCheckOptions['probe']>('probe', options.probe);
  if (probe === undefined)
    fail('probe', 'a function (httpProbe(url), commandProbe(cmd))', options.probe);
  const intervalMs = milliseconds('intervalMs', options.intervalMs, 10_000);
  const timeoutMs = milliseconds('timeoutMs', options.timeoutMs, 5_000);
  const failureThreshold = positiveInteger('failureThreshold', options.failureThreshold, 3);
  const successThreshold = positiveInteger('successThreshold', options.successThreshold, 1);
  const onChange = optionalFunction<NonNullable<HealthCheckOptions['onChange']>>(
    'onChange',
    options.onChange,
  );
  const signal = optionalSignal('signal', options.signal);
  const ref = options.ref ?? true;

  let state: HealthState = 'unknown';
  let failures = 0;
  let successes = 0;
  let runs = 0;
  let lastResult: ProbeResult | undefined;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: { controller: AbortController; done: Promise<void> } | undefined;

  const record = (result: ProbeResult) => {
    runs += 1;
    lastResult = result;
    if (result.ok) {
      successes += 1;
      failures = 0;
    } else {
      failures += 1;
      successes = 0;
    }
    const next = result.ok
      ? successes >= successThreshold
        ? 'healthy'
        : state
      : failures >= failureThreshold
        ? 'unhealthy'
        : state;
    if (next !== state) {
      const previous = state;
      state = next;
      try {
        onChange?.(next, previous, result);
      } catch {
        // A throwing callback must not stop the check; the state change stands.
      }
    }
  };

  const tick = () => {
    timer = undefined;
    if (stopped) return;
    const controller = new AbortController();
    const deadline = setTimeout(
      () => controller.abort(new Error(`probe timed out after ${timeoutMs} ms`)),
      timeoutMs,
    );
    if (!ref) deadline.unref();
    const started = Date.now();
    const done = Promise.resolve()
      .then(() => probe(controller.signal))
      .catch((error: unknown) => ({
        ok: false,
        detail: String(error),
        durationMs: Date.now() - started,
      }))
      .then((result) => {
        clearTimeout(deadline);
        inFlight = undefined;
        if (stopped) return;
        record(
          controller.signal.aborted && result.ok
            ? { ...result, ok: false, detail: 'timed out' }
            : result,
        );
        schedule(intervalMs);
      });
    inFlight = { controller, done };
  };

  const schedule = (ms: number) => {
    timer = setTimeout(tick, ms);
    if (!ref) timer.unref();
  };

  const stop = async () => {
    stopped = true;
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
    const running = inFlight;
    running?.controller.abort(new Error('health check stopped'));
    await running?.done;
  };
  // stop() cannot reject: `done` ends in a handler that catches the probe's failure, and
  // onChange is called inside try/catch. Nothing is left to report here.
  const onAbort = () => {
    stop().catch(() => undefined);
  };
  if (signal?.aborted === true) stopped = true;
  else {
    signal?.addEventListener('abort', onAbort, { once: true });
    schedule(0);
  }

  return {
    status: () => ({
      state,
      consecutiveFailures: failures,
      consecutiveSuccesses: successes,
      runs,
      lastResult,
    }),
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
