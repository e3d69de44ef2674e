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
  const headers = options.headers ?? {};
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
 * The OTLP/HTTP JSON body (`ExportLogsServiceRequest`) for one report: one FATAL log record (ERROR
 * for a capture, INFO for a shutdown, `log.record.uid` the report's id) with OpenTelemetry's exception semantic conventions, the metadata as resource
 * attributes, and the last records as one JSON attribute. `otlpLogsSink` sends it; use it for a
 * transport of your own (a queue, a file a collector tails).
 *
 * @example
 * ```ts
 * import { appendFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
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
                  'crash.kind': report.kind,
                  'crash.fingerprint': report.fingerprint,
                  'crash.signal': report.signal,
                  'crash.exit_code': report.exitCode,
                  'crash.truncated': report.truncated,
                  'process.uptime_ms': report.uptimeMs,
                  'exception.type': report.error?.type,
                  'exception.message': report.error?.message,
                  'exception.stacktrace': report.error?.stack,
                  'log.last_records': JSON.stringify(report.lastRecords),
                  ...(report.extra === undefined
                    ? {}
                    : { 'crash.extra': JSON.stringify(report.extra) }),
                }),
              },
            ],
          },
        ],
      },
    ],
  };
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
