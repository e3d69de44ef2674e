import { appendFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import {
  ChunkPool,
  dropDeadLetters,
  fileStorage,
  listDeadLetters,
  readDeadLetter,
  replayDeadLetters,
  type ChunkPoolOptions,
} from '../src/index.js';
import { FrameKind, markerFrame } from '../src/storage/segment-format.js';
import { parseArgs, UsageError } from '../src/cli/chunks-args.js';
import { R, names, records, tempDir, takeAll } from './support.js';

const OUTPUTS = ['archive', 'debug'];

function openFile(dir: string, options: Partial<ChunkPoolOptions> = {}) {
  return ChunkPool.open({
    outputs: OUTPUTS,
    route: () => ['archive'],
    // Ten records of 100 bytes a chunk (each costs R bytes of memory: payload and overhead).
    chunkBytes: 10 * R,
    maxBytesUp: 80 * R,
    reservePerOutput: 10 * R,
    retry: { maxAttempts: 1 },
    breakerThreshold: 1_000_000, // every chunk fails once: the breaker must not pause the output
    storage: fileStorage({ dir, fsync: 'batch' }),
    ...options,
  });
}

/** Stores `count` records (10 per chunk) and has `archive` give up every chunk: dead letters. */
async function deadLetters(dir: string, count: number, prefix = 'r'): Promise<void> {
  const pool = await openFile(dir);
  for (const record of records(count, 100, prefix)) await pool.append('app', record);
  await pool.flush();
  while ((pool.stats().outputs.archive?.pendingChunks ?? 0) > 0) {
    await (await pool.take('archive')).retry();
  }
  expect(pool.stats().outputs.archive?.deadLettered.records).toBe(count);
  await pool.close();
}

const named = (count: number, prefix = 'r') =>
  records(count, 100, prefix).map((_, i) => `${prefix}-${i}`);

describe('dead letters can be listed and read', () => {
  test('each is listed with its output, records, bytes, reason and times; its records read back', async () => {
    const dir = tempDir();
    const before = Date.now();
    await deadLetters(dir, 30);
    const letters = await listDeadLetters(dir);
    expect(letters).toHaveLength(3);
    for (const letter of letters) {
      expect(letter).toMatchObject({
        output: 'archive',
        tag: 'app',
        recordCount: 10,
        bytes: 1000,
        reason: 'failed 1 attempts',
        route: 'archive',
        damage: undefined,
      });
      expect(letter.createdAt).toBeGreaterThanOrEqual(before);
      expect(letter.deadLetteredAt).toBeGreaterThanOrEqual(letter.createdAt - 1);
    }
    const read = await Promise.all(letters.map((l) => readDeadLetter(dir, 'archive', l.id)));
    expect(read.flatMap(({ records: data }) => names(data)).sort()).toEqual(named(30).sort());
    expect(await listDeadLetters(dir, { output: 'debug' })).toEqual([]);
    expect(await listDeadLetters(dir, { ids: [letters[1]!.id] })).toEqual([letters[1]]);
  });

  test('a missing dead letter, a missing folder and bad arguments are clear errors', async () => {
    const dir = tempDir();
    await deadLetters(dir, 10);
    await expect(readDeadLetter(dir, 'archive', 'nope')).rejects.toMatchObject({
      code: 'UNKNOWN_DEAD_LETTER',
    });
    await expect(listDeadLetters(dir, { ids: ['nope'] })).rejects.toMatchObject({
      code: 'UNKNOWN_DEAD_LETTER',
      message: expect.stringContaining('nope') as string,
    });
    await expect(listDeadLetters(join(dir, 'gone'))).rejects.toMatchObject({
      code: 'STORAGE_ERROR',
    });
    await expect(replayDeadLetters(join(dir, 'gone'))).rejects.toMatchObject({
      code: 'STORAGE_ERROR',
    });
    expect(existsSync(join(dir, 'gone'))).toBe(false);
    await expect(listDeadLetters('')).rejects.toThrow(TypeError);
    await expect(replayDeadLetters(dir, { into: 'debug', intoo: 'x' } as never)).rejects.toThrow(
      /unknown option `intoo`/,
    );
    await expect(dropDeadLetters(dir, { ids: 'abc' } as never)).rejects.toThrow(
      /ids must be an array of chunk ids, got "abc" \(string\)/,
    );
    await expect(replayDeadLetters(dir, { into: '../etc' })).rejects.toMatchObject({
      code: 'INVALID_OPTION',
    });
    // A name that is not a string is a TypeError naming it, not tested as its string form.
    await expect(replayDeadLetters(dir, { into: ['debug'] } as never)).rejects.toThrow(
      'into: expected a string, got an array of 1',
    );
    await expect(listDeadLetters(dir, { output: 7 } as never)).rejects.toThrow(TypeError);
    await expect(dropDeadLetters(dir, { ids: [12] } as never)).rejects.toThrow(
      /ids must be an array of chunk ids/,
    );
    expect(await listDeadLetters(dir)).toHaveLength(1); // nothing was moved or dropped
  });
});

describe('replay puts dead letters back through the pool', () => {
  test('the next pool delivers every replayed record once, to the output named', async () => {
    const dir = tempDir();
    await deadLetters(dir, 30);
    expect(await replayDeadLetters(dir, { output: 'archive', into: 'debug' })).toEqual({
      chunks: 3,
      records: 30,
      bytes: 3000,
      damaged: [],
    });
    expect(await listDeadLetters(dir)).toEqual([]);
    const pool = await openFile(dir);
    expect(pool.stats().outputs.archive?.pendingChunks).toBe(0);
    expect(await takeAll(pool, 'debug')).toEqual(named(30));
    await pool.close();
    const again = await openFile(dir);
    expect(again.stats().outputs.debug?.pendingChunks).toBe(0); // delivered, not replayed twice
    await again.close();
  });

  test('some ids only; an unknown id moves nothing', async () => {
    const dir = tempDir();
    await deadLetters(dir, 30);
    const [first, second] = await listDeadLetters(dir);
    await expect(replayDeadLetters(dir, { ids: [first!.id, 'nope'] })).rejects.toMatchObject({
      code: 'UNKNOWN_DEAD_LETTER',
    });
    expect(await listDeadLetters(dir)).toHaveLength(3);
    expect(await replayDeadLetters(dir, { ids: [first!.id, second!.id] })).toMatchObject({
      chunks: 2,
      records: 20,
    });
    expect((await listDeadLetters(dir)).map((l) => l.id)).not.toContain(first!.id);
    const pool = await openFile(dir);
    expect(await takeAll(pool, 'archive')).toHaveLength(20); // back to its own output
    await pool.close();
  });

  test('replayed into an output the next pool does not have, they are kept as unrouted', async () => {
    const dir = tempDir();
    await deadLetters(dir, 10);
    await replayDeadLetters(dir, { into: 'elsewhere' });
    const pool = await openFile(dir);
    expect(pool.stats().unrouted).toMatchObject({ chunks: 1, records: 10 });
    await pool.close();
  });

  test('a replay interrupted after its reroute is finished by the next replay, to the new output', async () => {
    const dir = tempDir();
    await deadLetters(dir, 10);
    const [letter] = await listDeadLetters(dir);
    // What a replay into `debug` killed between its two steps leaves: the reroute, no rename.
    const path = join(dir, 'rejected', 'archive', `${letter!.id}.seg`);
    appendFileSync(path, markerFrame(FrameKind.Rerouted, letter!.id, '["archive","debug"]'));
    expect(await listDeadLetters(dir)).toMatchObject([{ output: 'archive', route: 'debug' }]);
    await replayDeadLetters(dir);
    const pool = await openFile(dir);
    expect(await takeAll(pool, 'debug')).toEqual(named(10));
    await pool.close();
  });

  test('a chunk dead-lettered by one output while another still has it: both get every record (the replayed one and the original had one id, so recovery kept only one of them)', async () => {
    const dir = tempDir();
    // Routed to both: archive gives up the chunks, debug never takes them.
    const both = { route: () => ['archive', 'debug'] };
    const pool = await openFile(dir, both);
    for (const record of records(20, 100)) await pool.append('app', record);
    await pool.flush();
    while ((pool.stats().outputs.archive?.pendingChunks ?? 0) > 0) {
      await (await pool.take('archive')).retry();
    }
    expect(pool.stats().outputs.debug?.pendingChunks).toBe(2);
    await pool.close();
    const letters = await listDeadLetters(dir);
    expect(letters).toHaveLength(2);
    expect(await replayDeadLetters(dir, { output: 'archive' })).toMatchObject({ records: 20 });
    const again = await openFile(dir, both);
    expect((await takeAll(again, 'archive')).sort()).toEqual(named(20).sort());
    expect((await takeAll(again, 'debug')).sort()).toEqual(named(20).sort());
    await again.close();
  });

  test('replay and drop refuse while a pool holds the folder; listing still works', async () => {
    const dir = tempDir();
    await deadLetters(dir, 10);
    const pool = await openFile(dir);
    await expect(replayDeadLetters(dir)).rejects.toMatchObject({ code: 'STORAGE_LOCKED' });
    await expect(dropDeadLetters(dir)).rejects.toMatchObject({ code: 'STORAGE_LOCKED' });
    expect(await listDeadLetters(dir)).toHaveLength(1);
    await pool.close();
    expect(await replayDeadLetters(dir)).toMatchObject({ chunks: 1 });
  });
});

describe('damaged dead letters', () => {
  test('a reroute cut short at the tail is not damage: the next replay cuts it off and finishes', async () => {
    const dir = tempDir();
    await deadLetters(dir, 10);
    const [letter] = await listDeadLetters(dir);
    const path = join(dir, 'rejected', 'archive', `${letter!.id}.seg`);
    const reroute = markerFrame(FrameKind.Rerouted, letter!.id, '["archive","debug"]');
    appendFileSync(path, reroute.subarray(0, reroute.length - 3)); // a disk full, or a kill
    expect(await listDeadLetters(dir)).toMatchObject([{ route: 'archive', damage: undefined }]);
    expect(await replayDeadLetters(dir, { into: 'debug' })).toMatchObject({ chunks: 1 });
    const pool = await openFile(dir);
    expect(pool.stats().quarantined).toBe(0); // recovered whole, nothing to repair
    expect(await takeAll(pool, 'debug')).toEqual(named(10));
    await pool.close();
  });

  test('are listed with what is wrong, skipped by replay, and removed by drop', async () => {
    const dir = tempDir();
    await deadLetters(dir, 20);
    const [damaged, intact] = await listDeadLetters(dir);
    const path = join(dir, 'rejected', 'archive', `${damaged!.id}.seg`);
    const bytes = readFileSync(path);
    bytes.writeUInt8(bytes.readUInt8(200) ^ 0xff, 200); // inside the records frame
    writeFileSync(path, bytes);

    // What a crash in the middle of writing a dead letter leaves: ignored, not a dead letter.
    writeFileSync(join(dir, 'rejected', 'archive', 'torn.seg.tmp'), bytes.subarray(0, 100));
    const listed = await listDeadLetters(dir);
    expect(listed).toHaveLength(2);
    expect(listed.find((l) => l.id === damaged!.id)?.damage).toEqual(expect.any(String));
    expect(listed.find((l) => l.id === intact!.id)?.damage).toBeUndefined();
    const replayed = await replayDeadLetters(dir);
    expect(replayed).toMatchObject({ chunks: 1, records: 10 });
    expect(replayed.damaged.map((l) => l.id)).toEqual([damaged!.id]);
    expect(await dropDeadLetters(dir)).toMatchObject({ chunks: 1 });
    expect(readdirSync(join(dir, 'rejected', 'archive'))).toEqual(['torn.seg.tmp']);
  });
});

// Each run of the CLI is a Node process with tsx: about half a second on a loaded machine.
describe('holdfast-chunks, the CLI', { timeout: 60_000 }, () => {
  const CLI = fileURLToPath(new URL('../src/cli/chunks.ts', import.meta.url));
  const cli = (...args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args], { encoding: 'utf8' });

  test('ls, inspect, replay and drop; usage errors exit 2 and say what was wrong', async () => {
    const dir = tempDir();
    await deadLetters(dir, 20);
    const [first, second] = await listDeadLetters(dir);

    const ls = cli('ls', dir);
    expect(ls.status).toBe(0);
    expect(ls.stdout).toMatch(/^archive: 2 dead letters, 20 records, 2\.0 KiB, oldest \d{4}-/);
    expect(ls.stdout).toContain(`  ${first!.id}  10 records`);
    expect(JSON.parse(cli('ls', dir, '--json').stdout)).toEqual(await listDeadLetters(dir));

    const inspect = cli('inspect', dir, 'archive', first!.id, '--limit', '2');
    expect(inspect.status).toBe(0);
    expect(inspect.stdout).toContain(JSON.stringify(records(20)[0]));
    expect(inspect.stdout).toContain('... 8 more');

    const usage = cli('replay', dir);
    expect(usage.status).toBe(2);
    expect(usage.stderr).toMatch(/say which, with --all or with --id ID[^]*usage:/);
    expect(cli('inspect', dir, 'archive', 'nope').stderr).toMatch(/no dead letter nope/);

    const replay = cli('replay', dir, '--id', first!.id, '--into', 'debug');
    expect(replay.stdout).toBe(
      `replayed archive/${first!.id} (10 records) into debug\nreplayed 10 records\n`,
    );
    expect(cli('drop', dir, '--all').stdout).toContain(`dropped archive/${second!.id}`);
    expect(cli('ls', dir).stdout).toBe('no dead letters\n');
    const pool = await openFile(dir);
    expect(await takeAll(pool, 'debug')).toEqual(named(10));
    const locked = cli('replay', dir, '--all');
    expect(locked.status).toBe(1);
    expect(locked.stderr).toMatch(/in use by process \d+/);
    await pool.close();
  });

  test.each([
    [['replay', '/d', '--all', '--id', 'x'], /not both/],
    [['drop', '/d'], /drop: say which/],
    [['ls'], /ls takes one <dir>/],
    [['inspect', '/d', 'archive'], /inspect takes <dir> <output> <id>/],
    [['list', '/d'], /unknown command `list`/],
    [['ls', '/d', '--into', 'x'], /unknown option `--into` for ls/],
    [['replay', '/d', '--json', '--all'], /unknown option `--json` for replay/],
    [['inspect', '/d', 'a', 'b', '--limit', '2s'], /--limit takes a whole number, got `2s`/],
    [['inspect', '/d', 'a', 'b', '--limit', 'NaN'], /--limit takes a whole number, got `NaN`/],
    [['inspect', '/d', 'a', 'b', '--limit', '-1'], /--limit takes a whole number, got `-1`/],
    [['replay', '/d', '--id'], /--id needs a value/],
    [['replay', '/d', '--all', '--into', '--output'], /--into needs a value/],
  ] as const)('usage error: %j', (args, message) => {
    expect(() => parseArgs(args)).toThrow(UsageError);
    expect(() => parseArgs(args)).toThrow(message);
  });

  test('kill -9 during a replay: every record is delivered exactly once after a replay run again', async () => {
    const dir = tempDir();
    await deadLetters(dir, 2000); // 200 dead letters
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'replay', dir, '--all']);
    let replayed = 0;
    await new Promise<void>((resolve) => {
      child.stdout.setEncoding('utf8').on('data', (text: string) => {
        replayed += text.split('\n').filter((line) => line.startsWith('replayed archive/')).length;
        if (replayed >= 50 && child.exitCode === null) child.kill('SIGKILL');
      });
      child.on('exit', () => resolve());
    });
    expect(child.signalCode).toBe('SIGKILL');
    const left = await listDeadLetters(dir);
    expect(left.length).toBeLessThanOrEqual(150);
    expect(left.length).toBeGreaterThan(0); // killed half way, not after the end

    const rest = cli('replay', dir, '--all'); // takes over the dead process's lock
    expect(rest.status).toBe(0);
    expect(rest.stdout).toContain(`replayed ${left.length * 10} records`);
    const pool = await openFile(dir, { maxBytesStored: 1 << 20 });
    const delivered = await takeAll(pool, 'archive');
    expect(delivered.length).toBe(2000);
    expect(new Set(delivered).size).toBe(2000);
    await pool.close();
  });
});
