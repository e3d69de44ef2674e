/** `installCrashGuard`'s options, checked once and resolved to their defaults. */
import { constants } from 'node:os';
import type { CrashGuardOptions, Metadata } from '../options.js';
import type { Sink } from '../sinks.js';
import { badOption, duration, integer, nested, rejectUnknownKeys } from './validate.js';

const KNOWN_KEYS = [
  'sink',
  'service',
  'metadata',
  'metadataRefreshInterval',
  'flushTimeout',
  'sendTimeout',
  'spoolDir',
  'maxSpooledReports',
  'maxSpoolBytes',
  'ringSize',
  'maxReportBytes',
  'rateLimit',
  'signals',
  'shutdownGrace',
  'onReport',
] as const satisfies readonly (keyof CrashGuardOptions)[];

export interface ResolvedGuardOptions {
  readonly sink: Sink;
  readonly service: string;
  readonly metadata: CrashGuardOptions['metadata'];
  readonly metadataRefreshInterval: number;
  readonly flushTimeout: number;
  readonly sendTimeout: number;
  readonly spoolDir: string | undefined;
  readonly maxSpooledReports: number;
  readonly maxSpoolBytes: number;
  readonly ringSize: number;
  readonly maxReportBytes: number;
  readonly window: number;
  readonly fullReports: number;
  readonly signals: readonly NodeJS.Signals[];
  readonly shutdownGrace: number;
  readonly onReport: CrashGuardOptions['onReport'];
}

/** Signals a listener can catch (SIGKILL and SIGSTOP cannot be). */
const CATCHABLE = Object.keys(constants.signals).filter((s) => s !== 'SIGKILL' && s !== 'SIGSTOP');

/** A list of signal names; `'TERM'` is refused, naming `'SIGTERM'`. */
export function signalList(path: string, value: unknown, fallback: NodeJS.Signals[]) {
  if (value === undefined) return fallback;
  if (!Array.isArray(value)) badOption(path, 'an array of signal names such as SIGTERM', value);
  for (const [i, signal] of (value as unknown[]).entries()) {
    if (typeof signal === 'string' && CATCHABLE.includes(signal)) continue;
    const hint =
      typeof signal === 'string' && CATCHABLE.includes(`SIG${signal.toUpperCase()}`)
        ? ` (did you mean 'SIG${signal.toUpperCase()}'?)`
        : '';
    badOption(
      `${path}[${i}]`,
      `a signal name a listener can catch, such as 'SIGTERM'${hint}`,
      signal,
    );
  }
  return value as NodeJS.Signals[];
}

export function resolveGuardOptions(options: CrashGuardOptions): ResolvedGuardOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options))
    badOption('options', 'an object', options);
  rejectUnknownKeys(options, KNOWN_KEYS, 'options');
  const sink = options.sink as unknown;
  if (
    typeof sink !== 'object' ||
    sink === null ||
    typeof (sink as Sink).send !== 'function' ||
    ((sink as Sink).prepare !== undefined && typeof (sink as Sink).prepare !== 'function')
  )
    badOption('sink', 'a Sink (otlpLogsSink, httpSink, fileSink or { name, send })', sink);
  if (typeof options.service !== 'string' || options.service === '')
    badOption('service', 'a non-empty string', options.service);
  const metadata = options.metadata as unknown;
  if (
    metadata !== undefined &&
    typeof metadata !== 'function' &&
    (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata))
  )
    badOption(
      'metadata',
      'an object of strings, numbers and booleans, or a function returning one',
      metadata,
    );
  if (
    options.spoolDir !== undefined &&
    (typeof options.spoolDir !== 'string' || options.spoolDir === '')
  )
    badOption('spoolDir', 'a folder path', options.spoolDir);
  if (options.onReport !== undefined && typeof options.onReport !== 'function')
    badOption('onReport', 'a function', options.onReport);
  const rateLimit = nested<NonNullable<CrashGuardOptions['rateLimit']>>(
    'rateLimit',
    options.rateLimit,
    ['window', 'fullReports'],
  );
  return {
    sink: sink as Sink,
    service: options.service,
    metadata: options.metadata as Metadata | (() => Metadata) | undefined,
    metadataRefreshInterval: duration(
      'metadataRefreshInterval',
      options.metadataRefreshInterval,
      60_000,
      1_000,
    ),
    flushTimeout: duration('flushTimeout', options.flushTimeout, 2_000),
    sendTimeout: duration('sendTimeout', options.sendTimeout, 10_000),
    spoolDir: options.spoolDir,
    maxSpooledReports: integer('maxSpooledReports', options.maxSpooledReports, 1_000, 1),
    maxSpoolBytes: integer('maxSpoolBytes', options.maxSpoolBytes, 64 * 1_048_576, 1_024),
    ringSize: integer('ringSize', options.ringSize, 50, 1),
    maxReportBytes: integer('maxReportBytes', options.maxReportBytes, 65_536, 1_024),
    window: duration('rateLimit.window', rateLimit.window, 60_000),
    fullReports: integer('rateLimit.fullReports', rateLimit.fullReports, 1, 1),
    signals: signalList('signals', options.signals, ['SIGTERM', 'SIGINT', 'SIGHUP']),
    shutdownGrace: duration('shutdownGrace', options.shutdownGrace, 25_000),
    onReport: options.onReport,
  };
}
