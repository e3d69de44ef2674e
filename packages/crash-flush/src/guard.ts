/**
 * `installCrashGuard()`: the agent's last telemetry leaves the process however it dies.
 *
 * (About 300 lines: the guard is one closure over the state a dying process shares between its
 * hooks; the parts that stand alone live in `internal/`.)
 *
 * @module
 */
import { appendFileSync } from 'node:fs';
import { channel } from 'node:diagnostics_channel';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { isMainThread, parentPort, type Worker } from 'node:worker_threads';
import { CrashFlushError } from './errors.js';
import { applyHook } from './internal/apply-hook.js';
import { resolveGuardOptions } from './internal/guard-options.js';
import { setLongTimeout } from '@holdfast/internal';
import {
  calledFromRejectionProcessing,
  exitStatus,
  GOES_ON_AFTER_REJECTION,
  unhandledRejectionsMode,
} from './internal/node-flags.js';
import { RateLimit } from './internal/rate-limit.js';
import { reportProblem } from './internal/report-shape.js';
import { publishSend } from './internal/send-channel.js';
import { Spool } from './internal/spool.js';
import { SyncSender } from './internal/sync-sender.js';
import { callAsync } from './internal/user-code.js';
import type { CrashGuardOptions, Metadata } from './options.js';
import { buildReport, type CrashKind, type CrashReport } from './report.js';
import { RingBuffer } from './ring-buffer.js';
import type { Delivery } from './sinks.js';

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
  /** Spooled reports removed, oldest first, to keep the spool within its bounds. */
  readonly evicted: number;
  /** Spool files that were not reports: moved to `spoolDir/rejected/` with their reason. */
  readonly rejected: number;
  /** Failures of the user's hooks (`onReport`, a `metadata` function): each cost only itself. */
  readonly hookErrors: number;
  /** Sends and prepares that threw, rejected or timed out. */
  readonly sinkErrors: number;
}

/** The process-wide guard returned by {@link installCrashGuard}. */
export interface CrashGuard extends AsyncDisposable {
  /** Feeds the ring of last records a crash report carries (an object, or a JSON line). O(1). */
  log(record: unknown): void;
  /**
   * Reports a non-fatal error now (asynchronously), rate-limited by fingerprint. Each field of
   * `extra` is sent as the JSON value it serialises to; one that cannot be serialised (a BigInt,
   * a cycle, a getter or `toJSON` that throws) is sent as its text: it never costs the report.
   */
  capture(error: unknown, extra?: Readonly<Record<string, unknown>>): void;
  /** Resolves when every capture sent so far, and the spool sent at start, is delivered or spooled. */
  flush(): Promise<void>;
  stats(): CrashGuardStats;
  /**
   * What `spoolDir` holds now: reports waiting for the next send and their bytes (both 0 without
   * a spool). Reads the folder (one `readdir`), so call it for a gauge, not on a hot path.
   */
  spoolSize(): { readonly reports: number; readonly bytes: number };
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
/** The rate-limit state file in the spool folder (not `.json`: the spool sender skips it). */
const RATE_LIMIT_FILE = 'rate-limit.state';
/** Spooled reports sent at once at start-up. */
const RESEND_CONCURRENCY = 4;

function isDelivery(value: unknown): value is Delivery {
  const d = value as Record<string, unknown> | null | undefined;
  if (typeof d !== 'object' || d === null) return false;
  if (d.kind === 'http') return typeof d.url === 'string' && typeof d.body === 'string';
  return d.kind === 'file' && typeof d.path === 'string' && typeof d.line === 'string';
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
 * decides how the process dies; one the agent's own `uncaughtException` handler takes is sent as
 * a capture), follows Node's `--unhandled-rejections` mode, sends a `shutdown` report on
 * termination signals and re-raises them, and reports a non-zero exit status from the `'exit'`
 * event. Crash-time work is synchronous and bounded by `flushTimeout` in total, building the
 * report included: a worker thread owns the network while the main thread waits on
 * `Atomics.wait`; a report not confirmed in time is written synchronously to `spoolDir` and sent
 * at the next start (asynchronously: the install returns at once). The exit code is never
 * changed. A second install in the same process — even from another copy of the package —
 * throws `ALREADY_INSTALLED`.
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
  const o = resolveGuardOptions(options);
  const { sink } = o;
  const ring = new RingBuffer<unknown>(o.ringSize);
  const counts = {
    sent: 0,
    spooled: 0,
    recovered: 0,
    suppressed: 0,
    lost: 0,
    evicted: 0,
    rejected: 0,
    hookErrors: 0,
    sinkErrors: 0,
  };
  const spool =
    o.spoolDir === undefined
      ? undefined
      : new Spool(
          o.spoolDir,
          { maxReports: o.maxSpooledReports, maxBytes: o.maxSpoolBytes },
          counts,
        );
  const rateLimit = new RateLimit(
    o.window,
    o.fullReports,
    o.spoolDir === undefined ? undefined : join(o.spoolDir, RATE_LIMIT_FILE),
  );
  const hookError = (): void => {
    counts.hookErrors += 1;
  };

  // Metadata is read at install and in the background, never at crash time.
  const readMetadata = (): Metadata => {
    const source = o.metadata;
    if (source === undefined) return {};
    try {
      const value: unknown = typeof source === 'function' ? source() : source;
      const flat: Record<string, string | number | boolean> = {};
      if (typeof value === 'object' && value !== null)
        for (const [key, v] of Object.entries(value))
          if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean')
            flat[key] = v;
      return flat;
    } catch {
      hookError();
      return metadata;
    }
  };
  let metadata: Metadata = {};
  metadata = readMetadata();
  let refresh: { clear(): void } | undefined;
  const scheduleRefresh = () => {
    refresh = setLongTimeout(() => {
      metadata = readMetadata();
      scheduleRefresh();
    }, o.metadataRefreshInterval);
  };
  if (typeof o.metadata === 'function') scheduleRefresh();

  const sender = new SyncSender();
  const pending = new Set<Promise<void>>();
  const track = (p: Promise<void>) => {
    pending.add(p);
    p.then(
      () => pending.delete(p),
      () => pending.delete(p),
    );
  };

  /** A report built, passed through the hook, capped: never throws. */
  const report = (
    kind: CrashKind,
    fields: {
      error?: unknown;
      signal?: string;
      exitCode?: number;
      extra?: Readonly<Record<string, unknown>>;
    },
  ): CrashReport => {
    const built = buildReport({
      service: o.service,
      kind,
      lastRecords: ring.toArray(),
      metadata,
      maxReportBytes: o.maxReportBytes,
      ...fields,
    });
    return applyHook(built, o.onReport, o.maxReportBytes, hookError);
  };

  /** Rate limit by fingerprint: the report to send (with the count it carries), or undefined. */
  const admit = (r: CrashReport): CrashReport | undefined => {
    const verdict = rateLimit.admit(r.fingerprint);
    if (!verdict.pass) {
      counts.suppressed += 1;
      return undefined;
    }
    return verdict.carried === 0
      ? r
      : { ...r, extra: { ...r.extra, suppressedSinceLast: verdict.carried } };
  };

  const spoolOrLose = (r: CrashReport) => {
    if (spool === undefined) counts.lost += 1;
    else spool.write(r);
  };

  // Inside a worker thread the report goes to the main thread's guard (see watchWorker): posting
  // is synchronous, and the main thread, which outlives the worker, sends it.
  const forwardToMain = !isMainThread && parentPort !== null;
  const forward = (r: CrashReport) => {
    try {
      parentPort?.postMessage({ [FORWARDED]: r });
      counts.sent += 1;
    } catch {
      spoolOrLose(r);
    }
  };

  /** Delivers a report while the process dies: synchronous, until `deadline` (performance.now()). */
  const sendNow = (r: CrashReport, deadline: number) => {
    if (forwardToMain) return forward(r);
    let delivery: unknown;
    try {
      delivery = sink.prepare?.(r);
    } catch {
      counts.sinkErrors += 1; // a custom prepare() that throws: the report goes to the spool
    }
    let delivered = false;
    try {
      if (isDelivery(delivery) && delivery.kind === 'http')
        delivered = sender.post(
          delivery.url,
          delivery.headers ?? {},
          delivery.body,
          deadline - performance.now(),
        );
      else if (isDelivery(delivery) && delivery.kind === 'file') {
        appendFileSync(delivery.path, delivery.line, { mode: 0o600 });
        delivered = true;
      }
    } catch {
      delivered = false;
    }
    if (delivered) counts.sent += 1;
    else spoolOrLose(r); // custom sinks, an unreachable or slow backend: sent at next start
  };

  /**
   * Reports `sendLater` is still sending. A death does not wait for them (the process ends with
   * its flush): it spools them — a capture made just before the crash was lost with the process
   * otherwise.
   */
  const inFlight = new Set<CrashReport>();

  /** Sends while the process runs (user code: bounded by sendTimeout); spools what fails. */
  const sendLater = (r: CrashReport) => {
    if (forwardToMain) return forward(r);
    const startedAt = performance.now();
    inFlight.add(r);
    track(
      callAsync(() => sink.send(r), o.sendTimeout).then(
        () => {
          // Already delivered or spooled by a death, if it is no longer in flight.
          if (!inFlight.delete(r)) return;
          counts.sent += 1;
          publishSend(r.kind, 'sent', startedAt);
        },
        () => {
          if (!inFlight.delete(r)) return;
          counts.sinkErrors += 1;
          spoolOrLose(r);
          publishSend(r.kind, 'failed', startedAt);
        },
      ),
    );
  };

  const capture = (error: unknown, extra?: Readonly<Record<string, unknown>>) => {
    try {
      const r = admit(report('capture', { error, ...(extra === undefined ? {} : { extra }) }));
      if (r !== undefined) sendLater(r);
    } catch {
      counts.lost += 1; // nothing above throws on the user's values; a full disk might
    }
  };

  // Crash-time state. `reported` makes sure a death is reported once (an uncaught exception also
  // ends in the 'exit' event); `flushing` stops a crash inside the flush from flushing again (no
  // hang, no loop). A shutdown is not a death: it does not use up `reported`.
  let reported = false;
  let flushing = false;
  /** An error the agent's own `uncaughtException` handler took: a later non-zero exit carries it. */
  let handledError: unknown;

  /** Reports one death within one budget: building, hook, sending, spooling. Never throws. */
  const onCrash = (
    kind: CrashKind,
    fields: { error?: unknown; signal?: string; exitCode?: number },
  ) => {
    const fatal = kind !== 'shutdown';
    if (flushing || (fatal && reported)) return;
    const deadline = performance.now() + o.flushTimeout;
    flushing = true;
    if (fatal) reported = true;
    try {
      const admitted = admit(report(kind, fields));
      if (admitted !== undefined) sendNow(admitted, deadline);
      if (fatal) {
        // What was still being sent goes to the spool (sent at the next start, with its `id`):
        // sending it again now would deliver it twice whenever its send had in fact arrived.
        for (const pending of [...inFlight]) {
          inFlight.delete(pending);
          spoolOrLose(pending);
        }
      }
    } catch {
      // Nothing in the guard may change how the process dies.
    } finally {
      flushing = false;
    }
  };

  const agentHandlesUncaught = () =>
    process.listenerCount('uncaughtException') > 0 || process.hasUncaughtExceptionCaptureCallback();

  /** Reasons Node passed through `'unhandledRejection'`: tells a real one from a module's throw. */
  let lastRejection: { reason: unknown } | undefined;
  const rejectionsMode = unhandledRejectionsMode();

  const onUncaught = (error: unknown, origin: string) => {
    if (agentHandlesUncaught()) {
      // The agent's own handler takes it and the process goes on: a capture, not a death.
      handledError = error;
      capture(error, { handledBy: 'uncaughtException listener', origin });
      return;
    }
    onCrash(isRejection(error, origin) ? 'unhandledRejection' : 'uncaughtException', { error });
  };

  // Node reports a throw (or a rejected top-level await) at the top level of an ES module with
  // origin 'unhandledRejection' (the module's evaluation promise rejected), yet it is an uncaught
  // exception: a real unhandled rejection went through `process.emit('unhandledRejection')`
  // first ('throw' mode), or is wrapped in ERR_UNHANDLED_REJECTION; in 'strict' mode (emit comes
  // after) the monitor is called from Node's rejection processing, which the call stack shows.
  const isRejection = (error: unknown, origin: string) => {
    if (origin !== 'unhandledRejection') return false;
    if (lastRejection !== undefined && lastRejection.reason === error) return true;
    if ((error as { code?: unknown } | null)?.code === 'ERR_UNHANDLED_REJECTION') return true;
    return rejectionsMode === 'strict' && calledFromRejectionProcessing();
  };

  // Watching `process.emit` sees every 'unhandledRejection' without adding a listener, which
  // would change what Node does in every mode (no crash in 'throw', no warning in 'warn', no exit
  // code in 'warn-with-error-code'). In 'warn', 'none' and 'warn-with-error-code' the process
  // goes on: a capture (and with an error code, the exit that follows carries the rejection).
  const originalEmit = process.emit;
  let watchingEmit = true;
  const watchedEmit = function (this: NodeJS.Process, event: string | symbol, ...args: unknown[]) {
    if (watchingEmit && event === 'unhandledRejection') {
      lastRejection = { reason: args[0] };
      const handledByAgent = process.listenerCount('unhandledRejection') > 0;
      if (!handledByAgent && GOES_ON_AFTER_REJECTION.includes(rejectionsMode)) {
        capture(args[0], { unhandledRejection: true });
        // 'warn-with-error-code': the process goes on, and ends with status 1 because of it.
        if (rejectionsMode === 'warn-with-error-code') handledError ??= args[0];
      }
    }
    return (originalEmit as (...a: unknown[]) => boolean).apply(this, [event, ...args]);
  } as typeof process.emit;
  process.emit = watchedEmit;

  let shutdownTimer: { clear(): void } | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    onCrash('shutdown', { signal });
    if (process.listenerCount(signal) > 1) {
      // The agent listens too and owns the shutdown: it must end within the grace period.
      shutdownTimer ??= setLongTimeout(
        () =>
          onCrash('shutdownTimeout', {
            signal,
            error: new Error(`still running ${o.shutdownGrace} ms after ${signal}`),
          }),
        o.shutdownGrace,
      );
      return;
    }
    // Re-raise, so that the process dies of the signal — once captures in flight have left
    // (within the budget): once, whichever of the two comes first.
    let reRaised = false;
    const reRaise = () => {
      if (reRaised) return;
      reRaised = true;
      process.removeListener(signal, onSignal);
      process.kill(process.pid, signal);
    };
    if (pending.size === 0) return reRaise();
    const budget = setLongTimeout(reRaise, o.flushTimeout);
    Promise.allSettled([...pending]).then(() => {
      budget.clear();
      reRaise();
    }, reRaise);
  };

  const onExit = (code: number) => {
    shutdownTimer?.clear();
    const status = exitStatus(code);
    if (status !== 0)
      onCrash('exit', {
        exitCode: status,
        ...(handledError === undefined ? {} : { error: handledError }),
      });
  };
  // First of the 'exit' listeners: from then on, a `process.exit(n)` inside a later listener
  // (which ends the process at once, skipping the rest) is seen too.
  const originalExit = process.exit;
  const onExitStarted = (code: number) => {
    process.exit = ((next?: number | string | null) => {
      onExit(exitStatus(next ?? process.exitCode ?? code));
      return originalExit.call(process, next as number);
    }) as typeof process.exit;
    onExit(code);
  };

  process.on('uncaughtExceptionMonitor', onUncaught);
  for (const signal of o.signals) process.on(signal, onSignal);
  process.prependListener('exit', onExitStarted);

  // What a previous run could not send: delivered now, asynchronously, oldest first, a few at a
  // time (the install returns at once, whatever the spool holds).
  let stopping = false;
  if (spool !== undefined) {
    track(
      spool
        .resend(
          (r) => {
            const startedAt = performance.now();
            return callAsync(() => sink.send(r), o.sendTimeout).then(
              () => publishSend('resend', 'sent', startedAt),
              (error: unknown) => {
                counts.sinkErrors += 1;
                publishSend('resend', 'failed', startedAt);
                throw error;
              },
            );
          },
          {
            concurrency: RESEND_CONCURRENCY,
            maxEntryBytes: Math.max(4 * o.maxReportBytes, 1_048_576),
            stopped: () => stopping,
          },
        )
        .catch(() => undefined), // resend() never rejects; this keeps the promise observed
    );
  }

  const uninstall = async () => {
    stopping = true;
    process.off('uncaughtExceptionMonitor', onUncaught);
    for (const signal of o.signals) process.off(signal, onSignal);
    process.off('exit', onExitStarted);
    watchingEmit = false;
    if (process.emit === watchedEmit) process.emit = originalEmit;
    refresh?.clear();
    shutdownTimer?.clear();
    await Promise.allSettled([...pending]);
    await sender.close();
    if (store[KEY] === guard) store[KEY] = undefined;
  };

  const watchWorker = (worker: Worker, name = `worker ${worker.threadId}`) => {
    const onError = (error: unknown) => {
      const r = admit(report('worker', { error, extra: { worker: name } }));
      if (r !== undefined) sendLater(r);
    };
    const onMessage = (message: unknown) => {
      const forwarded = (message as Record<string, unknown> | null)?.[FORWARDED];
      if (forwarded === undefined || reportProblem(forwarded) !== undefined) return;
      const r = forwarded as CrashReport;
      sendLater({ ...r, extra: { ...r.extra, worker: name } });
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
      while (pending.size > 0) await Promise.allSettled([...pending]);
    },
    stats: () => ({ ...counts }),
    spoolSize: () => spool?.sizeSync() ?? { reports: 0, bytes: 0 },
    uninstall,
    [Symbol.asyncDispose]: uninstall,
  };
  store[KEY] = guard;
  if (installed.hasSubscribers) installed.publish({ service: o.service });
  return guard;
}
