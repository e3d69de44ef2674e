/**
 * `startHealthCheck()`: periodic probes with thresholds and state changes.
 *
 * @module
 */
import { type LongTimer, setLongTimeout } from '@holdfast/internal';
import {
  describeError,
  duration,
  fail,
  optionalFunction,
  optionalSignal,
  optionsObject,
  positiveInteger,
} from './internal/validate.js';
import { ABANDON_AFTER_ABORT_MS, asProbeResult } from './internal/probe-result.js';
import type { ProbeResult } from './probe.js';

/** Options of {@link startHealthCheck}. */
export interface HealthCheckOptions {
  /** What to check: `httpProbe(url)`, `commandProbe(cmd, args)` or your own. */
  readonly probe: (signal: AbortSignal) => Promise<ProbeResult>;
  /**
   * Milliseconds between the end of one run and the start of the next: runs never overlap. Any
   * length; `Infinity` runs the probe once.
   * @default 10_000
   */
  readonly interval?: number;
  /**
   * A run not finished within this many milliseconds is aborted and counts as a failure; a probe
   * that ignores its signal is abandoned 2 s after the abort, and the check goes on. `Infinity`:
   * no limit.
   * @default 5_000
   */
  readonly timeout?: number;
  /**
   * Consecutive failures that turn the state `unhealthy`.
   * @default 3
   */
  readonly failureThreshold?: number;
  /**
   * Consecutive successes that turn the state `healthy`.
   * @default 1
   */
  readonly successThreshold?: number;
  /**
   * Called on every state change; it never exits or kills anything by itself. A throw is counted
   * in `status().callbackErrors` and the state change stands.
   */
  readonly onChange?: (state: HealthState, previous: HealthState, last: ProbeResult) => void;
  /** Stops the check. */
  readonly signal?: AbortSignal;
  /**
   * Keeps the process alive while the check runs. `false` (`unref`) lets an agent exit even
   * though a check is scheduled — the right choice for a check that only reports.
   * @default true
   */
  readonly ref?: boolean;
}

const HEALTH_CHECK_OPTIONS = [
  'probe',
  'interval',
  'timeout',
  'failureThreshold',
  'successThreshold',
  'onChange',
  'signal',
  'ref',
] as const satisfies readonly (keyof HealthCheckOptions)[];

/** The state of a health check. */
export type HealthState = 'unknown' | 'healthy' | 'unhealthy';

/** What a health check knows now. */
export interface HealthStatus {
  readonly state: HealthState;
  readonly consecutiveFailures: number;
  readonly consecutiveSuccesses: number;
  /** Probe runs completed. */
  readonly runs: number;
  /** State changes since the start (the first `unknown` → `healthy` included). */
  readonly transitions: number;
  /** Times `onChange` threw (each was caught; the state change stood). */
  readonly callbackErrors: number;
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
 * **Details:** runs never overlap: the next run starts `interval` after the previous one ended.
 * A run longer than `timeout` is aborted (its signal aborts) and counts as a failure. The state
 * starts `unknown`; `failureThreshold` consecutive failures make it `unhealthy`,
 * `successThreshold` consecutive successes `healthy`.
 *
 * @example
 * ```ts
 * const check = startHealthCheck({
 *   probe: httpProbe('http://127.0.0.1:4318/health'),
 *   interval: 5_000,
 *   onChange: (state) => (state === 'unhealthy' ? outputs.pause() : outputs.resume()),
 * });
 * ```
 *
 * @since 0.1.0
 */
export function startHealthCheck(options: HealthCheckOptions): HealthCheck {
  if (typeof options !== 'object' || options === null) fail('options', 'an object', options);
  optionsObject<HealthCheckOptions>('options', options, HEALTH_CHECK_OPTIONS);
  const probe = optionalFunction<HealthCheckOptions['probe']>('probe', options.probe);
  if (probe === undefined)
    fail('probe', 'a function (httpProbe(url), commandProbe(cmd))', options.probe);
  const intervalMs = duration('interval', options.interval, 10_000);
  const timeoutMs = duration('timeout', options.timeout, 5_000);
  const failureThreshold = positiveInteger('failureThreshold', options.failureThreshold, 3);
  const successThreshold = positiveInteger('successThreshold', options.successThreshold, 1);
  const onChange = optionalFunction<NonNullable<HealthCheckOptions['onChange']>>(
    'onChange',
    options.onChange,
  );
  const signal = optionalSignal('signal', options.signal);
  const ref = options.ref ?? true;
  if (typeof ref !== 'boolean') fail('ref', 'a boolean', ref);

  let state: HealthState = 'unknown';
  let failures = 0;
  let successes = 0;
  let runs = 0;
  let transitions = 0;
  let callbackErrors = 0;
  let lastResult: ProbeResult | undefined;
  let stopped = false;
  let timer: LongTimer | undefined;
  let inFlight: { abort: (reason: Error) => void; done: Promise<void> } | undefined;

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
      transitions += 1;
      try {
        onChange?.(next, previous, result);
      } catch {
        callbackErrors += 1; // a throwing callback costs only itself; the state change stands
      }
    }
  };

  const tick = () => {
    timer = undefined;
    if (stopped) return;
    const controller = new AbortController();
    const started = performance.now();
    // The run ends at the probe's answer. At the deadline its signal aborts; a probe that has
    // not settled ABANDON_AFTER_ABORT_MS later (it ignores its signal, or hangs) is abandoned as a
    // failed run, and the check goes on.
    let cutShort: (detail: string) => void = () => undefined;
    const abandoned = new Promise<ProbeResult>((resolve) => {
      cutShort = (detail) =>
        resolve({ ok: false, detail, durationMs: performance.now() - started });
    });
    let abandonTimer: LongTimer | undefined;
    const abort = (reason: Error) => {
      controller.abort(reason);
      abandonTimer ??= setLongTimeout(
        () => cutShort('timed out (the probe did not stop when aborted)'),
        ABANDON_AFTER_ABORT_MS,
      );
      if (!ref) abandonTimer.unref();
    };
    const deadlineTimer = setLongTimeout(
      () => abort(new Error(`probe timed out after ${timeoutMs} ms`)),
      timeoutMs,
    );
    if (!ref) deadlineTimer.unref();
    const answer = Promise.resolve()
      .then(() => probe(controller.signal))
      .then(
        (value) => asProbeResult(value, started),
        (error: unknown) => ({
          ok: false,
          detail: describeError(error),
          durationMs: performance.now() - started,
        }),
      );
    const done = Promise.race([answer, abandoned]).then((result) => {
      deadlineTimer.clear();
      abandonTimer?.clear();
      inFlight = undefined;
      if (stopped) return;
      record(
        controller.signal.aborted && result.ok
          ? { ...result, ok: false, detail: 'timed out' }
          : result,
      );
      schedule(intervalMs);
    });
    inFlight = { abort, done };
  };

  const schedule = (ms: number) => {
    timer = setLongTimeout(tick, ms);
    if (!ref) timer.unref();
  };

  const stop = async () => {
    stopped = true;
    timer?.clear();
    signal?.removeEventListener('abort', onAbort);
    const running = inFlight;
    running?.abort(new Error('health check stopped'));
    await running?.done;
  };
  // stop() cannot reject: `done` is a race of two promises that never reject, then a handler in
  // which onChange is called inside try/catch. Nothing is left to report here.
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
      transitions,
      callbackErrors,
      lastResult,
    }),
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
