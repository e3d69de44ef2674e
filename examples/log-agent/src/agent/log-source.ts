/**
 * The agent's input: it tails the log of every running container and appends each line to the
 * chunk pool. The logs are synthetic and deterministic — line `n` of a container is always the
 * same record, with the id `<container>:<n>` — so the demo can check, id by id, that every line
 * read reached every output.
 *
 * Reading is paced (`linesPerSecond` in all, round-robin over the containers) and paused by the
 * pool's backpressure: `append` resolves when the pool has room. Every `checkpointMs` the source
 * flushes the pool and then records its positions ({@link writeCheckpoint}); a restarted agent
 * resumes from there.
 */
import type { ChunkPool } from '@holdfast/chunk-pool';
import { setTimeout as sleep } from 'node:timers/promises';
import { readCheckpoint, writeCheckpoint } from './checkpoint.js';

export interface LogSourceOptions {
  readonly pool: ChunkPool;
  /** The containers whose logs are read, in a stable order. */
  readonly containers: readonly { readonly id: string; readonly name: string }[];
  readonly linesPerContainer: number;
  readonly linesPerSecond: number;
  readonly checkpointPath: string;
  readonly checkpointMs?: number;
  readonly signal: AbortSignal;
}

export interface LogSource {
  /** Distinct lines read so far, across restarts. */
  position(): number;
  readonly total: number;
  /** Where this run started: the lines the checkpoint said were durable. */
  readonly resumedFrom: number;
  /** Resolves when every line is read and durable in the pool. */
  readonly done: Promise<void>;
  isDone(): boolean;
}

/** Line `seq` of a container's log, as the JSON a log agent would ship (about 200 bytes). */
export function logLine(container: { id: string; name: string }, seq: number): string {
  return JSON.stringify({
    id: `${container.id.slice(0, 12)}:${seq}`,
    container: container.name,
    seq,
    level: seq % 97 === 0 ? 'warn' : 'info',
    msg: `GET /api/items/${(seq * 7919) % 10_000} 200 ${(seq * 31) % 250}ms`,
    agent: 'holdfast-demo-log-agent',
  });
}

export function startLogSource(options: LogSourceOptions): LogSource {
  const { pool, containers, linesPerContainer, signal } = options;
  const positions: Record<string, number> = { ...readCheckpoint(options.checkpointPath) };
  const read = () => containers.reduce((sum, c) => sum + (positions[c.id] ?? 0), 0);
  const resumedFrom = read();
  const total = containers.length * linesPerContainer;
  let finished = false;

  const checkpoint = async () => {
    // Positions first, then the flush: every line counted here was accepted before the flush
    // began, so it is durable once the flush resolves.
    const snapshot = { ...positions };
    await pool.flush();
    writeCheckpoint(options.checkpointPath, snapshot);
  };

  /** The next line to read, round-robin: the container at `cursor`, if it has lines left. */
  let cursor = 0;
  const readOne = async (): Promise<boolean> => {
    for (let looked = 0; looked < containers.length; looked += 1) {
      const container = containers[cursor]!;
      cursor = (cursor + 1) % containers.length;
      const seq = positions[container.id] ?? 0;
      if (seq >= linesPerContainer) continue;
      await pool.append('container-logs', logLine(container, seq), { signal });
      positions[container.id] = seq + 1;
      return true;
    }
    return false;
  };

  const readAll = async () => {
    const tickMs = 20;
    const perTick = Math.max(1, Math.round((options.linesPerSecond * tickMs) / 1_000));
    let lastCheckpoint = Date.now();
    for (let more = true; more;) {
      for (let n = 0; n < perTick && more; n += 1) more = await readOne();
      if (Date.now() - lastCheckpoint >= (options.checkpointMs ?? 250)) {
        await checkpoint();
        lastCheckpoint = Date.now();
      }
      await sleep(tickMs, undefined, { signal });
    }
    await checkpoint();
    finished = true;
  };

  return {
    position: read,
    total,
    resumedFrom,
    done: readAll(),
    isDone: () => finished,
  };
}
