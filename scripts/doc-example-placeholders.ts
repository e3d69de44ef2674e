/**
 * The names doc examples use without defining them: the reader's own code (`docker`, `logger`,
 * `send`, …) and the staples of a test file (`test`, `expect`, `fc`, `join`, …). The docs test
 * (`test/docs-examples.test.ts`) imports the ones a block uses and does not declare, unless the
 * block is marked `run`: a runnable block must define everything it uses.
 *
 * Declarations only: nothing here exists at run time. Add a name when an example needs one,
 * with the type a reader would expect it to have.
 */
import type { Classification, Inventory, Outcome, BatchResult } from '@holdfast/batch';
import type { ChunkPool, ChunkStorage, PoolRecord } from '@holdfast/chunk-pool';
import type { CrashGuard, Sink, SuperviseOptions } from '@holdfast/crash-flush';
import type { TimerHandle } from '@holdfast/batch';
import type { MeterProvider } from '@opentelemetry/api';

export { expect, test } from 'vitest';
export { default as fc } from 'fast-check';
export { pino } from 'pino';
export { mkdtempSync, rmSync } from 'node:fs';
export { tmpdir } from 'node:os';
export { join } from 'node:path';

// --- Discovery (@holdfast/batch): a Docker-like daemon and what the agent does with it.

/** A container as the daemon lists it. */
export interface Container {
  readonly Id: string;
  readonly State: string;
}

/** What an inspect of a container returns. */
export interface ContainerDetails {
  readonly Id: string;
  readonly Image: string;
  readonly LogPath: string;
}

export declare const docker: {
  list(options?: { all?: boolean }): Promise<Container[]>;
  inspect(id: string, options?: { signal?: AbortSignal }): Promise<ContainerDetails>;
};
export declare const containers: readonly Container[];
export declare const listing: readonly Container[];
export declare const ids: readonly string[];
export declare const endpoints: readonly string[];
/** A `fetchOne` for containers or container ids. */
export declare function inspect(
  container: Container | string,
  context: { signal: AbortSignal },
): Promise<ContainerDetails>;
export declare function parseInspect(raw: unknown): ContainerDetails;
export declare function myClassify(error: unknown): Classification;
export declare function isNotFound(error: unknown): boolean;
export declare const result: BatchResult<Container, ContainerDetails>;
export declare const outcome: Outcome<Container, ContainerDetails>;
export declare const inventory: Inventory<Container, string, ContainerDetails>;
export declare function use(value: unknown): void;
export declare function tail(details: ContainerDetails): void;
export declare function startTailing(details: ContainerDetails): void;
export declare function stopTailing(id: string): void;
export declare function queueForNextRound(container: Container): void;
export declare function disableUntilNextRound(cause: unknown): void;
export declare function walkFiles(root: string): AsyncIterable<string>;
export declare const root: string;
export declare const index: { add(document: unknown): void };
/** A virtual time and timer table, for a hand-written clock. */
export declare const t: number;
export declare const timers: {
  add(callback: () => void, ms: number): TimerHandle;
  remove(handle: TimerHandle): void;
};

// --- Buffering (@holdfast/chunk-pool).

export declare const pool: ChunkPool;
export declare const line: string;
export declare function send(records: readonly PoolRecord[]): Promise<boolean>;
export declare function myStorage(options: { dir: string }): ChunkStorage;
export declare const url: string;
export declare const signal: AbortSignal;
export declare const error: unknown;

// --- Crash reporting (@holdfast/crash-flush).

export declare const guard: CrashGuard;
/** The agent's OpenTelemetry MeterProvider (an SDK one, or the global). */
export declare const meterProvider: MeterProvider;
export declare const sink: Sink;
export declare const options: SuperviseOptions;
export declare const config: { readonly otlpUrl: string };
export declare const producer: {
  send(batch: { topic: string; messages: { value: string }[] }): Promise<unknown>;
};
export declare function startAgent(): void;

// --- Processes and health (@holdfast/reaper).

export declare const outputs: { pause(): void; resume(): void };
export declare function useHttpProbe(): void;

// --- Telemetry the agent exports.

export declare const logger: { info(message: unknown): void; warn(message: unknown): void };
export declare const log: typeof logger;
export declare const metrics: {
  inspectTimeouts: number;
  diskFull: number;
  readonly reaped: { inc(): void };
};
export declare const gauge: { set(value: number): void };
