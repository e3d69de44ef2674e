/**
 * What the agent reports about itself, several times a second, on the control channel: the
 * figures the demo's live display and final report are made of. Every field is the agent's own
 * view, through the packages' public APIs; the demo checks them against what the backends saw.
 */
export interface AgentStats {
  readonly pid: number;
  /** Discovery (`@holdfast/batch`): the last round, merged into the last good state. */
  readonly discovery: {
    readonly rounds: number;
    /** Containers in the listing, and how many of them run. */
    readonly listed: number;
    readonly running: number;
    /** Running containers in the agent's inventory: the ones whose logs it ships. */
    readonly known: number;
    /** Inspects of the last round that failed or timed out (exited containers). */
    readonly failed: number;
    readonly timedOut: number;
    /** Whether a round was ever fatal (it never is: exited containers are optional). */
    readonly fatal: boolean;
  };
  /** The log source: records read and appended to the pool. */
  readonly source: {
    /** Distinct records read so far, across restarts (the checkpoint plus this run's reads). */
    readonly position: number;
    readonly total: number;
    /** Where this run resumed: the last checkpoint, durable in the pool. */
    readonly resumedFrom: number;
    readonly done: boolean;
  };
  /** The chunk pool (`@holdfast/chunk-pool`), from `pool.stats()`. */
  readonly pool: {
    readonly bytesUp: number;
    readonly peakBytesUp: number;
    readonly maxBytesUp: number;
    readonly bytesDown: number;
    readonly recoveredRecords: number;
    readonly pendingRecords: Readonly<Record<string, number>>;
    readonly retries: Readonly<Record<string, number>>;
    readonly dropped: number;
    /** Records each output acked in this run (`stats().outputs[name].delivered.records`). */
    readonly delivered: Readonly<Record<string, number>>;
  };
  /** The agent's OpenTelemetry metrics (Prometheus text format), and what it says it sent. */
  readonly telemetry: {
    readonly metricsUrl: string;
    /** Crash reports this run's guard had confirmed sent (`guard.stats().sent`). */
    readonly crashReportsSent: number;
  };
  /** Health checks (`@holdfast/reaper`) and the reaper's counters. */
  readonly health: {
    readonly backend: string;
    readonly sidecar: string;
    readonly sidecarRuns: number;
    readonly reaped: number;
    readonly zombies: number;
  };
}
