/**
 * The crash report: what leaves the process, whatever the sink.
 *
 * @module
 */
import { createHash } from 'node:crypto';

/** How the process was ending, or `capture` for a non-fatal report. */
export type CrashKind =
  'uncaughtException' | 'unhandledRejection' | 'signal' | 'exit' | 'capture' | 'worker';

/** One crash report. Plain JSON: it crosses threads, goes to disk and over the wire as is. */
export interface CrashReport {
  readonly service: string;
  readonly kind: CrashKind;
  /** Milliseconds since the epoch. */
  readonly time: number;
  readonly error:
    { readonly type: string; readonly message: string; readonly stack: string } | undefined;
  /** The signal, for `kind: 'signal'`. */
  readonly signal?: string;
  /** The exit code, for `kind: 'exit'`. */
  readonly exitCode?: number;
  /** A stable hash of the error type, message shape and top frames: the same crash, the same print. */
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
}

function describeError(error: unknown): CrashReport['error'] {
  if (error === undefined) return undefined;
  if (error instanceof Error) {
    return {
      type: error.name,
      message: error.message,
      stack: error.stack ?? `${error.name}: ${error.message}`,
    };
  }
  let text: string;
  try {
    text = typeof error === 'string' ? error : JSON.stringify(error);
  } catch {
    text = String(error);
  }
  return { type: typeof error, message: text, stack: text };
}

/**
 * A stable fingerprint: the error type, its message with numbers blanked out, and the first three
 * stack frames without line/column numbers, hashed. Reports carry it already; use it to group
 * crashes of your own records the same way the rate limit does.
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
): string {
  const frames = (error?.stack ?? '')
    .split('\n')
    .filter((line) => line.trimStart().startsWith('at '))
    .slice(0, 3)
    .map((line) => line.replace(/:\d+:\d+\)?$/, ''));
  const basis = [
    kind,
    signal ?? '',
    error?.type ?? '',
    (error?.message ?? '').replace(/\d+/g, '#'),
    ...frames,
  ].join('\n');
  return createHash('sha256').update(basis).digest('hex').slice(0, 16);
}

/** What {@link buildReport} needs: the facts of one death, before redaction and size capping. */
export interface ReportInput {
  readonly service: string;
  readonly kind: CrashKind;
  readonly error?: unknown;
  readonly signal?: string;
  readonly exitCode?: number;
  readonly lastRecords: readonly unknown[];
  readonly metadata: Readonly<Record<string, string | number | boolean>>;
  readonly extra?: Readonly<Record<string, unknown>>;
  readonly maxReportBytes: number;
}

/**
 * Builds a report whose JSON fits `maxReportBytes`: the oldest records go first, then the stack.
 * The guard and the supervisor build theirs with it; a custom sink's tests can too.
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
  const error = describeError(input.error);
  const base = {
    service: input.service,
    kind: input.kind,
    time: Date.now(),
    error,
    ...(input.signal === undefined ? {} : { signal: input.signal }),
    ...(input.exitCode === undefined ? {} : { exitCode: input.exitCode }),
    fingerprint: fingerprintOf(input.kind, error, input.signal),
    metadata: input.metadata,
    pid: process.pid,
    uptimeMs: Math.round(process.uptime() * 1_000),
    ...(input.extra === undefined ? {} : { extra: input.extra }),
  };
  const records = input.lastRecords.map(safeJson);
  let report: CrashReport = { ...base, lastRecords: records, truncated: false };
  while (
    Buffer.byteLength(JSON.stringify(report)) > input.maxReportBytes &&
    report.lastRecords.length > 0
  ) {
    report = {
      ...report,
      lastRecords: report.lastRecords.slice(Math.ceil(report.lastRecords.length / 2)),
      truncated: true,
    };
  }
  if (
    Buffer.byteLength(JSON.stringify(report)) > input.maxReportBytes &&
    report.error !== undefined
  ) {
    const room = Math.max(256, input.maxReportBytes - 1_024);
    report = {
      ...report,
      lastRecords: [],
      error: {
        ...report.error,
        message: report.error.message.slice(0, room / 2),
        stack: report.error.stack.slice(0, room / 2),
      },
      truncated: true,
    };
  }
  return report;
}

/** A log record as JSON-safe data (a record that cannot be serialised becomes its string form). */
function safeJson(record: unknown): unknown {
  try {
    return JSON.parse(JSON.stringify(record) ?? 'null') as unknown;
  } catch {
    return String(record);
  }
}
