/**
 * Options of {@link installCrashGuard}.
 *
 * @module
 */
import type { CrashReport } from './report.js';
import type { Sink } from './sinks.js';

/** Metadata values: flat and JSON-safe, chosen key by key (never the whole environment). */
export type Metadata = Readonly<Record<string, string | number | boolean>>;

/** Options of {@link installCrashGuard}. */
export interface CrashGuardOptions {
  /** Where reports go: `otlpLogsSink`, `httpSink`, `fileSink` or your own {@link Sink}. */
  readonly sink: Sink;
  /** The service name every report carries. */
  readonly service: string;
  /**
   * Opt-in metadata (pod, namespace, node, version…): an object, or a function read at install
   * and then every `metadataRefreshMs` in the background — never at crash time.
   * @default {}
   */
  readonly metadata?: Metadata | (() => Metadata);
  /**
   * How often a metadata function is read again, in ms.
   * @default 60_000
   */
  readonly metadataRefreshMs?: number;
  /**
   * One crash-time budget, in ms, for everything the guard does while the process dies (below
   * Kubernetes' 30 s grace period, and Docker's 10 s). A report not confirmed in time is spooled.
   * @default 2_000
   */
  readonly flushTimeoutMs?: number;
  /**
   * Where reports that could not be delivered are written (synchronously, mode 0600), to be sent
   * at the next start and then deleted. Unset: such reports are lost (and counted).
   */
  readonly spoolDir?: string;
  /**
   * How many of the last `guard.log()` records a report carries.
   * @default 50
   */
  readonly ringSize?: number;
  /**
   * The largest report, in bytes of JSON: the oldest records are dropped first, then the stack is cut.
   * @default 65_536
   */
  readonly maxReportBytes?: number;
  /**
   * Crash loops and repeated captures: within `windowMs`, the first `fullReports` reports of a
   * fingerprint are sent in full; later ones only bump a count carried by the next full one.
   * With `spoolDir`, the counts live in `spoolDir/rate-limit.state` and survive restarts, so an
   * agent in a crash loop under Kubernetes (no supervisor) sends one full report per window.
   * @default { windowMs: 60_000, fullReports: 1 }
   */
  readonly rateLimit?: { readonly windowMs?: number; readonly fullReports?: number };
  /**
   * Termination signals to report. Each is flushed, then re-raised so the process dies of it —
   * unless the agent has its own listener for that signal, which then decides.
   * @default ['SIGTERM', 'SIGINT', 'SIGHUP']
   */
  readonly signals?: readonly NodeJS.Signals[];
  /** A last chance to redact or enrich a report before it leaves; return the report to send. */
  readonly onReport?: (report: CrashReport) => CrashReport;
}
