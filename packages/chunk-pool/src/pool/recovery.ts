/**
 * Recovery: taking over the backlog a previous run left in storage at open (and, the same way,
 * dead letters replayed into a running pool): each chunk goes to the routes it still had, split
 * first when it is larger than an output's reserve.
 *
 * @module
 */
import { Chunk } from '../chunk.js';
import type { RecoveryReport } from '../events.js';
import { callGuarded } from '../guarded-emit.js';
import { recountHolding } from '../output-quota.js';
import type { OutputState } from '../output-state.js';
import { memoryCost } from '../record-cost.js';
import { splitRecords } from '../recovery-split.js';
import type { RecoveredChunk } from '../storage/storage.js';
import type { PoolCore } from './core.js';
import { storageFailure } from './pool-errors.js';

export class Recovery {
  readonly #pool: PoolCore;
  readonly recovered = { chunks: 0, records: 0 };
  /** Dead letters replayed into this running pool (see replayDeadLetters). */
  readonly replayed = { chunks: 0, records: 0 };
  /** What damaged storage cost, as storage counted it at open. */
  readonly lost = { records: 0, bytes: 0 };

  constructor(pool: PoolCore) {
    this.#pool = pool;
  }

  /**
   * Opens the storage and takes over the backlog: each recovered chunk goes to the routes it
   * still had; its records stay in memory while they fit in `recoveryBytesUp` (charged to the
   * inputs' share), the rest stay down and come up through the outputs' reserves. Then
   * `onRecovered` is told what was found.
   */
  async recover(): Promise<void> {
    const pool = this.#pool;
    const { storage, recoveryBytesUp } = pool.options;
    let scan: Awaited<ReturnType<typeof storage.open>>;
    try {
      scan = await storage.open({ recordBytes: recoveryBytesUp });
    } catch (error) {
      throw storageFailure(error, 'opening the storage failed');
    }
    pool.quarantined += scan.quarantined;
    this.lost.records += scan.lost?.records ?? 0;
    this.lost.bytes += scan.lost?.bytes ?? 0;
    const recoveryBytes = { used: 0 };
    try {
      for (const found of scan.chunks) {
        for (const piece of await this.fitToReserve(found)) this.adopt(piece, recoveryBytes);
      }
    } catch (error) {
      throw storageFailure(error, 'recovering the stored chunks failed');
    }
    const report: RecoveryReport = {
      chunks: this.recovered.chunks,
      records: this.recovered.records,
      quarantined: pool.quarantined,
      lost: { ...this.lost },
      unrouted: pool.unrouted.list(),
    };
    const { onRecovered } = pool.options;
    if (onRecovered !== undefined) {
      callGuarded(
        () => onRecovered(report),
        () => {
          pool.listenerErrors += 1;
        },
      );
    }
  }

  /**
   * The recovered chunk, or, when it is larger than an output's reserve (a smaller `chunkBytes`
   * or `reservePerOutput` than the run that stored it), its records rewritten as new chunks of at
   * most `chunkBytes` (see recovery-split.ts).
   */
  async fitToReserve(found: RecoveredChunk): Promise<RecoveredChunk[]> {
    const pool = this.#pool;
    const { storage, chunkBytes, reservePerOutput } = pool.options;
    const cost = memoryCost(found.bytes, found.recordCount);
    if (cost <= reservePerOutput || found.recordCount === 0) return [found];
    const routes = found.routes.filter((route) => !found.doneRoutes.includes(route));
    if (routes.length === 0) return [found];
    const records = found.records ?? (await storage.read(found.id));
    const pieces: RecoveredChunk[] = [];
    for (const piece of splitRecords(found.id, records, chunkBytes, reservePerOutput)) {
      const header = { id: pool.newChunkId(), tag: found.tag, createdAt: found.createdAt, routes };
      await storage.append(header, piece);
      await storage.seal(header.id);
      let bytes = 0;
      for (const record of piece) bytes += record.length;
      pieces.push({ ...header, recordCount: piece.length, bytes, doneRoutes: [] });
    }
    await storage.sync(); // The pieces are durable before the chunk they replace is gone.
    await storage.delete(found.id);
    return pieces;
  }

  /**
   * Takes over one recovered chunk: it goes to the configured routes it still had; routes that
   * are no longer configured keep it stored (parked when it has no other), listed by
   * `unrouted()`, until `reroute()` or `dropUnrouted()`. Its records stay in memory while they
   * fit in `recoveryBytes` (charged to the inputs' share); the rest stay down and come up
   * through the outputs' reserves.
   */
  adopt(
    found: RecoveredChunk,
    recoveryBytes: { used: number },
    how: 'recovered' | 'replayed' = 'recovered',
  ): void {
    const pool = this.#pool;
    const pending = found.routes.filter((route) => !found.doneRoutes.includes(route));
    const routes = pending.filter((route) => pool.outputs.has(route));
    const unrouted = pending.filter((route) => !pool.outputs.has(route));
    if (pending.length === 0 || found.recordCount === 0) {
      // Nothing left to deliver; a failed deletion only means the next open finds it again.
      pool.options.storage
        .delete(found.id)
        .then(undefined, (error: unknown) =>
          pool.backgroundStorageError(
            new Chunk(found.id, found.tag, found.createdAt, []),
            error,
            'the deletion',
          ),
        );
      return;
    }
    const cost = memoryCost(found.bytes, found.recordCount);
    const comesUp =
      routes.length > 0 &&
      found.records !== undefined &&
      recoveryBytes.used + cost <= pool.options.recoveryBytesUp;
    const chunk = Chunk.fromStorage({
      ...found,
      pending: routes,
      unrouted,
      records: comesUp ? found.records : undefined,
    });
    pool.storedBytes += chunk.bytes;
    const counted = how === 'recovered' ? this.recovered : this.replayed;
    counted.chunks += 1;
    counted.records += chunk.recordCount;
    if (routes.length === 0) {
      pool.unrouted.keepParked(chunk);
      return;
    }
    if (comesUp) {
      recoveryBytes.used += cost;
      chunk.chargeTo(pool.budget.input);
      pool.budget.input.tryCharge(cost);
      pool.budget.input.addChunk();
      pool.inputChunks.add(chunk);
      pool.memory.checkSpillable(chunk);
    }
    pool.chunks.add(chunk);
    if (how === 'recovered') pool.acks.recovered(chunk);
    else pool.acks.replayed(chunk);
    recountHolding(chunk, pool.quotaOf); // a recovered backlog counts against its outputs' limits
    for (const route of routes) (pool.outputs.get(route) as OutputState).queue.add(chunk);
  }
}
