/** Capping a report to its byte budget (after building, and again after the user's hook). */
import type { CrashReport } from '../report.js';
import { clipUtf8 } from './describe-error.js';

export function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value));
}

/**
 * Cuts a report until its JSON holds at most `max` UTF-8 bytes: the oldest records first, then
 * the stack and the message, then `extra` and `metadata`. Never throws on a JSON-safe report.
 */
export function capReport(report: CrashReport, max: number): CrashReport {
  let r = report;
  if (jsonBytes(r) <= max) return r;
  r = { ...r, truncated: true };
  while (r.lastRecords.length > 0 && jsonBytes(r) > max)
    r = { ...r, lastRecords: r.lastRecords.slice(Math.ceil(r.lastRecords.length / 2)) };
  // Cut the stack, then the message, by what the report is over, until it fits.
  for (const field of ['stack', 'message'] as const) {
    for (
      let over = jsonBytes(r) - max;
      over > 0 && r.error !== undefined;
      over = jsonBytes(r) - max
    ) {
      const text = r.error[field];
      if (text === '') break;
      const keep = Math.max(0, Buffer.byteLength(text) - over - 16);
      r = { ...r, error: { ...r.error, [field]: clipUtf8(text, keep) } };
    }
  }
  if (jsonBytes(r) > max && r.extra !== undefined) {
    const { extra: _dropped, ...rest } = r;
    r = rest;
  }
  if (jsonBytes(r) > max) r = { ...r, metadata: {} };
  if (jsonBytes(r) > max && r.error !== undefined)
    r = { ...r, error: { type: clipUtf8(r.error.type, 64), message: '', stack: '' } };
  return r;
}
