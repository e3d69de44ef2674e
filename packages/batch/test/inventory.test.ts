import { describe, expect, expectTypeOf, test } from 'vitest';
import { createInventory, fetchAll, type Clock, type Inventory } from '../src/index.js';

interface Container {
  readonly Id: string;
}

/** A clock the test moves by hand. */
function manualClock() {
  let now = 0;
  const clock: Clock = { now: () => now, setTimeout: () => 0, clearTimeout: () => {} };
  return { clock, advance: (ms: number) => (now += ms) };
}

const round = (ids: string[], failing: string[] = [], skipped: string[] = []) =>
  fetchAll(
    ids.map((Id) => ({ Id })),
    (c: Container) => {
      if (skipped.includes(c.Id)) throw new Error('skip me');
      if (failing.includes(c.Id)) throw new Error('inspect failed');
      return { id: c.Id, logPath: `/logs/${c.Id}` };
    },
    {
      importance: () => 'optional',
      classify: (e) => ((e as Error).message === 'skip me' ? 'skip' : 'fatal'),
    },
  );

describe('createInventory', () => {
  test('adds, updates, keeps a failed item until its TTL, then removes it', async () => {
    const { clock, advance } = manualClock();
    const inventory = createInventory<Container, string, { id: string }>({
      key: (c) => c.Id,
      ttl: 1_000,
      clock,
    });

    expect(inventory.apply(await round(['a', 'b']))).toEqual({
      added: ['a', 'b'],
      updated: [],
      keptStale: [],
      removed: [],
      missing: [],
    });

    advance(500);
    const second = inventory.apply(await round(['a', 'b'], ['b']));
    expect(second).toMatchObject({ updated: ['a'], keptStale: ['b'], removed: [] });
    expect(inventory.get('b')).toMatchObject({ stale: true, value: { id: 'b' } });

    advance(600); // b's last success was 1,100 ms ago: past the TTL
    const third = inventory.apply(await round(['a', 'b'], ['b']));
    expect(third).toMatchObject({ updated: ['a'], keptStale: [], removed: ['b'] });
    expect(inventory.size).toBe(1);
  });

  test('an item gone from the listing is removed at once; a skipped one too', async () => {
    const { clock } = manualClock();
    const inventory = createInventory<Container, string, { id: string }>({
      key: (c) => c.Id,
      ttl: 60_000,
      clock,
    });
    inventory.apply(await round(['a', 'b', 'c']));
    const diff = inventory.apply(await round(['a', 'b'], [], ['b']));
    expect([...diff.removed].sort()).toEqual(['b', 'c']);
    expect([...inventory.entries()].map(([k]) => k)).toEqual(['a']);
  });

  test('an item that never succeeded is missing, not added', async () => {
    const inventory = createInventory<Container, string>({ key: (c) => c.Id, ttl: 1 });
    expect(inventory.apply(await round(['a'], ['a'])).missing).toEqual(['a']);
    expect(inventory.size).toBe(0);
  });

  test('rejects bad options', () => {
    expect(() => createInventory({ key: 'Id' as never, ttl: 1 })).toThrow(
      /key: expected a function/,
    );
    expect(() => createInventory({ key: (c: Container) => c.Id, ttl: -5 })).toThrow(
      /ttl: expected/,
    );
  });

  test('apply is atomic: a key() that throws halfway leaves the inventory as it was', async () => {
    const { clock } = manualClock();
    let failOn: string | undefined = undefined;
    const inventory = createInventory<Container, string, { id: string }>({
      key: (c) => {
        if (c.Id === failOn) throw Object.create(null);
        return c.Id;
      },
      ttl: 60_000,
      clock,
    });
    inventory.apply(await round(['a', 'b']));
    failOn = 'c';
    const next = await round(['b', 'c']); // would remove a, update b, add c
    expect(() => inventory.apply(next)).toThrow(
      /key\(\) threw for outcome 1: .*the inventory is unchanged/,
    );
    expect([...inventory.entries()].map(([k, e]) => [k, e.stale])).toEqual([
      ['a', false],
      ['b', false],
    ]);
  });

  test('a key listed twice in one round counts once, by its best outcome', async () => {
    const { clock } = manualClock();
    const inventory = createInventory<Container, string, { id: string }>({
      key: (c) => c.Id,
      ttl: 60_000,
      clock,
    });
    inventory.apply(await round(['a']));
    const twice = await fetchAll(
      [{ Id: 'a' }, { Id: 'a' }, { Id: 'n' }, { Id: 'n' }],
      (c, { index }) => {
        if (index === 0 || index === 3) throw new Error('inspect failed');
        return { id: c.Id, logPath: `/logs/${c.Id}` };
      },
      { importance: () => 'optional' },
    );
    const diff = inventory.apply(twice);
    expect(diff).toEqual({ added: ['n'], updated: ['a'], keptStale: [], removed: [], missing: [] });
    expect(inventory.get('a')).toMatchObject({ stale: false });
  });
});

describe('createInventory infers its types from one call', () => {
  const inspect = async (c: Container) => ({ id: c.Id, logPath: `/logs/${c.Id}` });

  test('item, key and value types come from key and fetchOne; refresh runs a round', async () => {
    const inventory = createInventory({
      key: (c: Container) => c.Id,
      ttl: 60_000,
      fetchOne: inspect,
    });
    expectTypeOf(inventory).toEqualTypeOf<
      Inventory<Container, string, { id: string; logPath: string }>
    >();
    const { result, diff } = await inventory.refresh([{ Id: 'a' }, { Id: 'b' }], {
      timeout: 1_000,
    });
    expect(result.values).toHaveLength(2);
    expect(diff?.added).toEqual(['a', 'b']);
    const entry = inventory.get('a');
    expectTypeOf(entry?.value).toEqualTypeOf<{ id: string; logPath: string } | undefined>();
    expect(entry?.value.logPath).toBe('/logs/a');
    // Controls: `.logPath` above compiles only if the value type was inferred (with `R` left
    // `unknown` it is TS18046, shown by hand); a wrong field is an error, as it would not be
    // were the value type `any`.
    // @ts-expect-error -- `nope` is not a field of the inferred value type
    expect(entry?.value.nope).toBeUndefined();
  });

  test('type arguments, when given, are in the order of Inventory<T, K, R>', () => {
    const inventory = createInventory<Container, string, number>({ key: (c) => c.Id, ttl: 1 });
    expectTypeOf(inventory).toEqualTypeOf<Inventory<Container, string, number>>();
    expectTypeOf(createInventory({ key: (c: Container) => c.Id, ttl: 1 })).toEqualTypeOf<
      Inventory<Container, string, unknown>
    >();
  });

  test('a fatal round is not applied; refresh without fetchOne rejects, never throws', async () => {
    const inventory = createInventory({
      key: (c: Container) => c.Id,
      ttl: 60_000,
      fetchOne: async (): Promise<string> => {
        throw new Error('daemon down');
      },
    });
    const items = [{ Id: 'a' }, { Id: 'b' }, { Id: 'c' }];
    const { result, diff } = await inventory.refresh(items);
    expect(result.fatal).toBeDefined();
    expect(diff).toBeUndefined();
    const bare = createInventory({ key: (c: Container) => c.Id, ttl: 1 });
    const refreshed = bare.refresh(items);
    await expect(refreshed).rejects.toThrow(
      /^fetchOne: expected a function given to createInventory/,
    );
    expect(() =>
      createInventory({ key: (c: Container) => c.Id, ttl: 1, fetchOne: 5 as never }),
    ).toThrow(/^fetchOne: expected a function, got 5 \(number\)/);
  });
});
