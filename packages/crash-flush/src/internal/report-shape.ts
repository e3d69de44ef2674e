/**
 * Whether a value read back (a spool entry) or returned by `onReport` is a report the sinks can
 * carry: each field of the right type. Says what is wrong, for the reason kept with a rejected
 * spool entry.
 */
import { CRASH_KINDS, type CrashReport } from '../report.js';

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** What is wrong with `value` as a report, or undefined when it is one. */
export function reportProblem(value: unknown): string | undefined {
  if (!isObject(value)) return `not a report object (${value === null ? 'null' : typeof value})`;
  const r = value;
  if (typeof r.service !== 'string' || r.service === '')
    return '`service` is not a non-empty string';
  if (!CRASH_KINDS.includes(r.kind as never)) return '`kind` is not a crash kind';
  if (typeof r.time !== 'number' || !Number.isSafeInteger(r.time) || r.time < 0)
    return '`time` is not an integer of milliseconds since the epoch';
  if (typeof r.fingerprint !== 'string') return '`fingerprint` is not a string';
  if (!Array.isArray(r.lastRecords)) return '`lastRecords` is not an array';
  if (!isObject(r.metadata)) return '`metadata` is not an object';
  for (const v of Object.values(r.metadata))
    if (!['string', 'number', 'boolean'].includes(typeof v))
      return '`metadata` holds a value that is not a string, number or boolean';
  if (typeof r.pid !== 'number') return '`pid` is not a number';
  if (typeof r.uptimeMs !== 'number') return '`uptimeMs` is not a number';
  if (typeof r.truncated !== 'boolean') return '`truncated` is not a boolean';
  if (r.error !== undefined) {
    if (!isObject(r.error)) return '`error` is not an object';
    for (const key of ['type', 'message', 'stack'])
      if (typeof r.error[key] !== 'string') return `\`error.${key}\` is not a string`;
  }
  if (r.signal !== undefined && typeof r.signal !== 'string') return '`signal` is not a string';
  if (r.exitCode !== undefined && !Number.isInteger(r.exitCode))
    return '`exitCode` is not an integer';
  if (r.extra !== undefined && !isObject(r.extra)) return '`extra` is not an object';
  if (r.id !== undefined && typeof r.id !== 'string') return '`id` is not a string';
  if (
    r.runtime !== undefined &&
    !(
      isObject(r.runtime) &&
      typeof r.runtime.name === 'string' &&
      typeof r.runtime.version === 'string'
    )
  )
    return '`runtime` is not `{ name, version }` of strings';
  return undefined;
}

/** A valid report read back; one spooled before reports had ids gets its file name as id. */
export function asReport(value: unknown, fallbackId: string): CrashReport | string {
  const problem = reportProblem(value);
  if (problem !== undefined) return problem;
  const r = value as CrashReport;
  return typeof r.id === 'string' ? r : { ...r, id: fallbackId };
}
