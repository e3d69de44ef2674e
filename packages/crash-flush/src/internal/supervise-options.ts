/** `supervise()`'s options, checked at the start (a rejection, never a synchronous throw). */
import type { SuperviseOptions, SuperviseSelfOptions } from '../supervise.js';
import type { Metadata } from '../options.js';
import type { Sink } from '../sinks.js';
import { signalOption } from '@holdfast/internal';
import { signalList } from './guard-options.js';
import { badOption, duration, integer, nested, rejectUnknownKeys } from './validate.js';

const KNOWN_KEYS = [
  'command',
  'args',
  'sink',
  'service',
  'metadata',
  'env',
  'cwd',
  'tee',
  'tailLines',
  'forwardSignals',
  'flushTimeout',
  'spoolDir',
  'restart',
  'rateLimit',
  'signal',
] as const satisfies readonly (keyof SuperviseOptions)[];

export function checkSuperviseOptions(options: SuperviseOptions): void {
  if (typeof options !== 'object' || options === null || Array.isArray(options))
    badOption('options', 'an object', options);
  rejectUnknownKeys(options, KNOWN_KEYS, 'options');
  if (typeof options.command !== 'string' || options.command === '')
    badOption('command', 'a non-empty string', options.command);
  if (
    options.args !== undefined &&
    (!Array.isArray(options.args) || !options.args.every((a) => typeof a === 'string'))
  )
    badOption('args', 'an array of strings', options.args);
  const sink = options.sink as unknown;
  if (typeof sink !== 'object' || sink === null || typeof (sink as Sink).send !== 'function')
    badOption('sink', 'a Sink (otlpLogsSink, httpSink, fileSink or { name, send })', sink);
  if (typeof options.service !== 'string' || options.service === '')
    badOption('service', 'a non-empty string', options.service);
  if (
    options.spoolDir !== undefined &&
    (typeof options.spoolDir !== 'string' || options.spoolDir === '')
  )
    badOption('spoolDir', 'a folder path', options.spoolDir);
  integer('tailLines', options.tailLines, 50, 1);
  const tee = options.tee as unknown;
  if (tee !== undefined && typeof tee !== 'boolean') {
    const streams = nested<{ stdout: unknown; stderr: unknown }>('tee', tee, ['stdout', 'stderr']);
    for (const name of ['stdout', 'stderr'] as const) {
      const stream = streams[name] as { write?: unknown } | undefined;
      if (stream !== undefined && typeof stream?.write !== 'function')
        badOption(`tee.${name}`, 'a writable stream', stream);
    }
  }
  signalList('forwardSignals', options.forwardSignals, []);
  duration('flushTimeout', options.flushTimeout, 5_000);
  const restart = nested<NonNullable<SuperviseOptions['restart']>>('restart', options.restart, [
    'maxRestarts',
    'delay',
  ]);
  if (options.restart !== undefined) integer('restart.maxRestarts', restart.maxRestarts, 0, 0);
  duration('restart.delay', restart.delay, 1_000);
  const rateLimit = nested<NonNullable<SuperviseOptions['rateLimit']>>(
    'rateLimit',
    options.rateLimit,
    ['window'],
  );
  duration('rateLimit.window', rateLimit.window, 60_000);
  signalOption(options.signal, 'signal');
}

const SELF_KEYS = [
  ...KNOWN_KEYS.filter((key) => key !== 'command' && key !== 'args'),
  'marker',
] as const satisfies readonly (keyof SuperviseSelfOptions)[];

/** `superviseSelf()`'s options: those of `supervise()` without the command, and `marker`. */
export function checkSuperviseSelfOptions(options: SuperviseSelfOptions): void {
  if (typeof options !== 'object' || options === null || Array.isArray(options))
    badOption('options', 'an object', options);
  rejectUnknownKeys(options, SELF_KEYS, 'options');
  const { marker, ...rest } = options;
  if (marker !== undefined && (typeof marker !== 'string' || !/^[A-Za-z_]\w*$/.test(marker)))
    badOption('marker', 'the name of an environment variable', marker);
  checkSuperviseOptions({ ...rest, command: process.execPath });
}

/** The metadata, read now; a metadata function that throws (user code) costs only itself. */
export function readMetadata(options: SuperviseOptions): Metadata {
  try {
    return typeof options.metadata === 'function' ? options.metadata() : (options.metadata ?? {});
  } catch {
    return {};
  }
}
