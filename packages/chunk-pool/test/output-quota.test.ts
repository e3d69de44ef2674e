// Issue #19: per-output quotas and policies. With one pool-wide budget and one pool-wide
// `whenFull`, a dead output's chunks fill the inputs' share (memory storage) or `maxBytesStored`
// (file storage), the inputs block, and every other output stops with them. A best-effort output
// gives up its own oldest backlog instead, counted, and never holds an append back.
import { describe, expect, test } from 'vitest';
import {
  ChunkPool,
  fileStorage,
  memoryStorage,
  type ChunkPoolOptions,
  type ChunkStorage,
  type DroppedEvent,
  type HoldingBackEvent,
  type OutputOptions,
} from '../src/index.js';
import { VirtualClock } from '../src/testing.js';
import { R, names, records, takeAll, tempDir } from './support.js';

// Ten records of 100 bytes a chunk (each costs R bytes of memory: payload and overhead).
const CHUNK = 10 * R;
const base = { chunkBytes: CHUNK, reservePerOutput: CHUNK, chunkAge: Infinity } as const;

interface Run {
  /** Appends that had to wait (the inputs stopped), with who held them back. */
  readonly waits: { readonly at: number; readonly heldBackBy: readonly string[] }[];
  /** The record names `archive` acked, in order. */
  readonly archived: string[];
  readonly stats: ReturnType<ChunkPool['stats']>;
  readonly dropped: DroppedEvent[];
}

/**
 * Appends `count` records under one tag routed to `archive` and `debug`; `debug` never takes
 * anything (dead for the whole run), `archive` takes and acks each chunk as soon as it is sealed.
 * The run stops at the first append that has to wait: with a dead output, a wait never ends.
 */
async function runWithDeadDebug(
  storage: () => ChunkStorage,
  debug: string | OutputOptions,
  budget: Pick<ChunkPoolOptions, 'maxBytesUp' | 'maxBytesStored'>,
  count: number,
): Promise<Run> {
  const clock = new VirtualClock();
  const pool = await ChunkPool.open({
    ...base,
    ...budget,
    outputs: ['archive', debug],
    storage: storage(),
    clock,
  });
  const dropped: DroppedEvent[] = [];
  pool.on('dropped', (event) => dropped.push(event));
  let sealed = 0;
  pool.on('sealed', () => (sealed += 1));
  const waits: Run['waits'] = [];
  const archived: string[] = [];
  let taken = 0;
  let stuck: Promise<unknown> | undefined;
  for (const [at, record] of records(count).entries()) {
    clock.spend(1);
    const appended = pool.append('app', record);
    const now = pool.stats();
    expect(now.bytesUp).toBeLessThanOrEqual(now.maxBytesUp);
    expect(now.stored.bytes).toBeLessThanOrEqual(now.stored.limitBytes);
    if (now.appendsWaiting > 0) {
      waits.push({ at, heldBackBy: now.heldBackBy });
      stuck = appended;
      break;
    }
    expect(await appended).toBe('accepted');
    for (; taken < sealed; taken++) {
      const lease = await pool.take('archive');
      archived.push(...names(lease.chunk.records));
      await lease.ack();
    }
  }
  if (waits.length === 0) {
    await pool.flush();
    archived.push(...(await takeAll(pool, 'archive')));
  }
  const stats = pool.stats();
  pool.removeAllListeners('dropped'); // memory storage drops what is left at close: not counted here
  // A wait for a dead output never ends: close() ends it.
  const ended = stuck?.then(
    () => expect.fail('a wait on a dead output ended before close()'),
    (error: unknown) => expect(error).toMatchObject({ code: 'POOL_CLOSED' }),
  );
  await pool.close();
  await ended;
  return { waits, archived, stats, dropped };
}

const all = (count: number) => records(count).map((_, i) => `r-${i}`);

/** Each returns the storage factory of one test (file storage: in a folder of its own). */
const memory = () => () => memoryStorage();
const files = () => {
  const dir = tempDir();
  return () => fileStorage({ dir, fsync: 'batch' });
};
const filesSyncingEachAppend = () => {
  const dir = tempDir();
  return () => fileStorage({ dir, fsync: 'always' });
};

/** Memory storage: the inputs' share (100R − two reserves = eight chunks) is what a dead output fills. */
const memoryBudget = { maxBytesUp: 100 * R } as const;
/**
 * File storage: chunks go down under memory pressure, so what a dead output fills is
 * `maxBytesStored` (eight chunks of payload); memory is large enough never to be the limit.
 */
const storedBudget = { maxBytesUp: 200 * R, maxBytesStored: 8_000 } as const;

function expectDebugDroppedTheRest(
  run: Run,
  count: number,
  reason: 'drop-oldest' | 'drop-newest' = 'drop-oldest',
) {
  const debug = run.stats.outputs.debug;
  expect(debug?.delivered.records).toBe(0);
  expect(debug?.dropped.records).toBeGreaterThan(count / 2);
  // Every record routed to debug is pending for it or counted as dropped, by reason.
  expect((debug?.dropped.records ?? 0) + (debug?.pendingRecords ?? 0)).toBe(count);
  expect(debug?.droppedByReason[reason]).toEqual(debug?.dropped);
  expect(run.dropped.every((event) => event.reason === reason)).toBe(true);
  expect(run.dropped.every((event) => event.outputs.includes('debug'))).toBe(true);
  expect(run.dropped.every((event) => !event.outputs.includes('archive'))).toBe(true);
  expect(run.stats.outputs.archive?.dropped.records).toBe(0);
}

describe('one best-effort output dead forever: inputs and the other output keep flowing', () => {
  const count = 1_000; // 100 chunks: 25 times what the budget holds

  test('control: with no policy of its own, the dead output holds the inputs back (memory storage)', async () => {
    const run = await runWithDeadDebug(memory(), 'debug', memoryBudget, count);
    expect(run.waits).toEqual([{ at: 80, heldBackBy: ['debug'] }]);
    expect(run.archived.length).toBeLessThan(count);
  });

  test('control: with no policy of its own, the dead output holds the inputs back (file storage)', async () => {
    const run = await runWithDeadDebug(files(), 'debug', storedBudget, count);
    expect(run.waits).toEqual([{ at: 80, heldBackBy: ['debug'] }]);
    expect(run.archived.length).toBeLessThan(count);
  });

  test.each([
    ['memory storage, the pool budget full', memory, memoryBudget, {}],
    ['memory storage, its own maxBytesUp', memory, memoryBudget, { maxBytesUp: 4 * CHUNK }],
    ['memory storage, its own maxBytesStored', memory, memoryBudget, { maxBytesStored: 4_000 }],
    ['file storage, the pool budget full', files, storedBudget, {}],
    ['file storage, its own maxBytesStored', files, storedBudget, { maxBytesStored: 4_000 }],
    ["file storage with fsync 'always'", filesSyncingEachAppend, storedBudget, {}],
  ] as const)('%s: debug drops its oldest, counted', async (_, storage, budget, limits) => {
    const make = storage();
    const debug = { name: 'debug', whenFull: 'drop-oldest', ...limits } as const;
    const run = await runWithDeadDebug(make, debug, budget, count);
    expect(run.waits).toEqual([]);
    expect(run.archived).toEqual(all(count));
    expectDebugDroppedTheRest(run, count);
    const quota = run.stats.outputs.debug?.quota;
    if (quota !== undefined) {
      // What admission counts is what the output holds.
      expect(quota.bytesStored).toBe(run.stats.outputs.debug?.pendingBytes);
      expect(quota.bytesUp).toBe(run.stats.outputs.debug?.bytesUp);
      expect(quota.bytesStored).toBeLessThanOrEqual(quota.maxBytesStored);
    }
  });

  test.each([
    ['memory storage, its own maxBytesStored', memory, memoryBudget, { maxBytesStored: 4_000 }],
    ['memory storage, its own maxBytesUp', memory, memoryBudget, { maxBytesUp: 4 * CHUNK }],
    ['file storage, its own maxBytesStored', files, storedBudget, { maxBytesStored: 4_000 }],
  ] as const)(
    '%s: a drop-newest debug keeps its oldest and drops what comes after, counted',
    async (_, storage, budget, limits) => {
      const make = storage();
      const debug = { name: 'debug', whenFull: 'drop-newest', ...limits } as const;
      const run = await runWithDeadDebug(make, debug, budget, count);
      expect(run.waits).toEqual([]);
      expect(run.archived).toEqual(all(count));
      expectDebugDroppedTheRest(run, count, 'drop-newest');
      const lost = new Set(run.dropped.flatMap((event) => names(event.data ?? [])));
      expect(lost.has('r-0')).toBe(false); // its backlog is the start of the outage
      expect(lost.has(`r-${count - 1}`)).toBe(true);
      expect(lost.size).toBe(run.stats.outputs.debug?.dropped.records);
    },
  );

  test.each([
    ['memory storage', memory, memoryBudget],
    ['file storage', files, storedBudget],
  ] as const)(
    '%s: a drop-newest debug with no limit of its own: the pool budget full, its oldest go',
    async (_, storage, budget) => {
      const make = storage();
      const run = await runWithDeadDebug(
        make,
        { name: 'debug', whenFull: 'drop-newest' },
        budget,
        count,
      );
      expect(run.waits).toEqual([]);
      expect(run.archived).toEqual(all(count));
      expectDebugDroppedTheRest(run, count, 'drop-oldest');
    },
  );

  test('a tag routed to a full drop-newest output alone: its records are dropped, never held', async () => {
    const { pool } = await openMemory(
      ['archive', { name: 'debug', whenFull: 'drop-newest', maxBytesStored: 4_000 }],
      { route: (tag) => (tag === 'verbose' ? ['debug'] : ['archive', 'debug']) },
    );
    for (const record of records(40, 100, 'v')) await pool.append('verbose', record);
    expect(await pool.append('verbose', 'v-40-')).toBe('dropped');
    expect(pool.tryAppend('verbose', 'v-41-')).toBe(false); // refused now: append() says dropped
    expect(await pool.append('app', 'r-0-')).toBe('accepted'); // for archive, not for debug
    const debug = pool.stats().outputs.debug;
    expect(debug?.droppedByReason['drop-newest']).toEqual({ records: 2, bytes: 9 });
    expect(debug?.pendingRecords).toBe(40);
    expect(pool.stats().outputs.archive?.pendingRecords).toBe(1);
    await pool.close();
  });
});

async function openMemory(
  outputs: ChunkPoolOptions['outputs'],
  extra: Partial<ChunkPoolOptions> = {},
) {
  const clock = new VirtualClock();
  const pool = await ChunkPool.open({ ...base, ...memoryBudget, outputs, clock, ...extra });
  return { pool, clock };
}

describe('a critical output holds the inputs back, and says so', () => {
  test("'block' with its own limit: appends wait, stats() and 'holding-back' name it and since when", async () => {
    const { pool, clock } = await openMemory([
      { name: 'archive', whenFull: 'block', maxBytesStored: 4_000 },
      { name: 'debug', whenFull: 'drop-oldest' },
    ]);
    const events: HoldingBackEvent[] = [];
    pool.on('holding-back', (event) => events.push(event));
    for (const record of records(40)) expect(await pool.append('app', record)).toBe('accepted');
    const before = Date.now();
    const blocked = pool.append('app', records(41)[40] as string);
    expect(pool.stats().appendsWaiting).toBe(1);
    expect(pool.stats().heldBackBy).toEqual(['archive']);
    expect(events).toMatchObject([
      { output: 'archive', state: 'started', reason: 'output-full', durationMs: 0 },
    ]);
    expect(events[0]?.startedAt).toBeGreaterThanOrEqual(before);
    await clock.advanceBy(5_000);
    expect(pool.stats().outputs.archive?.holdingBack).toMatchObject({
      reason: 'output-full',
      durationMs: 5_000,
    });
    expect(pool.stats().outputs.debug?.holdingBack).toBeUndefined();
    const lease = await pool.take('archive');
    await lease.ack(); // room for one chunk
    expect(await blocked).toBe('accepted');
    expect(pool.stats().heldBackBy).toEqual([]);
    expect(pool.stats().outputs.archive?.holdingBack).toBeUndefined();
    expect(events[1]).toMatchObject({ output: 'archive', state: 'ended', durationMs: 5_000 });
    await pool.close();
  });

  test('the pool budget full: the outputs that have not taken its oldest chunk are named (pool-full)', async () => {
    const { pool } = await openMemory(['a', 'b']);
    for (const record of records(80)) await pool.append('app', record); // the inputs' share is full
    const blocked = pool.append('app', 'x');
    expect(pool.stats().heldBackBy).toEqual(['a', 'b']); // neither has taken r-0…
    await (await pool.take('b')).ack();
    await pool.close(); // a is dead: the wait ends only with the pool
    await expect(blocked).rejects.toMatchObject({ code: 'POOL_CLOSED' });
  });

  test('one output past the oldest chunk: only the other is named', async () => {
    const { pool } = await openMemory(['a', 'b']);
    const events: HoldingBackEvent[] = [];
    pool.on('holding-back', (event) => events.push(event));
    for (const record of records(80)) {
      await pool.append('app', record);
    }
    await takeAll(pool, 'b'); // b delivered everything: the memory is a's backlog
    const appended: Promise<unknown>[] = [];
    for (const record of records(10, 100, 's')) appended.push(pool.append('app', record));
    expect(pool.stats().heldBackBy).toEqual(['a']);
    expect(pool.stats().outputs.a?.holdingBack).toMatchObject({ reason: 'pool-full' });
    expect(pool.stats().outputs.b?.holdingBack).toBeUndefined();
    const aborted = new AbortController();
    const waiting = pool.append('app', 'y', { signal: aborted.signal });
    await (await pool.take('a')).ack(); // room for the ten
    await Promise.all(appended);
    expect(pool.stats().heldBackBy).toEqual(['a']); // still: the aborted-to-be waits
    aborted.abort();
    await expect(waiting).rejects.toMatchObject({ code: 'ABORTED' });
    expect(pool.stats().heldBackBy).toEqual([]);
    expect(events.map((e) => `${e.output} ${e.state}`)).toEqual(['a started', 'a ended']);
    await pool.close();
  });

  test('a throwing holding-back listener is counted, and the append still waits and resumes', async () => {
    const { pool } = await openMemory([{ name: 'archive', maxBytesStored: 4_000 }]);
    pool.on('holding-back', () => {
      throw new Error('listener');
    });
    for (const record of records(40)) await pool.append('app', record);
    const blocked = pool.append('app', 'x');
    expect(pool.stats().listenerErrors).toBe(1);
    await (await pool.take('archive')).ack();
    expect(await blocked).toBe('accepted');
    expect(pool.stats().listenerErrors).toBe(2);
    await pool.close();
  });
});

describe('drop-oldest details', () => {
  test("the output's oldest chunk leased: the next oldest goes, the lease still acks", async () => {
    const debug = { name: 'debug', whenFull: 'drop-oldest', maxBytesStored: 4_000 } as const;
    const { pool } = await openMemory(['archive', debug]);
    for (const record of records(40)) await pool.append('app', record); // four chunks: debug full
    const held = await pool.take('debug'); // its oldest, leased and not settled meanwhile
    expect(names(held.chunk.records)[0]).toBe('r-0');
    await takeAll(pool, 'archive');
    const dropped: string[] = [];
    pool.on('dropped', (event) => dropped.push(...names(event.data ?? []).slice(0, 1)));
    for (const record of records(30, 100, 's')) await pool.append('app', record);
    expect(dropped).toEqual(['r-10', 'r-20', 'r-30']); // never the leased r-0…
    expect(pool.stats().outputs.debug?.dropped.records).toBe(30);
    await held.ack();
    expect(pool.stats().outputs.debug?.delivered.records).toBe(10);
    await pool.close();
  });

  test('over its limit by what it has leased: admitted anyway, it never holds an append back', async () => {
    const debug = { name: 'debug', whenFull: 'drop-oldest', maxBytesStored: 4_000 } as const;
    const { pool } = await openMemory(['archive', debug]);
    for (const record of records(40)) await pool.append('app', record);
    const held = await Promise.all([1, 2, 3, 4].map(() => pool.take('debug')));
    for (const record of records(10, 100, 's')) {
      expect(await pool.append('app', record)).toBe('accepted');
    }
    expect(pool.stats().appendsWaiting).toBe(0);
    expect(pool.stats().outputs.debug?.quota?.bytesStored).toBe(5_000);
    for (const lease of held) await lease.ack();
    await pool.close();
  });

  test('a chunk routed to debug alone is given up whole; one also routed to archive stays for it', async () => {
    const { pool } = await openMemory(
      ['archive', { name: 'debug', whenFull: 'drop-oldest', maxBytesStored: 4_000 }],
      { route: (tag) => (tag === 'verbose' ? ['debug'] : ['archive', 'debug']) },
    );
    for (const record of records(30, 100, 'v')) await pool.append('verbose', record);
    for (const record of records(10)) await pool.append('app', record); // debug full
    for (const record of records(20, 100, 'w')) await pool.append('verbose', record);
    // v-0… and v-10… went whole: nobody else needed them.
    expect(pool.stats().outputs.debug?.dropped.records).toBe(20);
    expect(pool.stats().stored.bytes).toBe(4_000);
    for (const record of records(20, 100, 'x')) await pool.append('verbose', record);
    // v-20…, then r-0… for debug alone: it stays for archive.
    const stats = pool.stats();
    expect(stats.outputs.debug?.dropped.records).toBe(40);
    expect(stats.outputs.archive?.pendingRecords).toBe(10);
    expect(await takeAll(pool, 'archive')).toEqual(all(10));
    expect(stats.droppedWhenFull.records).toBe(0); // its own limit: counted per output only
    await pool.close();
  });
});

describe('file storage: restarts and changed configurations', () => {
  function openFile(dir: string, outputs: ChunkPoolOptions['outputs']) {
    return ChunkPool.open({
      ...base,
      ...storedBudget,
      maxBytesStored: 10_000,
      outputs,
      storage: fileStorage({ dir, fsync: 'batch' }),
    });
  }

  test('a recovered backlog counts against the limit; the next appends drop the oldest of it', async () => {
    const dir = tempDir();
    const first = await openFile(dir, ['archive', 'debug']);
    for (const record of records(50)) await first.append('app', record);
    await first.flush();
    await takeAll(first, 'archive');
    await first.close(); // debug: five chunks pending, on disk

    const limited = { name: 'debug', whenFull: 'drop-oldest', maxBytesStored: 4_000 } as const;
    const second = await openFile(dir, ['archive', limited]);
    expect(second.stats().outputs.debug?.quota).toMatchObject({ bytesStored: 5_000 });
    expect(await second.append('app', 's-0')).toBe('accepted');
    const debug = second.stats().outputs.debug;
    expect(debug?.droppedByReason['drop-oldest'].records).toBe(20); // r-0 … r-19
    expect(debug?.quota?.bytesStored).toBeLessThanOrEqual(4_000);
    const lease = await second.take('debug');
    expect(names(lease.chunk.records)[0]).toBe('r-20');
    await lease.ack();
    await second.close();
  });

  test('an output renamed: its chunks count against the new one once rerouted to it', async () => {
    const dir = tempDir();
    const first = await openFile(dir, ['old']);
    for (const record of records(50)) await first.append('app', record);
    await first.close();

    const renamed = { name: 'new', whenFull: 'drop-oldest', maxBytesStored: 4_000 } as const;
    const second = await openFile(dir, [renamed]);
    expect(second.stats().outputs.new?.quota?.bytesStored).toBe(0); // unrouted: nobody's yet
    await second.reroute('old', 'new');
    expect(second.stats().outputs.new?.quota?.bytesStored).toBe(5_000);
    await second.append('app', 's-0');
    expect(second.stats().outputs.new?.dropped.records).toBe(20);
    expect(second.stats().outputs.new?.quota?.bytesStored).toBeLessThanOrEqual(4_000);
    await second.close();
  });

  test('its maxBytesUp with file storage: its chunks past it go down once written, nothing dropped', async () => {
    const dir = tempDir();
    const debug = { name: 'debug', whenFull: 'drop-oldest', maxBytesUp: 2 * CHUNK } as const;
    const pool = await openFile(dir, ['archive', debug]);
    for (const record of records(100)) expect(await pool.append('app', record)).toBe('accepted');
    await pool.flush(); // every chunk written
    const stats = pool.stats().outputs.debug;
    expect(stats?.bytesUp).toBeLessThanOrEqual(2 * CHUNK);
    expect(stats?.pendingRecords).toBe(100);
    expect(stats?.dropped.records).toBe(0);
    // Each gets every record (the chunks down come up through its reserve, after those up).
    const sorted = (seen: string[]) => [...seen].sort();
    expect(sorted(await takeAll(pool, 'archive'))).toEqual(sorted(all(100)));
    expect(sorted(await takeAll(pool, 'debug'))).toEqual(sorted(all(100)));
    await pool.close();
  });

  test('an output removed with a limit: its chunks are kept, counted against nobody', async () => {
    const dir = tempDir();
    const first = await openFile(dir, ['archive', { name: 'debug', maxBytesStored: 5_000 }]);
    for (const record of records(30)) await first.append('app', record);
    await first.close();
    const second = await openFile(dir, ['archive']);
    expect(second.stats().unrouted.records).toBe(30);
    expect(second.stats().outputs.archive?.quota).toBeUndefined();
    expect(await takeAll(second, 'archive')).toEqual(all(30));
    await second.close();
  });
});

describe('options', () => {
  const open = (output: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    ChunkPool.open({
      ...base,
      maxBytesUp: 60 * R,
      outputs: [{ name: 'a', ...output } as OutputOptions],
      ...extra,
    });

  test.each([
    [
      { maxBytesUp: 61 * R },
      `outputs[0].maxBytesUp: expected at most the pool's maxBytesUp (${60 * R}), got ${61 * R} (number)`,
    ],
    [
      { maxBytesUp: 0 },
      `outputs[0].maxBytesUp: expected an integer number of bytes ≥ ${CHUNK}, got 0 (number)`,
    ],
    [
      { maxBytesUp: Number.NaN },
      'outputs[0].maxBytesUp: expected an integer number of bytes',
      'NaN (number)',
    ],
    [{ maxBytesUp: '65536' }, 'outputs[0].maxBytesUp: expected', '"65536" (string)'],
    [{ maxBytesUp: Infinity }, 'outputs[0].maxBytesUp: expected', 'Infinity (number)'],
    [{ maxBytesUp: 4000.5 }, 'outputs[0].maxBytesUp: expected', '4000.5 (number)'],
    [{ maxBytesStored: -1 }, 'outputs[0].maxBytesStored: expected', '-1 (number)'],
    [
      { maxBytesStored: 1 },
      `outputs[0].maxBytesStored: expected an integer number of bytes ≥ ${CHUNK} (or Infinity), got 1 (number)`,
    ],
    [
      { whenFull: 'drop' },
      `outputs[0].whenFull: expected 'block', 'drop-oldest' or 'drop-newest', got "drop" (string)`,
    ],
    [{ whenFull: 1 }, 'outputs[0].whenFull: expected', '1 (number)'],
    [{ maxBytesUpp: 5 }, 'outputs[0]: unknown option `maxBytesUpp` (did you mean `maxBytesUp`?)'],
  ] as const)('%o is refused: %s', async (output, ...parts) => {
    const error = await open(output).then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(TypeError);
    for (const part of parts) expect((error as Error).message).toContain(part);
  });

  test("maxBytesStored past a finite pool budget is refused; Infinity only under the pool's Infinity", async () => {
    await expect(open({ maxBytesStored: 10_001 }, { maxBytesStored: 10_000 })).rejects.toThrow(
      "outputs[0].maxBytesStored: expected at most the pool's maxBytesStored (10000), got 10001 (number)",
    );
    await expect(open({ maxBytesStored: Infinity }, { maxBytesStored: 10_000 })).rejects.toThrow(
      'Infinity (number)',
    );
    const pool = await open({ maxBytesStored: Infinity, maxBytesUp: 60 * R });
    expect(pool.stats().outputs.a?.quota).toMatchObject({
      maxBytesStored: Infinity,
      whenFull: 'block',
    });
    await pool.close();
  });

  test('an output with no setting has no quota and no policy of its own', async () => {
    const pool = await open({});
    expect(pool.stats().outputs.a).toMatchObject({
      whenFull: undefined,
      quota: undefined,
      holdingBack: undefined,
    });
    await pool.close();
  });
});
