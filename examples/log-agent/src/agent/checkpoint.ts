/**
 * The log source's read positions, one per container log, kept in a small file. It is written
 * only after the pool has acknowledged every record read before it as delivered to every output
 * (`pool.whenSettled`), so after a crash the agent re-reads from a position whose records have
 * all reached the outputs: a crash can cause duplicates, never a gap, even if the pool's files
 * were lost. Written to a temporary file and renamed, so it is never torn.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';

export type Positions = Readonly<Record<string, number>>;

export function readCheckpoint(path: string): Positions {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Positions;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw error;
  }
}

export function writeCheckpoint(path: string, positions: Positions): void {
  writeFileSync(`${path}.tmp`, JSON.stringify(positions), { mode: 0o600 });
  renameSync(`${path}.tmp`, path);
}
