/**
 * Probes: one check of a dependency, bounded by the signal it is given.
 *
 * @module
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { performance } from 'node:perf_hooks';
import { describeError, fail, optionalFunction, optionsObject } from './internal/validate.js';
import { parseRunOptions, run, type RunOptions } from './run.js';

/** The outcome of one probe run. */
export interface ProbeResult {
  readonly ok: boolean;
  /** A short reason: `HTTP 503`, `exit code 1`, `timed out`, `ECONNREFUSED`, … */
  readonly detail: string;
  readonly durationMs: number;
}

/** A probe: resolves with a result, never rejects; it must stop when `signal` aborts. */
export type Probe = (signal: AbortSignal) => Promise<ProbeResult>;

/** Options of {@link httpProbe}. */
export interface HttpProbeOptions {
  /** Which statuses mean healthy. @default 200–399 */
  readonly expectStatus?: (status: number) => boolean;
  readonly headers?: Readonly<Record<string, string>>;
  /** @default 'GET' */
  readonly method?: string;
}

/**
 * An HTTP check made in process: no shell, no `wget` or `curl` child that could be orphaned.
 *
 * **When to use:** the health of a local service or backend, in `startHealthCheck`,
 * `waitUntilHealthy` or `holdfast-probe`.
 *
 * @example
 * ```ts
 * const check = startHealthCheck({ probe: httpProbe('http://127.0.0.1:9411/health'), interval: 5_000 });
 * ```
 */
export function httpProbe(url: string | URL, options: HttpProbeOptions = {}): Probe {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    fail('url', 'an absolute http(s) URL', String(url));
  }
  if (target.protocol !== 'http:' && target.protocol !== 'https:')
    fail('url', 'an http: or https: URL', target.href);
  optionsObject<HttpProbeOptions>('options', options, ['expectStatus', 'headers', 'method']);
  const expect =
    optionalFunction<(status: number) => boolean>('expectStatus', options.expectStatus) ??
    ((status: number) => status >= 200 && status < 400);
  if (options.method !== undefined && typeof options.method !== 'string')
    fail('method', 'an HTTP method (string)', options.method);
  const request = target.protocol === 'https:' ? httpsRequest : httpRequest;

  return (signal) =>
    new Promise<ProbeResult>((resolve) => {
      const started = performance.now();
      const done = (ok: boolean, detail: string) =>
        resolve({ ok, detail, durationMs: performance.now() - started });
      if (signal.aborted) return done(false, 'timed out');
      const req = request(
        target,
        { method: options.method ?? 'GET', headers: options.headers, signal, agent: false },
        (res) => {
          res.resume();
          const status = res.statusCode ?? 0;
          done(expect(status), `HTTP ${status}`);
        },
      );
      req.on('error', (error: NodeJS.ErrnoException) =>
        done(false, signal.aborted ? 'timed out' : (error.code ?? error.message)),
      );
      req.end();
    });
}

/**
 * A command check, run through {@link run}: its whole process group is killed when the probe's
 * signal aborts, so a timed-out check leaves nothing behind. Healthy means exit code 0.
 *
 * @example
 * ```ts run
 * const probe = commandProbe('pg_isready', ['-h', '127.0.0.1']);
 * ```
 */
export function commandProbe(
  command: string,
  args: readonly string[] = [],
  options: Omit<RunOptions, 'signal'> = {},
): Probe {
  // Checked now, at creation (a TypeError), not at every run of the probe.
  parseRunOptions(command, args, { killGrace: 1_000, ...options });
  if ('signal' in (options as object))
    fail(
      'signal',
      'absent: the probe is given its signal at each run',
      (options as RunOptions).signal,
    );
  return async (signal) => {
    const started = performance.now();
    try {
      const result = await run(command, args, { killGrace: 1_000, ...options, signal });
      const detail = result.cancelled
        ? 'timed out'
        : result.exitCode !== null
          ? `exit code ${result.exitCode}`
          : `killed by ${result.signal}`;
      return {
        ok: result.exitCode === 0 && !result.cancelled,
        detail,
        durationMs: result.durationMs,
      };
    } catch (error) {
      return { ok: false, detail: describeError(error), durationMs: performance.now() - started };
    }
  };
}
