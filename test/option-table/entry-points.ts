/**
 * Every entry point of the four packages that takes an options object, by the exported options
 * type it takes: what `test/option-table.test.ts` feeds its bad values to. Each entry point is
 * called with what it requires plus the options under test, as cheaply as it can run (no items,
 * a child that exits at once, a probe that is healthy at once), and whatever it holds is released.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInventory, fetchAll, fetchEach } from '@holdfast/batch';
import { ChunkPool, fileStorage } from '@holdfast/chunk-pool';
import { checkChunkStorage } from '@holdfast/chunk-pool/testing';
import {
  installCrashGuard,
  httpSink,
  otlpLogsSink,
  supervise,
  superviseSelf,
  type Sink,
} from '@holdfast/crash-flush';
import { runCrashScenarios } from '@holdfast/crash-flush/testing';
import {
  commandProbe,
  httpProbe,
  installReaper,
  run,
  startHealthCheck,
  waitUntilHealthy,
} from '@holdfast/reaper';

export type Options = Record<string, unknown>;

export interface EntryPoint {
  readonly name: string;
  /** Returns a promise (so a bad option must reject it, never throw). */
  readonly async: boolean;
  /** Calls the entry point with `options` (the options under test) over what it requires. */
  call(options: Options): unknown;
  /** Releases what a call that succeeded holds, given what it returned (or resolved to). */
  release?(returned: unknown): Promise<void> | void;
}

/** A sink that keeps nothing: no report is sent while the table runs. */
export const nullSink: Sink = { name: 'null', send: async () => undefined };

/** The marker variable `superviseSelf` sees set: it checks its options and returns at once. */
export const SELF_MARKER = 'HOLDFAST_OPTION_TABLE_CHILD';

const noItems: readonly never[] = [];
const neverCalled = async (): Promise<never> => {
  throw new Error('no item, so fetchOne is never called');
};
const healthy = async () => ({ ok: true, detail: 'ok', durationMs: 0 });
const exitAtOnce = [process.execPath, ['-e', '']] as const;
const dispose = async (held: unknown) => (held as AsyncDisposable)[Symbol.asyncDispose]();

/** The entry points that take each exported options type. */
export const ENTRY_POINTS: Readonly<Record<string, readonly EntryPoint[]>> = {
  FetchOptions: [
    { name: 'fetchAll', async: true, call: (o) => fetchAll(noItems, neverCalled, o) },
    {
      // An async iterator, not a promise: its options are checked at the call (a sync throw).
      name: 'fetchEach',
      async: false,
      call: (o) => fetchEach(noItems, neverCalled, o),
      release: async (stream) => {
        for await (const _ of stream as AsyncIterable<unknown>);
      },
    },
  ],
  BatchRetryOptions: [
    { name: 'fetchAll', async: true, call: (o) => fetchAll(noItems, neverCalled, { retry: o }) },
  ],
  RetryOptions: [
    { name: 'fetchAll', async: true, call: (o) => fetchAll(noItems, neverCalled, { retry: o }) },
    {
      name: 'ChunkPool.open',
      async: true,
      call: (o) => ChunkPool.open({ outputs: ['a'], retry: o }),
      release: (pool) => (pool as ChunkPool).close(),
    },
  ],
  BreakerOptions: [
    {
      name: 'fetchAll',
      async: true,
      call: (o) => fetchAll(noItems, neverCalled, { breaker: { failureRatio: 0.5, ...o } }),
    },
  ],
  InventoryOptions: [
    {
      name: 'createInventory',
      async: false,
      call: (o) => createInventory({ key: (item: unknown) => item, ttl: 1_000, ...o }),
    },
  ],
  ChunkPoolOptions: [
    {
      name: 'ChunkPool.open',
      async: true,
      call: (o) => ChunkPool.open({ outputs: ['a'], ...o }),
      release: (pool) => (pool as ChunkPool).close(),
    },
  ],
  OutputOptions: [
    {
      name: 'ChunkPool.open',
      async: true,
      call: (o) => ChunkPool.open({ outputs: [{ name: 'a', ...o }] }),
      release: (pool) => (pool as ChunkPool).close(),
    },
  ],
  FileStorageOptions: [
    {
      name: 'fileStorage',
      async: false,
      call: (o) => fileStorage({ dir: mkdtempSync(join(tmpdir(), 'holdfast-table-')), ...o }),
    },
  ],
  CheckChunkStorageOptions: [
    {
      name: 'checkChunkStorage',
      async: true,
      call: (o) => checkChunkStorage(() => ({ create: () => fileStorageless() }), o),
    },
  ],
  CrashGuardOptions: [
    {
      name: 'installCrashGuard',
      async: false,
      call: (o) => installCrashGuard({ sink: nullSink, service: 'table', ...o }),
      release: dispose,
    },
  ],
  SuperviseOptions: [
    {
      name: 'supervise',
      async: true,
      call: (o) =>
        supervise({
          command: exitAtOnce[0],
          args: [...exitAtOnce[1]],
          sink: nullSink,
          service: 'table',
          ...o,
        }),
    },
  ],
  SuperviseSelfOptions: [
    {
      name: 'superviseSelf',
      async: true,
      call: (o) => superviseSelf({ sink: nullSink, service: 'table', marker: SELF_MARKER, ...o }),
    },
  ],
  CrashScenariosOptions: [
    {
      name: 'runCrashScenarios',
      async: true,
      call: (o) => runCrashScenarios({ entry: 'agent.js', kinds: [], ...o }),
    },
  ],
  HttpSinkOptions: [
    { name: 'httpSink', async: false, call: (o) => httpSink({ url: 'http://127.0.0.1:1/', ...o }) },
    {
      name: 'otlpLogsSink',
      async: false,
      call: (o) => otlpLogsSink({ url: 'http://127.0.0.1:1/', ...o }),
    },
  ],
  RunOptions: [
    { name: 'run', async: true, call: (o) => run(exitAtOnce[0], [...exitAtOnce[1]], o) },
    {
      name: 'commandProbe',
      async: false,
      call: (o) => commandProbe(exitAtOnce[0], [...exitAtOnce[1]], o),
    },
  ],
  WaitOptions: [
    { name: 'waitUntilHealthy', async: true, call: (o) => waitUntilHealthy(healthy, o) },
  ],
  HealthCheckOptions: [
    {
      name: 'startHealthCheck',
      async: false,
      call: (o) => startHealthCheck({ probe: healthy, ref: false, ...o }),
      release: dispose,
    },
  ],
  HttpProbeOptions: [
    { name: 'httpProbe', async: false, call: (o) => httpProbe('http://127.0.0.1:1/', o) },
  ],
  ReaperOptions: [
    { name: 'installReaper', async: false, call: (o) => installReaper(o), release: dispose },
  ],
};

/**
 * Exported options types no user passes to an entry point, each with the reason: the table has
 * nothing to call with them.
 */
export const NOT_ENTRY_OPTIONS: Readonly<Record<string, string>> = {
  GeneratedOptions: 'what checkBatchInvariants generates and hands to the user, not an input',
  RecoveryOptions: 'what the pool passes to a ChunkStorage, not an option a user sets',
  CallOptions: 'only `signal`: no duration, and one key (checked by chunk-pool tests)',
  ReplayOptions:
    'replayDeadLetters: output, ids and into, no number; its unknown keys and bad values are checked in chunk-pool test/dead-letters.test.ts',
};

/** A storage for checkChunkStorage that is never reached: the options are checked first. */
function fileStorageless(): never {
  throw new Error('the table never gets as far as creating a storage');
}
