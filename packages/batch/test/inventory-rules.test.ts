/**
 * createInventory's rules at their edges: the TTL boundary (a value exactly `ttl` old is kept), what
 * a stale entry keeps and what it takes from the new round, the tie between two outcomes of one
 * key with the same status (the later one wins), the error of a throwing `key()`, and every bad
 * option.
 */
import { describe, expect, test } from 'vitest';
import { createInventory, type Clock, type Outcome } from '../src/index.js';

interface Container {
  readonly Id: string;
  readonly seen: number;
}

function manualClock() {
  let now = 1_000;
  const clock: Clock = { now: () => now, setTimeout: () => 0, clearTimeout: () => {} };
  return { clock, advance: (ms: number) => (now += ms) };
}
const ok = (item: Container, value: string, index = 0): Outcome<Container, string> => ({
  status: 'fulfilled',
  item,
  index,
  value,
  attempts: 1,
  durationMs: 0,
});
const failed = (item: Container, index = 0): Outcome<Container, string> =>
  ({
    status: 'rejected',
    item,
    index,
    error: new Error('inspect failed'),
    attempts: 1,
    durationMs: 0,
  }) as unknown as Outcome<Container, string>;
const skipped = (item: Container, index = 0): Outcome<Container, string> => ({
  status: 'skipped',
  item,
  index,
  reason: new Error('gone'),
});
const c = (Id: string, seen = 0): Container => ({ Id, seen });

const inventoryOf = (ttl: number) => {
  const { clock, advance } = manualClock();
  const inventory = createInventory<Container, string, string>({ key: (x) => x.Id, ttl, clock });
  return { inventory, advance };
};

describe('createInventory rules', () => {
  test('a value exactly ttl old is kept stale; 1 ms older it is removed', () => {
    const { inventory, advance } = inventoryOf(100);
    inventory.apply({ outcomes: [ok(c('a'), 'v1')] });
    advance(100);
    expect(inventory.apply({ outcomes: [failed(c('a'))] }).keptStale).toEqual(['a']);
    advance(1);
    expect(inventory.apply({ outcomes: [failed(c('a'))] }).removed).toEqual(['a']);
    expect(inventory.get('a')).toBeUndefined();
  });

  test('a stale entry keeps its value and time of success, takes the new item, and is marked stale; a success clears it', () => {
    const { inventory, advance } = inventoryOf(1_000);
    inventory.apply({ outcomes: [ok(c('a', 1), 'v1')] });
    expect(inventory.get('a')).toEqual({
      item: c('a', 1),
      value: 'v1',
      updatedAt: 1_000,
      stale: false,
    });
    advance(10);
    inventory.apply({ outcomes: [failed(c('a', 2))] });
    expect(inventory.get('a')).toEqual({
      item: c('a', 2),
      value: 'v1',
      updatedAt: 1_000,
      stale: true,
    });
    advance(10);
    expect(inventory.apply({ outcomes: [ok(c('a', 3), 'v3')] }).updated).toEqual(['a']);
    expect(inventory.get('a')).toEqual({
      item: c('a', 3),
      value: 'v3',
      updatedAt: 1_020,
      stale: false,
    });
  });

  test('of two outcomes of one key with the same status, the later one wins', () => {
    const { inventory } = inventoryOf(1_000);
    inventory.apply({ outcomes: [ok(c('a', 1), 'first', 0), ok(c('a', 2), 'second', 1)] });
    expect(inventory.get('a')).toMatchObject({ item: c('a', 2), value: 'second' });
    inventory.apply({ outcomes: [failed(c('a', 3), 0), failed(c('a', 4), 1)] });
    expect(inventory.get('a')).toMatchObject({ item: c('a', 4), value: 'second', stale: true });
  });

  test('a skip beats a failure of the same key (removed, not kept stale); a success beats both', () => {
    const { inventory } = inventoryOf(1_000);
    inventory.apply({ outcomes: [ok(c('a'), 'v'), ok(c('b'), 'v')] });
    const diff = inventory.apply({
      outcomes: [skipped(c('a'), 0), failed(c('a'), 1), failed(c('b'), 2), ok(c('b'), 'w', 3)],
    });
    expect(diff).toEqual({ added: [], updated: ['b'], keptStale: [], removed: ['a'], missing: [] });
  });

  test('a skipped item never fetched before is in no list of the diff', () => {
    const { inventory } = inventoryOf(1_000);
    expect(inventory.apply({ outcomes: [skipped(c('a'))] })).toEqual({
      added: [],
      updated: [],
      keptStale: [],
      removed: [],
      missing: [],
    });
  });

  test('size and entries() follow the last round', () => {
    const { inventory } = inventoryOf(1_000);
    expect(inventory.size).toBe(0);
    inventory.apply({ outcomes: [ok(c('a'), 'v'), ok(c('b'), 'w')] });
    expect(inventory.size).toBe(2);
    expect([...inventory.entries()].map(([k, e]) => [k, e.value])).toEqual([
      ['a', 'v'],
      ['b', 'w'],
    ]);
  });

  test('a key() that throws names the outcome, keeps the thrown value as the cause', () => {
    const boom = new Error('no Id');
    const inventory = createInventory<Container, string, string>({
      key: (x) => {
        if (x.Id === 'bad') throw boom;
        return x.Id;
      },
      ttl: 1,
    });
    let thrown: unknown;
    try {
      inventory.apply({ outcomes: [ok(c('a'), 'v'), ok(c('bad'), 'v', 1)] });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(Error);
    expect((thrown as Error).message).toBe(
      'key() threw for outcome 1: no Id; the inventory is unchanged',
    );
    expect((thrown as Error).cause).toBe(boom);
  });

  test('every bad option is a TypeError naming it', () => {
    const key = (x: Container) => x.Id;
    expect(() => createInventory(null as never)).toThrow(/options: expected an object, got null/);
    expect(() => createInventory('x' as never)).toThrow(/options: expected an object/);
    expect(() => createInventory({ key } as never)).toThrow(
      /ttl: expected a number of milliseconds >= 0 or Infinity, got undefined/,
    );
    expect(() => createInventory({ ttl: 1 } as never)).toThrow(
      /key: expected a function, got undefined/,
    );
    for (const clock of ['now', {}, { now: 5 }, Object.assign(() => 0, { now: () => 0 })]) {
      expect(() => createInventory({ key, ttl: 1, clock: clock as never })).toThrow(
        /clock: expected an object with now\(\)/,
      );
    }
    expect(() => createInventory({ key, ttl: 1, keys: 2 } as never)).toThrow(
      /unknown option `keys` \(did you mean `key`\?\)/,
    );
    expect(createInventory({ key, ttl: Infinity, clock: { now: () => 0 } as Clock }).size).toBe(0);
  });
});
