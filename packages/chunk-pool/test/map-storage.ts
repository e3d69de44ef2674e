import type { ChunkStorage, RecoveredChunk } from '../src/index.js';

/**
 * A persistent storage in a Map that outlives the pools using it: what a pool stored, a pool
 * opened on the same map recovers (its chunks, the routes still pending, the records). No disk,
 * so the model-based property can restart a persistent pool hundreds of times in a CI second;
 * file storage itself is run through the same property by `checkChunkStorage`.
 */
export function mapStorage(chunks = new Map<string, StoredChunk>()): ChunkStorage {
  return {
    persistent: true,
    syncEachAppend: false,
    open: () => {
      const found: RecoveredChunk[] = [];
      for (const [id, chunk] of chunks) {
        const bytes = chunk.records.reduce((sum, record) => sum + record.length, 0);
        found.push({
          id,
          tag: chunk.tag,
          createdAt: chunk.createdAt,
          routes: chunk.routes,
          recordCount: chunk.records.length,
          bytes,
          doneRoutes: [...chunk.done],
          records: [...chunk.records],
        });
      }
      return Promise.resolve({ chunks: found, quarantined: 0 });
    },
    append: (header, records) => {
      const chunk = chunks.get(header.id);
      if (chunk === undefined) {
        chunks.set(header.id, { ...header, records: [...records], done: new Set() });
      } else chunk.records.push(...records);
      return Promise.resolve();
    },
    seal: () => Promise.resolve(),
    sync: () => Promise.resolve(),
    read: (id) => Promise.resolve([...(chunks.get(id)?.records ?? [])]),
    markRouteDone: (id, output) => {
      chunks.get(id)?.done.add(output);
      return Promise.resolve();
    },
    reroute: () => Promise.reject(new Error('mapStorage does not reroute')),
    delete: (id) => {
      chunks.delete(id);
      return Promise.resolve();
    },
    deadLetter: () => Promise.resolve(),
    quarantine: (id) => {
      chunks.delete(id);
      return Promise.resolve();
    },
    close: () => Promise.resolve(),
  };
}

/** A chunk as {@link mapStorage} keeps it. */
export interface StoredChunk {
  readonly tag: string;
  readonly createdAt: number;
  readonly routes: readonly string[];
  readonly records: Buffer[];
  readonly done: Set<string>;
}
