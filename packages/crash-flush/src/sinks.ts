/**
 * Where reports go. A sink says how to deliver a report while the process runs (`send`), and,
 * for crash time, a delivery the guard can carry out synchronously (`prepare`).
 *
 * @module
 */
import { appendFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { badOption, rejectUnknownKeys } from './internal/validate.js';
import type { CrashReport } from './report.js';
import { VERSION } from './version.js';

/** A delivery the guard can carry out while the process is dying: no user code involved. */
export type Delivery =
  | {
      readonly kind: 'http';
      readonly url: string;
      readonly headers: Readonly<Record<string, string>>;
      readonly body: string;
    }
  | { readonly kind: 'file'; readonly path: string; readonly line: string };

/**
 * A sink. Custom sinks implement `send` only: their crash-time reports are written to the spool
 * and sent by `send` at the next start. Built-in sinks also implement `prepare`, which the guard
 * carries out synchronously at crash time (an HTTP POST from a worker thread, or a file append).
 *
 * @example
 * ```ts
 * const kafkaSink: Sink = {
 *   name: 'kafka',
 *   send: async (report) => {
 *     await producer.send({ topic: 'crashes', messages: [{ value: JSON.stringify(report) }] });
 *   },
 * };
 * ```
 */
export interface Sink {
  readonly name: string;
  /** Delivers a report while the process runs normally (captures, the spool at start-up). */
  send(report: CrashReport): Promise<void>;
  /** The synchronous crash-time delivery of a report, if this sink has one. */
  prepare?(report: CrashReport): Delivery;
}

/** Options of the HTTP sinks. */
export interface HttpSinkOptions {
  readonly url: string;
  /** Extra headers (authorisation, tenant). */
  readonly headers?: Readonly<Record<string, string>>;
}

/** How long a running process's POST may take before it counts as failed. */
const POST_TIMEOUT_MS = 10_000;

/**
 * POSTs a delivery; resolves on a 2xx only (a redirect is not a delivery: followed, it would
 * become a bodyless GET that "succeeds"). `node:http`, not `fetch`: no redirects followed, and a
 * fraction of the memory per request (the spool is resent through it at start-up).
 */
function post(delivery: Extract<Delivery, { kind: 'http' }>): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const target = new URL(delivery.url);
    const request = target.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = request(
      target,
      {
        method: 'POST',
        timeout: POST_TIMEOUT_MS,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(delivery.body),
          ...delivery.headers,
        },
      },
      (res) => {
        res.resume();
        res.on('error', reject);
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          if (status >= 200 && status <= 299) resolve();
          else reject(new Error(`${delivery.url} answered ${status}`));
        });
      },
    );
    req.on('timeout', () =>
      req.destroy(new Error(`${delivery.url}: no answer within ${POST_TIMEOUT_MS} ms`)),
    );
    req.on('error', reject);
    req.end(delivery.body);
  });
}

/** A sink that POSTs `encode(report)` as JSON, at crash time from the sender thread. */
function postingSink(
  name: string,
  options: HttpSinkOptions,
  encode: (report: CrashReport) => string,
): Sink {
  if (typeof options !== 'object' || options === null || Array.isArray(options))
    badOption('options', 'an object { url, headers }', options);
  rejectUnknownKeys(options, ['url', 'headers'], 'options');
  const url = checkUrl(options.url);
  // Unset is no extra headers; null is a mistake like any other non-object (as for every option).
  const headers = options.headers === undefined ? {} : options.headers;
  if (typeof headers !== 'object' || headers === null || Array.isArray(headers))
    badOption('headers', 'an object of header names and values', headers);
  const prepare = (report: CrashReport) =>
    ({ kind: 'http', url, headers, body: encode(report) }) as const;
  return { name, prepare, send: (report) => post(prepare(report)) };
}

function checkUrl(url: unknown): string {
  try {
    const parsed = new URL(String(url));
    if (parsed.protocol === 'http:' || parsed.protocol === 'https:') return parsed.href;
  } catch {
    // reported below
  }
  badOption('url', 'an absolute http(s) URL', url);
}

/**
 * A plain JSON POST of the report, as is.
 *
 * @example
 * ```ts
 * installCrashGuard({ service: 'log-agent', sink: httpSink({ url: 'http://collector:8080/crashes' }) });
 * ```
 */
export function httpSink(options: HttpSinkOptions): Sink {
  return postingSink('http', options, (report) => JSON.stringify(report));
}

type OtlpValue =
  { stringValue: string } | { intValue: string } | { boolValue: boolean } | { doubleValue: number };
const value = (v: string | number | boolean): OtlpValue =>
  typeof v === 'string'
    ? { stringValue: v }
    : typeof v === 'boolean'
      ? { boolValue: v }
      : Number.isInteger(v)
        ? { intValue: String(v) }
        : { doubleValue: v };
const attributes = (entries: Record<string, string | number | boolean | undefined>) =>
  Object.entries(entries)
    .filter((entry): entry is [string, string | number | boolean] => entry[1] !== undefined)
    .map(([key, v]) => ({ key, value: value(v) }));

/**
 * The severity a report is logged at: FATAL for a death, ERROR for a capture, INFO for a
 * shutdown (a termination signal is not a crash: nothing a dashboard pages on).
 */
function severityOf(kind: CrashReport['kind']): [number, string] {
  if (kind === 'capture') return [17, 'ERROR'];
  if (kind === 'shutdown') return [9, 'INFO'];
  return [21, 'FATAL'];
}

/**
 * The OTLP/HTTP JSON body (`ExportLogsServiceRequest`) for one report: one log record (FATAL for
 * a death, ERROR for a capture, INFO for a shutdown) with OpenTelemetry's semantic conventions
 * where they exist — `service.name`, `process.pid`, `process.runtime.*` and the metadata
 * (`k8s.*`) on the resource; `exception.type`, `exception.message`, `exception.stacktrace`,
 * `process.exit.code` and `log.record.uid` (the report's id) on the record — and one flat
 * `holdfast.*` attribute per field of our own (docs/crash-flush.md lists them). `otlpLogsSink`
 * sends it; use it for a transport of your own (a queue, a file a collector tails).
 *
 * @example
 * ```ts
 * import { appendFile } from 'node:fs/promises';
 *
 * const customSink: Sink = {
 *   name: 'otlp-file',
 *   send: (report) =>
 *     appendFile('/var/log/crash.otlp.jsonl', `${JSON.stringify(otlpLogsPayload(report))}\n`),
 * };
 * ```
 */
export function otlpLogsPayload(report: CrashReport): unknown {
  const nanos = `${BigInt(Math.trunc(Number(report.time) || 0)) * 1_000_000n}`;
  const [severityNumber, severityText] = severityOf(report.kind);
  return {
    resourceLogs: [
      {
        resource: {
          attributes: attributes({
            'service.name': report.service,
            'process.pid': report.pid,
            'process.runtime.name': report.runtime?.name,
            'process.runtime.version': report.runtime?.version,
            ...report.metadata,
          }),
        },
        scopeLogs: [
          {
            scope: { name: '@holdfast/crash-flush', version: VERSION },
            logRecords: [
              {
                timeUnixNano: nanos,
                observedTimeUnixNano: nanos,
                severityNumber,
                severityText,
                body: {
                  stringValue:
                    report.error === undefined
                      ? `${report.kind}`
                      : `${report.error.type}: ${report.error.message}`,
                },
                attributes: attributes({
                  'log.record.uid': report.id,
                  'exception.type': report.error?.type,
                  'exception.message': report.error?.message,
                  'exception.stacktrace':
                    report.error?.stack === '' ? undefined : report.error?.stack,
                  'process.exit.code': report.exitCode,
                  ...holdfastAttributes(report),
                }),
              },
            ],
          },
        ],
      },
    ],
  };
}

/** `peakMemoryBytes` → `peak_memory_bytes`: attribute names are snake_case, as OTel's are. */
const snake = (key: string) => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** Diagnosis fields the record already carries elsewhere (exit code, signal, uptime, stderr). */
const CARRIED_ELSEWHERE = new Set(['exitCode', 'signal', 'uptimeMs', 'lastStderr']);

/** `extra` flattened: `{ crashLoop: { suppressed: 3 } }` → `holdfast.crash_loop.suppressed`. */
function flatten(
  into: Record<string, string | number | boolean | undefined>,
  prefix: string,
  value: unknown,
  depth: number,
): void {
  if (value === null || value === undefined) return;
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
    into[prefix] = value;
    return;
  }
  if (typeof value !== 'object' || Array.isArray(value) || depth === 0) {
    into[prefix] = JSON.stringify(value);
    return;
  }
  for (const [key, inner] of Object.entries(value))
    flatten(into, `${prefix}.${snake(key)}`, inner, depth - 1);
}

/**
 * Our own fields, one flat attribute each: `holdfast.kind`, `holdfast.fingerprint`,
 * `holdfast.signal`, `holdfast.truncated`, `holdfast.uptime_ms`, `holdfast.last_records` (JSON),
 * the supervisor's exit diagnosis as `holdfast.signature`, `holdfast.oom_killed`,
 * `holdfast.peak_memory_bytes`, `holdfast.peak_memory_source`, `holdfast.restarts` (its stderr
 * tail is `holdfast.last_records`, once), and every other `extra` field flattened under
 * `holdfast.` (`holdfast.supervisor`, `holdfast.crash_loop.suppressed`, `holdfast.worker`, …).
 */
function holdfastAttributes(
  report: CrashReport,
): Record<string, string | number | boolean | undefined> {
  const into: Record<string, string | number | boolean | undefined> = {
    'holdfast.kind': report.kind,
    'holdfast.fingerprint': report.fingerprint,
    'holdfast.signal': report.signal,
    'holdfast.truncated': report.truncated,
    'holdfast.uptime_ms': report.uptimeMs,
    'holdfast.last_records': JSON.stringify(report.lastRecords),
  };
  for (const [key, value] of Object.entries(report.extra ?? {})) {
    if (key === 'diagnosis' && typeof value === 'object' && value !== null) {
      for (const [field, inner] of Object.entries(value))
        if (!CARRIED_ELSEWHERE.has(field)) flatten(into, `holdfast.${snake(field)}`, inner, 2);
    } else flatten(into, `holdfast.${snake(key)}`, value, 3);
  }
  return into;
}

/**
 * OTLP/HTTP JSON logs to any OpenTelemetry collector or backend (`/v1/logs`): vendor-neutral.
 *
 * @example
 * ```ts
 * installCrashGuard({ service: 'log-agent', sink: otlpLogsSink({ url: 'http://otel-collector:4318/v1/logs' }) });
 * ```
 */
export function otlpLogsSink(options: HttpSinkOptions): Sink {
  return postingSink('otlp-logs', options, (report) => JSON.stringify(otlpLogsPayload(report)));
}

/**
 * One JSON line per report appended to a file (a volume, a node-local path a log shipper tails).
 *
 * @example
 * ```ts
 * installCrashGuard({ service: 'log-agent', sink: fileSink('/var/log/agent/crashes.jsonl') });
 * ```
 */
export function fileSink(path: string): Sink {
  if (typeof path !== 'string' || path === '') badOption('path', 'a file path', path);
  const prepare = (report: CrashReport): Delivery => ({
    kind: 'file',
    path,
    line: `${JSON.stringify(report)}\n`,
  });
  return {
    name: 'file',
    prepare,
    send: (report) => appendFile(path, `${JSON.stringify(report)}\n`, { mode: 0o600 }),
  };
}
