/**
 * The supervisor's closing summary of a crash loop: the rate limit sends a fingerprint's first
 * crash in full and only counts the rest; when the restart loop ends — on its last restart, a
 * termination signal or a clean exit — each count leaves as one small report, so no crash is
 * left unreported.
 */
import { buildReport, type CrashReport, type ReportInput } from '../report.js';
import type { RateLimit } from './rate-limit.js';

/** What every summary of one supervision shares. */
export interface SummaryContext {
  readonly service: string;
  readonly metadata: CrashReport['metadata'];
  /** Restarts made when the loop ended. */
  readonly restarts: number;
  readonly runtime: ReportInput['runtime'];
}

/** One report per fingerprint whose crashes were counted and not yet carried by a report. */
export function crashLoopSummaries(
  rateLimit: RateLimit,
  context: SummaryContext,
  maxReportBytes: number,
): CrashReport[] {
  return rateLimit.uncarried().map(({ fingerprint, suppressed }) =>
    buildReport({
      service: context.service,
      kind: 'exit',
      error: new Error(`crash loop: ${suppressed} more crashes with fingerprint ${fingerprint}`),
      lastRecords: [],
      metadata: context.metadata,
      extra: {
        crashLoop: { fingerprint, suppressed, restarts: context.restarts },
        supervisor: true,
      },
      maxReportBytes,
      runtime: context.runtime,
    }),
  );
}
