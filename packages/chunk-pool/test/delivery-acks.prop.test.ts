import fc from 'fast-check';
import { expect, test } from 'vitest';
import { ChunkPool, type ChunkLease, type WhenFull } from '../src/index.js';
import { VirtualClock } from '../src/testing.js';
import { R } from './support.js';

const ROUTES = { both: ['a', 'b'], 'only-a': ['a'] } as const;
type Tag = keyof typeof ROUTES;
const TAGS = Object.keys(ROUTES) as Tag[];
const LEASE_TIMEOUT = 1_000;

type Op =
  | { readonly kind: 'append'; readonly tag: Tag; readonly count: number }
  | {
      readonly kind: 'take';
      readonly output: 'a' | 'b';
      readonly then: 'ack' | 'retry' | 'drop' | 'hold';
    }
  | { readonly kind: 'settle-held'; readonly then: 'ack' | 'retry' | 'drop' }
  | { readonly kind: 'advance'; readonly ms: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant('append' as const),
    tag: fc.constantFrom(...TAGS),
    count: fc.integer({ min: 1, max: 12 }),
  }),
  fc.record({
    kind: fc.constant('take' as const),
    output: fc.constantFrom('a' as const, 'b' as const),
    then: fc.constantFrom('ack' as const, 'retry' as const, 'drop' as const, 'hold' as const),
  }),
  fc.record({
    kind: fc.constant('settle-held' as const),
    then: fc.constantFrom('ack' as const, 'retry' as const, 'drop' as const),
  }),
  fc.record({ kind: fc.constant('advance' as const), ms: fc.constantFrom(0, 100, LEASE_TIMEOUT) }),
);

/** Lets the pool's promise callbacks run. */
async function ticks(): Promise<void> {
  for (let i = 0; i < 20; i += 1) await Promise.resolve();
}

/**
 * What the test knows of each accepted record: its tag, its sequence number (read before its
 * append, which is accepted synchronously or not at all here), and the routes not yet done, as
 * leases, `dropped` and `dead-letter` events tell (never the `settled` event under test).
 */
class Ledger {
  readonly records = new Map<string, { tag: Tag; sequence: number; remaining: Set<string> }>();

  done(names: readonly Buffer[] | undefined, outputs: readonly string[]): void {
    for (const name of names ?? []) {
      const record = this.records.get(name.toString());
      for (const output of outputs) record?.remaining.delete(output);
    }
  }
}

async function run(whenFull: WhenFull, ops: readonly Op[]): Promise<void> {
  const clock = new VirtualClock();
  const pool = await ChunkPool.open({
    outputs: ['a', 'b'],
    route: (tag) => ROUTES[tag as Tag],
    clock,
    chunkBytes: 5 * R,
    maxBytesUp: 40 * R,
    reservePerOutput: 5 * R,
    whenFull,
    leaseTimeout: LEASE_TIMEOUT,
    retry: { maxAttempts: 2, minDelay: 100, maxDelay: 100, jitter: false },
    breakerThreshold: 1_000_000,
  });
  const ledger = new Ledger();
  pool.on('dropped', ({ data, outputs }) => ledger.done(data, outputs));
  pool.on('dead-letter', ({ data, output }) => ledger.done(data, [output]));
  const held: ChunkLease[] = [];
  const seen = new Map<Tag, number>();

  const settleLease = async (lease: ChunkLease, then: 'ack' | 'retry' | 'drop') => {
    const records = lease.chunk.records;
    const settled =
      then === 'ack' ? lease.ack() : then === 'retry' ? lease.retry() : lease.drop('test');
    const ok = await settled.then(
      () => true,
      () => false, // expired meanwhile: LEASE_SETTLED
    );
    if (ok && then !== 'retry') ledger.done(records, [lease.output]);
  };

  const check = () => {
    const next = pool.nextSequence();
    for (const tag of TAGS) {
      const watermark = pool.settledBelow(tag);
      expect(watermark).toBeLessThanOrEqual(next);
      expect(watermark).toBeGreaterThanOrEqual(seen.get(tag) ?? 0); // it only grows
      seen.set(tag, watermark);
      for (const [name, record] of ledger.records) {
        if (record.tag !== tag || record.sequence >= watermark) continue;
        // Sound: below the watermark, nothing is pending on any route.
        expect({ name, remaining: [...record.remaining] }).toEqual({ name, remaining: [] });
      }
    }
  };

  let counter = 0;
  for (const step of ops) {
    if (step.kind === 'append') {
      for (let i = 0; i < step.count; i += 1) {
        const name = `${step.tag}:${counter++}`.padEnd(100, '.');
        const sequence = pool.nextSequence();
        const controller = new AbortController();
        const appended = pool.append(step.tag, name, { signal: controller.signal });
        if (pool.nextSequence() > sequence) {
          ledger.records.set(name, {
            tag: step.tag,
            sequence,
            remaining: new Set(ROUTES[step.tag]),
          });
        }
        controller.abort(); // not accepted now: not waited for
        await appended.catch(() => undefined);
      }
    } else if (step.kind === 'take') {
      const controller = new AbortController();
      const taking = pool.take(step.output, { signal: controller.signal });
      await ticks();
      controller.abort();
      const lease = await taking.catch(() => undefined);
      if (lease !== undefined) {
        if (step.then === 'hold') held.push(lease);
        else await settleLease(lease, step.then);
      }
    } else if (step.kind === 'settle-held') {
      const lease = held.shift();
      if (lease !== undefined) await settleLease(lease, step.then);
    } else {
      await clock.advanceBy(step.ms);
    }
    await ticks();
    check();
  }

  // Complete: with every output acking, everything settles, and the watermark reaches the end.
  for (const lease of held.splice(0)) await settleLease(lease, 'ack');
  await pool.flush();
  for (let round = 0; round < 500; round += 1) {
    const pending = Object.values(pool.stats().outputs).some((o) => o.pendingChunks > 0);
    if (!pending) break;
    for (const output of ['a', 'b'] as const) {
      const controller = new AbortController();
      const taking = pool.take(output, { signal: controller.signal });
      await ticks();
      controller.abort();
      const lease = await taking.catch(() => undefined);
      if (lease !== undefined) await settleLease(lease, 'ack');
    }
    await clock.advanceBy(100);
  }
  check();
  for (const tag of TAGS) expect(pool.settledBelow(tag)).toBe(pool.nextSequence());
  await pool.close();
}

test.each<WhenFull>(['block', 'drop-oldest', 'drop-newest'])(
  "whenFull '%s': the watermark only grows, never passes a record still pending on a route, and reaches the end",
  async (whenFull) => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 60 }), (ops) => run(whenFull, ops)),
      { numRuns: 60 },
    );
  },
  60_000,
);
