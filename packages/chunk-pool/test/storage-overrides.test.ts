import { describe, expect, test } from 'vitest';
import { ChunkPool, fileStorage, memoryStorage, type ChunkStorage } from '../src/index.js';
import { overrideStorage } from '../src/testing.js';
import { tempDir } from './support.js';

describe('overrideStorage', () => {
  test('keeps every method of the storage, the optional dead-letter ones included, bound to it', async () => {
    const real = fileStorage({ dir: tempDir(), fsync: 'batch' });
    const wrapped = overrideStorage(real);
    expect(wrapped.persistent).toBe(true);
    expect(wrapped.syncEachAppend).toBe(false);
    for (const name of ['deadLetters', 'reviveDeadLetter', 'dropDeadLetter'] as const) {
      expect(typeof wrapped[name], name).toBe('function');
    }
    // Bound: the class's methods run on the real storage, through a pool.
    const pool = await ChunkPool.open({ outputs: ['out'], storage: wrapped });
    await pool.append('app', Buffer.from('one'));
    await pool.flush();
    expect(await pool.deadLetters()).toEqual([]);
    await pool.close();
  });

  test('a storage without the optional methods gets none', () => {
    const wrapped = overrideStorage(memoryStorage());
    expect(wrapped.persistent).toBe(false);
    expect('deadLetters' in wrapped).toBe(false);
    expect('reviveDeadLetter' in wrapped).toBe(false);
  });

  test('the overrides take the place of the storage’s own methods, the rest still delegate', async () => {
    const calls: string[] = [];
    const real: ChunkStorage = fileStorage({ dir: tempDir(), fsync: 'batch' });
    const wrapped = overrideStorage(real, {
      seal: (id) => {
        calls.push(`seal ${id}`);
        return real.seal(id);
      },
    });
    const pool = await ChunkPool.open({ outputs: ['out'], storage: wrapped });
    await pool.append('app', Buffer.from('one'));
    await pool.flush();
    const lease = await pool.take('out');
    expect(calls).toEqual([`seal ${lease.chunk.id}`]);
    await lease.ack();
    await pool.close();
  });
});
