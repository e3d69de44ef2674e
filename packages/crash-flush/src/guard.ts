/**
 * `installCrashGuard()`: the agent's last telemetry leaves the process however it dies.
 *
 * @module
 */
import {
  appendFileSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { channel } from 'node:diagnostics_channel';
import { join } from 'node:path';
import { isMainThread, parentPort, type Worker } from 'node:worker_threads';
import { CrashFlushError } from './errors.js';
import { SyncSender } from './internal/sync-sender.js';
import type { CrashGuardOptions, Metadata } from './options.js';
import { buildReport, type CrashKind, type CrashReport } from './report.js';
import { RingBuffer } from './ring-buffer.js';
import type { Sink } from './sinks.js';

const KEY = Symbol.for('holdfast.crash-flush.guard');

/**
 * The diagnostics channel a guard publishes on once installed (`{ service }`): how the testing
 * kit's crash trigger knows the agent is ready. Channels are looked up by name, so every copy of
 * the package publishes on the same one; with no subscriber, publishing costs nothing.
 */
export const GUARD_INSTALLED_CHANNEL = 'holdfast:crash-flush:guard-installed';
const installed = channel(GUARD_INSTALLED_CHANNEL);

/** Counters of the guard. */
export interface CrashGuardStats {
  /** Reports confirmed by the sink. */
  readonly sent: number;
  /** Reports written to the spool because the sink did not confirm in time. */
  readonly spooled: number;
  /** Spooled reports delivered at start-up. */
  readonly recovered: number;
  /** Reports reduced to a count by the rate limit. */
  readonly suppressed: number;
  /** Reports that could be neither sent nor spooled (no spoolDir, or a failing disk). */
  readonly lost: number;
}

/** The process-wide guard returned by {@link installCrashGuard}. */
export interface CrashGuard extends AsyncDisposable {
  /** Feeds the ring of last records a crash report carries (an object, or a JSON line). O(1). */
  log(record: unknown): void;
  /** Reports a non-fatal error now (asynchronously), rate-limited by fingerprint. */
  capture(error: unknown, extra?: Readonly<Record<string, unknown>>): void;
  /** Resolves when every capture sent so far has been delivered or spooled. */
  flush(): Promise<void>;
  stats(): CrashGuardStats;
  /**
   * Reports a worker's uncaught error with the worker's name, and delivers the reports of a guard
   * installed inside that worker. Returns a function that stops watching.
   */
  watchWorker(worker: Worker, name?: string): () => void;
  /** Removes every hook, stops the sender thread and releases the singleton. */
  uninstall(): Promise<void>;
}

/** The message a guard inside a worker thread posts to hand a report to the main thread's guard. */
const FORWARDED = '@holdfast/crash-flush:report';

/** Node's `--unhandled-rejections` mode for this process. */
function unhandledRejectionsMode(): string {
  const flags = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  for (const flag of flags) {
    const match = /^--unhandled-rejections=(.+)$/.exec(flag);
    if (match?.[1] !== undefined) return match[1];
  }
  return 'throw';
}

function resolveMetadata(source: CrashGuardOptions['metadata']): Metadata {
  if (source === undefined) return {};
  try {
    const value = typeof source === 'function' ? source() : source;
    return typeof value === 'object' && value !== null ? { ...value } : {};
  } catch {
    return {};
  }
}

/**
 * Installs the process-wide crash guard: the last telemetry of the agent leaves the process on an
 * uncaught exception, an unhandled rejection, a termination signal or `process.exit(n)` — and the
 * process dies exactly as it would have without it.
 *
 * **When to use:** once, at the start of an agent. For what no in-process hook can see (V8 heap
 * exhaustion, native aborts, SIGSEGV, SIGKILL), also run the agent under a supervisor.
 *
 * **Details:** it observes uncaught exceptions through `uncaughtExceptionMonitor` (Node still
 * decides how the process dies), follows Node's `--unhandled-rejections` mode, flushes on
 * termination signals and re-raises them, and reports a non-zero `process.exit(n)` from the
 * `'exit'` event. Crash-time sending is synchronous and bounded by `flushTimeoutMs` in total: a
 * worker thread owns the network while the main thread waits on `Atomics.wait`; a report not
 * confirmed in time is written synchronously to `spoolDir` and sent at the next start. The exit
 * code is never changed. A second install in the same process — even from another copy of the
 * package — throws `ALREADY_INSTALLED`.
 *
 * @example
 * ```ts
 * const guard = installCrashGuard({
 *   service: 'log-agent',
 *   sink: otlpLogsSink({ url: 'http://127.0.0.1:4318/v1/logs' }),
 *   metadata: kubernetesMetadata,
 *   spoolDir: '/var/spool/log-agent',
 * });
 * guard.log({ msg: 'started' });
 * ```
 *
 * @since 0.1.0
 */
export function installCrashGuard(options: CrashGuardOptions): CrashGuard {
  const store = globalThis as Record<symbol, CrashGuard | undefined>;
  if (store[KEY] !== undefined) {
    throw new CrashFlushError(
      'ALREADY_INSTALLED',
      'a crash guard is already installed in this process (perhaps by another copy of @holdfast/crash-flush); call uninstall() first or share the guard',
    );
  }
  if (typeof options !== 'object' || options === null)
    throw new TypeError(`Expected \`options\` to be an object, got \`${String(options)}\``);
  const sink: Sink = options.sink;
  if (typeof sink !== 'object' || sink === null || typeof sink.send !== 'function') {
    throw new TypeError(
      `Expected \`sink\` to be a Sink (otlpLogsSink, httpSink, fileSink or { name, send }), got \`${String(sink)}\``,
    );
  }
  if (typeof options.service !== 'string' || options.service === '') {
    throw new TypeError(
      `Expected \`service\` to be a non-empty string, got \`${String(options.service)}\` (${typeof options.service})`,
    );
  }
  const flushTimeoutMs = options.flushTimeoutMs ?? 2_000;
  if (typeof flushTimeoutMs !== 'number' || !(flushTimeoutMs >= 0))
    throw new TypeError(
      `Expected \`flushTimeoutMs\` to be a number of milliseconds >= 0, got \`${String(flushTimeoutMs)}\``,
    );
  const maxReportBytes = options.maxReportBytes ?? 65_536;
  const windowMs = options.rateLimit?.windowMs ?? 60_000;
  const fullReports = options.rateLimit?.fullReports ?? 1;
  const ring = new RingBuffer<unknown>(options.ringSize ?? 50);
  const signals = options.signals ?? ['SIGTERM', 'SIGINT', 'SIGHUP'];
  const spoolDir = options.spoolDir;
  if (spoolDir !== undefined) mkdirSync(spoolDir, { recursive: true, mode: 0o700 });

  const counts = { sent: 0, spooled: 0, recovered: 0, suppressed: 0, lost: 0 };
  let metadata = resolveMetadata(options.metadata);
  const refresh =
    typeof options.metadata === 'function'
      ? setInterval(
          () => (metadata = resolveMetadata(options.metadata)),
          options.metadataRefreshMs ?? 60_000,
        )
      : undefined;
  refresh?.unref();
  const sender = new SyncSender();
  const pending = new Set<Promise<void>>();
  // Rate-limit state by fingerprint; kept in the spool folder so it survives a crash loop.
  const rateFile = spoolDir === undefined ? undefined : join(spoolDir, RATE_LIMIT_FILE);
  const seen = loadRateState(rateFile);
  const saveRateState = () => {
    if (rateFile === undefined) return;
    try {
      writeFileSync(rateFile, JSON.stringify([...seen]), { mode: 0o600 });
    } catch {
      // A full or read-only disk costs the rate limit, never the report.
    }
  };

  // Crash-time state. `crashStartedAt` starts the one global budget; `reported` makes sure a
  // death is reported once (an uncaught exception also ends in the 'exit' event); `flushing`
  // stops a crash inside the flush from flushing again (no hang, no loop).
  let crashStartedAt: number | undefined;
  let reported = false;
  let flushing = false;

  const lastRecords = () =>
    ring.toArray().map((record) => {
      if (typeof record !== 'string') return record;
      try {
        return JSON.parse(record) as unknown;
      } catch {
        return record;
      }
    });

  const report = (
    kind: CrashKind,
    fields: {
      error?: unknown;
      signal?: string;
      exitCode?: number;
      extra?: Readonly<Record<string, unknown>>;
    },
  ) => {
    const built = buildReport({
      service: options.service,
      kind,
      lastRecords: lastRecords(),
      metadata,
      maxReportBytes,
      ...fields,
    });
    try {
      return options.onReport === undefined ? built : options.onReport(built);
    } catch {
      return built; // a throwing redaction hook must not cost the report
    }
  };

  /** Rate limit by fingerprint: the report to send (with the count it carries), or undefined. */
  const admit = (r: CrashReport): CrashReport | undefined => {
    const now = Date.now();
    const entry = seen.get(r.fingerprint);
    let carried: number;
    if (entry === undefined || now - entry.since > windowMs) {
      carried = entry?.suppressed ?? 0;
      seen.set(r.fingerprint, { since: now, full: 1, suppressed: 0 });
    } else if (entry.full < fullReports) {
      entry.full += 1;
      carried = entry.suppressed;
      entry.suppressed = 0;
    } else {
      entry.suppressed += 1;
      counts.suppressed += 1;
      saveRateState();
      return undefined;
    }
    saveRateState();
    return carried === 0 ? r : { ...r, extra: { ...r.extra, suppressedSinceLast: carried } };
  };

  const spool = (r: CrashReport) => {
    if (spoolDir === undefined) {
      counts.lost += 1;
      return;
    }
    try {
      writeFileSync(
        join(spoolDir, `${r.time}-${process.pid}-${r.fingerprint}.json`),
        JSON.stringify(r),
        { mode: 0o600 },
      );
      counts.spooled += 1;
    } catch {
      counts.lost += 1;
    }
  };

  // Inside a worker thread the report goes to the main thread's guard (see watchWorker): posting
  // is synchronous, and the main thread, which outlives the worker, sends it.
  const forwardToMain = !isMainThread && parentPort !== null;

  /** Delivers a report while the process dies: synchronous, within what is left of the budget. */
  const sendNow = (r: CrashReport) => {
    if (forwardToMain) {
      parentPort?.postMessage({ [FORWARDED]: r });
      counts.sent += 1;
      return;
    }
    crashStartedAt ??= Date.now();
    const left = flushTimeoutMs - (Date.now() - crashStartedAt);
    const delivery = sink.prepare?.(r);
    let delivered = false;
    try {
      if (delivery?.kind === 'http')
        delivered = sender.post(delivery.url, delivery.headers, delivery.body, left);
      else if (delivery?.kind === 'file') {
        appendFileSync(delivery.path, delivery.line, { mode: 0o600 });
        delivered = true;
      }
    } catch {
      delivered = false;
    }
    if (delivered) counts.sent += 1;
    else spool(r); // custom sinks, an unreachable or slow backend: to disk, sent at next start
  };

  const onCrash = (
    kind: CrashKind,
    fields: { error?: unknown; signal?: string; exitCode?: number },
  ) => {
    if (reported || flushing) return;
    flushing = true;
    try {
      reported = true;
      const admitted = admit(report(kind, fields));
      if (admitted !== undefined) sendNow(admitted);
    } catch {
      // Nothing in the guard may change how the process dies.
    } finally {
      flushing = false;
    }
  };

  const onUncaught = (error: unknown, origin: string) =>
    onCrash(origin === 'unhandledRejection' ? 'unhandledRejection' : 'uncaughtException', {
      error,
    });

  // In 'warn' and 'none' modes an unhandled rejection does not end the process: it is reported as
  // a capture. In the other modes ('throw', 'strict', 'warn-with-error-code') adding a listener
  // would change what Node does, so the monitor above sees them instead (origin
  // 'unhandledRejection') or the 'exit' event does.
  const rejectionsMode = unhandledRejectionsMode();
  const onRejection = (reason: unknown) => capture(reason, { unhandledRejection: true });
  const observesRejections = rejectionsMode === 'warn' || rejectionsMode === 'none';

  const onSignal = (signal: NodeJS.Signals) => {
    onCrash('signal', { signal });
    // Re-raise, so that the process dies of the signal — unless the agent listens to it too and
    // owns the shutdown.
    if (process.listenerCount(signal) === 1) {
      process.removeListener(signal, onSignal);
      process.kill(process.pid, signal);
    }
  };

  const onExit = (code: number) => {
    if (code !== 0) onCrash('exit', { exitCode: code });
  };

  process.on('uncaughtExceptionMonitor', onUncaught);
  if (observesRejections) process.on('unhandledRejection', onRejection);
  for (const signal of signals) process.on(signal, onSignal);
  process.on('exit', onExit);

  const capture = (error: unknown, extra?: Readonly<Record<string, unknown>>) => {
    const r = admit(report('capture', { error, ...(extra === undefined ? {} : { extra }) }));
    if (r === undefined) return;
    if (forwardToMain) parentPort?.postMessage({ [FORWARDED]: r });
    else sendLater(r);
  };

  // What a previous run could not send: deliver it now, delete what was delivered.
  if (spoolDir !== undefined) {
    for (const file of readdirSync(spoolDir).filter((name) => name.endsWith('.json'))) {
      const path = join(spoolDir, file);
      let spooled: CrashReport;
      try {
        spooled = JSON.parse(readFileSync(path, 'utf8')) as CrashReport;
      } catch {
        rmSync(path, { force: true }); // a torn write of a dying process: nothing to recover
        continue;
      }
      const sending = sink.send(spooled).then(
        () => {
          counts.recovered += 1;
          rmSync(path, { force: true });
        },
        () => undefined, // stays spooled for the next start
      );
      pending.add(sending);
      void sending.finally(() => pending.delete(sending));
    }
  }

  const uninstall = async () => {
    process.off('uncaughtExceptionMonitor', onUncaught);
    process.off('unhandledRejection', onRejection);
    for (const signal of signals) process.off(signal, onSignal);
    process.off('exit', onExit);
    clearInterval(refresh);
    await Promise.allSettled([...pending]);
    await sender.close();
    if (store[KEY] === guard) store[KEY] = undefined;
  };

  /** Sends while the process runs; spools what the sink refuses. */
  const sendLater = (r: CrashReport) => {
    const sending = sink.send(r).then(
      () => void (counts.sent += 1),
      () => spool(r),
    );
    pending.add(sending);
    void sending.finally(() => pending.delete(sending));
  };

  const watchWorker = (worker: Worker, name = `worker ${worker.threadId}`) => {
    const onError = (error: unknown) =>
      sendLater(report('worker', { error, extra: { worker: name } }));
    const onMessage = (message: unknown) => {
      const forwarded = (message as Record<string, CrashReport> | null)?.[FORWARDED];
      if (forwarded !== undefined)
        sendLater({ ...forwarded, extra: { ...forwarded.extra, worker: name } });
    };
    worker.on('error', onError);
    worker.on('message', onMessage);
    return () => {
      worker.off('error', onError);
      worker.off('message', onMessage);
    };
  };

  const guard: CrashGuard = {
    log: (record) => ring.push(record),
    capture,
    watchWorker,
    flush: async () => {
      await Promise.allSettled([...pending]);
    },
    stats: () => ({ ...counts }),
    uninstall,
    [Symbol.asyncDispose]: uninstall,
  };
  store[KEY] = guard;
  if (installed.hasSubscribers) installed.publish({ service: options.service });
  return guard;
}

/** The rate-limit state file in the spool folder (not `.json`: the spool sender skips it). */
const RATE_LIMIT_FILE = 'rate-limit.state';

type RateState = Map<string, { since: number; full: number; suppressed: number }>;

function loadRateState(path: string | undefined): RateState {
  if (path === undefined) return new Map();
  try {
    const entries = JSON.parse(readFileSync(path, 'utf8')) as [
      string,
      { since: number; full: number; suppressed: number },
    ][];
    return new Map(Array.isArray(entries) ? entries : []);
  } catch {
    return new Map(); // missing or torn: start counting afresh
  }
}
