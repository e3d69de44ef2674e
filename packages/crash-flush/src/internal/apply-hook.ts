/**
 * `onReport`, the user's redaction hook, made unable to cost the report: it gets a copy, may
 * edit it in place or return a report; a throw, a promise, or a result that is not a report is
 * counted and the report is sent as built (or as edited in place so far, for a promise). What
 * the hook returns is capped to `maxReportBytes` again: a hook may enlarge a report.
 */
import type { CrashReport } from '../report.js';
import { capReport } from './cap-report.js';
import { reportProblem } from './report-shape.js';
import { isThenable } from './user-code.js';

export function applyHook(
  built: CrashReport,
  hook: ((report: CrashReport) => CrashReport | undefined | void) | undefined,
  maxReportBytes: number,
  onHookError: () => void,
): CrashReport {
  if (hook === undefined) return built;
  const draft = JSON.parse(JSON.stringify(built)) as CrashReport;
  let returned: unknown;
  try {
    returned = hook(draft);
  } catch {
    onHookError();
    return built;
  }
  let candidate: unknown = returned ?? draft;
  if (isThenable(returned)) {
    onHookError();
    // Observed here; the failure (if any) is the hook error just counted.
    Promise.resolve(returned).catch(() => undefined);
    candidate = draft;
  }
  let plain: unknown;
  try {
    plain = JSON.parse(JSON.stringify(candidate)) as unknown;
  } catch {
    onHookError();
    return built;
  }
  if (reportProblem(plain) !== undefined) {
    onHookError();
    return built;
  }
  const result = plain as CrashReport;
  return capReport(
    typeof result.id === 'string' ? result : { ...result, id: built.id },
    maxReportBytes,
  );
}
