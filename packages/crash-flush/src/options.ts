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
   * and then every `metadataRefreshInterval` in the background — never at crash time.
   * @default {}
   */
  readonly metadata?: Metadata | (() => Metadata);
  /**
   * How often a metadata function is read again, in ms: at least 1_000; `Infinity` reads it only
   * at install.
   * @default 60_000
   */
  readonly metadataRefreshInterval?: number;
  /**
   * One crash-time budget, in ms, for everything the guard does while the process dies (below
   * Kubernetes' 30 s grace period, and Docker's 10 s): building the report, the hook, sending.
   * A report not confirmed in time is spooled. Any value up to `Infinity` (wait for the sink).
   * @default 2_000
   */
  readonly flushTimeout?: number;
  /**
   * How long one send of a running process (a capture, a spooled report at start-up) may take,
   * in ms, before it counts as failed (and the report stays or goes to the spool).
   * @default 10_000
   */
  readonly sendTimeout?: number;
  /**
   * Where reports that could not be delivered are written (synchronously, mode 0600), to be sent
   * at the next start (asynchronously, oldest first, a few at a time) and then deleted. An entry
   * that is not a report is moved to `spoolDir/rejected/` with a `.reason` file, and counted.
   * Unset: such reports are lost (and counted).
   */
  readonly spoolDir?: string;
  /**
   * The most reports the spool holds; the oldest are evicted (and counted) to make room.
   * @default 1_000
   */
  readonly maxSpooledReports?: number;
  /**
   * The most bytes the spool's reports hold; the oldest are evicted (and counted) to make room.
   * @default 67_108_864 (64 MiB)
   */
  readonly maxSpoolBytes?: number;
  /**
   * How many of the last `guard.log()` records a report carries.
   * @default 50
   */
  readonly ringSize?: number;
  /**
   * The largest report, in UTF-8 bytes of its JSON (at least 1_024): the oldest records are
   * dropped first, then the stack and the message are cut.
   * @default 65_536
   */
  readonly maxReportBytes?: number;
  /**
   * Crash loops and repeated captures: within `window`, the first `fullReports` reports of a
   * fingerprint are sent in full; later ones only bump a count carried by the next full one.
   * With `spoolDir`, the counts live in `spoolDir/rate-limit.state` and survive restarts, so an
   * agent in a crash loop under Kubernetes (no supervisor) sends one full report per window.
   * @default { window: 60_000, fullReports: 1 }
   */
  readonly rateLimit?: { readonly window?: number; readonly fullReports?: number };
  /**
   * Termination signals. Termination is not a crash: each sends a `shutdown` report (INFO), waits
   * for captures in flight (within `flushTimeout`), then is re-raised so the process dies of
   * it — unless the agent has its own listener for that signal, which then owns the shutdown; a
   * process that then exits non-zero, or is still running `shutdownGrace` later, is reported as
   * that (FATAL).
   * @default ['SIGTERM', 'SIGINT', 'SIGHUP']
   */
  readonly signals?: readonly NodeJS.Signals[];
  /**
   * After a termination signal the agent handles itself, how long it may take to exit, in ms,
   * before a `shutdownTimeout` report is sent (set it below the orchestrator's grace period).
   * @default 25_000
   */
  readonly shutdownGrace?: number;
  /**
   * A last chance to redact or enrich a report before it leaves: edit the report given (a copy)
   * or return the report to send. Synchronous: a promise returned is counted as a hook error and
   * the report is sent as edited so far; a hook that throws, or returns something that is not a
   * report, costs only itself (counted in `stats().hookErrors`): the report is sent as built.
   */
  readonly onReport?: (report: CrashReport) => CrashReport | undefined | void;
}
