/**
 * The crash report: what leaves the process, whatever the sink. Building one never throws and
 * costs O(maxReportBytes), whatever was thrown and however many records the ring holds.
 *
 * @module
 */
import { createHash, randomUUID } from 'node:crypto';
import { capReport, jsonBytes } from './internal/cap-report.js';
import { clipUtf8, describeError, safeFields, safeRecordJson } from './internal/describe-error.js';

/**
 * How the process was ending: a crash (`uncaughtException`, `unhandledRejection`, `exit` with a
 * non-zero status, `signal` for a child killed by one, `worker`), `shutdown` for a termination
 * signal (SIGTERM, SIGINT, SIGHUP: not a crash), `shutdownTimeout` for a process still running
 * its grace period after one, or `capture` for a non-fatal report.
 */
export type CrashKind =
  | 'uncaughtException'
  | 'unhandledRejection'
  | 'signal'
  | 'shutdown'
  | 'shutdownTimeout'
  | 'exit'
  | 'capture'
  | 'worker';

/** Every {@link CrashKind}. */
export const CRASH_KINDS: readonly CrashKind[] = [
  'uncaughtException',
  'unhandledRejection',
  'signal',
  'shutdown',
  'shutdownTimeout',
  'exit',
  'capture',
  'worker',
];

/** One crash report. Plain JSON: it crosses threads, goes to disk and over the wire as is. */
export interface CrashReport {
  /**
   * A random id, the same in every copy of this report (the crash-time request and the spooled
   * copy sent at the next start): a backend deduplicates on it (OTLP: `log.record.uid`).
   */
  readonly id: string;
  readonly service: string;
  readonly kind: CrashKind;
  /** Milliseconds since the epoch. */
  readonly time: number;
  readonly error:
    { readonly type: string; readonly message: string; readonly stack: string } | undefined;
  /** The signal, for `kind: 'signal'` and `kind: 'shutdown'`. */
  readonly signal?: string;
  /** The exit status (0–255, as the parent sees it), for `kind: 'exit'`. */
  readonly exitCode?: number;
  /**
   * A stable hash of the kind, signal, exit code, error type, message shape and top frames: the
   * same crash, the same print.
   */
  readonly fingerprint: string;
  /** The last records the agent logged (oldest first). */
  readonly lastRecords: readonly unknown[];
  /** Opt-in metadata (service, pod, node, …), resolved before the crash. */
  readonly metadata: Readonly<Record<string, string | number | boolean>>;
  readonly pid: number;
  readonly uptimeMs: number;
  /** Set when fields were cut to respect `maxReportBytes`. */
  readonly truncated: boolean;
  /** Extra fields given to `guard.capture(error, extra)`. */
  readonly extra?: Readonly<Record<string, unknown>>;
  /**
   * The runtime of the process the report is about (OTLP: `process.runtime.name` and
   * `.version`); absent when unknown (a supervised command that is not this Node).
   */
  readonly runtime?: { readonly name: string; readonly version: string };
}

/**
 * A stable fingerprint: the kind, signal and exit code, the error type, its message with numbers
 * blanked out, and the first three stack frames without line/column numbers, hashed. Reports
 * carry it already; use it to group crashes of your own records the same way the rate limit does.
 *
 * @example
 * ```ts run
 * import { fingerprintOf } from '@holdfast/crash-flush';
 *
 * const inUse = (port: number) => ({ type: 'Error', message: `port ${port} in use`, stack: '' });
 * const first = fingerprintOf('uncaughtException', inUse(8080));
 * first === fingerprintOf('uncaughtException', inUse(9090)); // => true
 * ```
 */
export function fingerprintOf(
  kind: CrashKind,
  error: CrashReport['error'],
  signal?: string,
  exitCode?: number,
): string {
  const frames = (error?.stack ?? '')
    .split('\n', 64)
    .filter((line) => line.trimStart().startsWith('at '))
    .slice(0, 3)
    .map((line) => line.replace(/:\d+:\d+\)?$/, ''));
  const basis = [
    kind,
    signal ?? '',
    exitCode === undefined ? '' : String(exitCode),
    error?.type ?? '',
    (error?.message ?? '').slice(0, 1_024).replace(/\d+/g, '#'),
    ...frames,
  ].join('\n');
  return createHash('sha256').update(basis).digest('hex').slice(0, 16);
}

/** This process's runtime, as OpenTelemetry's Node SDK names it. */
const THIS_RUNTIME = { name: 'nodejs', version: process.versions.node };

/** What {@link buildReport} needs: the facts of one death, before redaction and size capping. */
export interface ReportInput {
  readonly service: string;
  readonly kind: CrashKind;
  readonly error?: unknown;
  readonly signal?: string;
  readonly exitCode?: number;
  /** Oldest first. Only the newest that fit in `maxReportBytes` are serialised. */
  readonly lastRecords: readonly unknown[];
  readonly metadata: Readonly<Record<string, string | number | boolean>>;
  readonly extra?: Readonly<Record<string, unknown>>;
  /** The largest report, in UTF-8 bytes of its JSON. */
  readonly maxReportBytes: number;
  /** The process's uptime, when not this process's (the supervisor's child). */
  readonly uptimeMs?: number;
  readonly pid?: number;
  /** The runtime of the process the report is about; this Node by default, `null` for unknown. */
  readonly runtime?: CrashReport['runtime'] | null;
}

/**
 * Builds a report whose JSON fits `maxReportBytes` (UTF-8 bytes): the newest records that fit,
 * then the stack and message cut. Never throws, whatever `error` is. The guard and the supervisor
 * build theirs with it; a custom sink's tests can too.
 *
 * @example
 * ```ts run
 * import { buildReport } from '@holdfast/crash-flush';
 *
 * const report = buildReport({
 *   service: 'log-agent',
 *   kind: 'uncaughtException',
 *   error: new Error('boom'),
 *   lastRecords: [{ msg: 'shipped chunk' }],
 *   metadata: { 'k8s.pod.name': 'log-agent-0' },
 *   maxReportBytes: 65_536,
 * });
 * report.error?.message; // => 'boom'
 * ```
 */
export function buildReport(input: ReportInput): CrashReport {
  const max = input.maxReportBytes;
  const error = describeError(input.error, max);
  const base: CrashReport = {
    id: randomUUID(),
    service: clipUtf8(input.service, 256),
    kind: input.kind,
    time: Date.now(),
    error,
    ...(input.signal === undefined ? {} : { signal: input.signal }),
    ...(input.exitCode === undefined ? {} : { exitCode: input.exitCode }),
    fingerprint: fingerprintOf(input.kind, error, input.signal, input.exitCode),
    lastRecords: [],
    metadata: input.metadata,
    pid: input.pid ?? process.pid,
    uptimeMs: input.uptimeMs ?? Math.round(process.uptime() * 1_000),
    truncated: false,
    ...(input.extra === undefined ? {} : { extra: safeFields(input.extra, max) }),
    ...(input.runtime === null ? {} : { runtime: input.runtime ?? THIS_RUNTIME }),
  };
  // The newest records first, each serialised once, until the room left is used up: building
  // costs O(maxReportBytes), not O(ring size).
  let room = max - jsonBytes(base);
  const records: unknown[] = [];
  let truncated = false;
  for (let i = input.lastRecords.length - 1; i >= 0; i -= 1) {
    const json = safeRecordJson(input.lastRecords[i], max);
    const cost = Buffer.byteLength(json) + 1; // the comma
    if (cost > room) {
      truncated = true;
      break;
    }
    room -= cost;
    records.push(JSON.parse(json) as unknown);
  }
  records.reverse();
  return capReport({ ...base, lastRecords: records, truncated }, max);
}
