/**
 * The agent's input: it tails the log of every running container and appends each line to the
 * chunk pool. The logs are synthetic and deterministic — line `n` of a container is always the
 * same record, with the id `<container>:<n>` — so the demo can check, id by id, that every line
 * read reached every output.
 *
 * Reading is paced (`linesPerSecond` in all, round-robin over the containers) and paused by the
 * pool's backpressure: `append` resolves when the pool has room. Every `checkpointMs` the source
 * takes its positions and the pool's `nextSequence()`, and once the pool's delivery watermark
 * for the tag passes that number (`pool.whenSettled`: every line before it delivered to both
 * outputs) records the positions ({@link writeCheckpoint}); a restarted agent resumes from there.
 * It checkpoints on delivery, not on durability: at-least-once even if the pool's files were
 * lost, at the cost of reading again (duplicates) what the pool recovered after a crash.
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
  /** Where this run started: the lines the checkpoint said were delivered. */
  readonly resumedFrom: number;
  /** Resolves when every line is read and delivered to every output (and checkpointed). */
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

const TAG = 'container-logs';

export function startLogSource(options: LogSourceOptions): LogSource {
  const { pool, containers, linesPerContainer, signal } = options;
  const positions: Record<string, number> = { ...readCheckpoint(options.checkpointPath) };
  const read = () => containers.reduce((sum, c) => sum + (positions[c.id] ?? 0), 0);
  const resumedFrom = read();
  const total = containers.length * linesPerContainer;
  let finished = false;

  const checkpoint = async () => {
    // Positions and the next sequence number together: every line counted here was accepted
    // with a lower number, so it is delivered once the tag's watermark reaches that number.
    const snapshot = { ...positions };
    await pool.whenSettled(TAG, pool.nextSequence(), { signal });
    writeCheckpoint(options.checkpointPath, snapshot);
  };
  // One checkpoint at a time, so they are written in order; reading goes on meanwhile.
  let checkpointing: Promise<void> | undefined;
  let checkpointFailure: { error: unknown } | undefined;
  const startCheckpoint = () => {
    if (checkpointFailure !== undefined) throw checkpointFailure.error;
    if (checkpointing !== undefined) return;
    checkpointing = checkpoint().then(
      () => {
        checkpointing = undefined;
      },
      (error: unknown) => {
        // Thrown from the read loop at its next checkpoint, which ends `done` with it.
        checkpointFailure = { error };
      },
    );
  };

  /** The next line to read, round-robin: the container at `cursor`, if it has lines left. */
  let cursor = 0;
  const readOne = async (): Promise<boolean> => {
    for (let looked = 0; looked < containers.length; looked += 1) {
      const container = containers[cursor]!;
      cursor = (cursor + 1) % containers.length;
      const seq = positions[container.id] ?? 0;
      if (seq >= linesPerContainer) continue;
      await pool.append(TAG, logLine(container, seq), { signal });
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
        startCheckpoint();
        lastCheckpoint = Date.now();
      }
      await sleep(tickMs, undefined, { signal });
    }
    await checkpointing;
    if (checkpointFailure !== undefined) throw checkpointFailure.error;
    await pool.flush(); // seals the last chunk, so that it is handed out now
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
