import { readFileSync } from 'node:fs';
import { expect, test } from 'vitest';
import { Chunk } from '../src/chunk.js';
import { IllegalChunkTransition, INITIAL, TRANSITIONS } from '../src/chunk-states.js';

type StateName = keyof typeof TRANSITIONS;
const STATE_NAMES = Object.keys(TRANSITIONS) as StateName[];

/** The diagrams of docs/chunk-pool.md's "A chunk's life": per state, its starts and its moves. */
function documentedDiagrams(): Map<string, { initial: string[]; moves: string[] }> {
  const docs = readFileSync(new URL('../../../docs/chunk-pool.md', import.meta.url), 'utf8');
  const start = docs.indexOf("\n## A chunk's life\n");
  expect(start, 'docs/chunk-pool.md has a section "A chunk\'s life"').toBeGreaterThan(0);
  const end = docs.indexOf('\n## ', start + 1);
  const section = docs.slice(start, end === -1 ? undefined : end);
  const diagrams = new Map<string, { initial: string[]; moves: string[] }>();
  for (const [, body] of section.matchAll(/```mermaid\n([\s\S]*?)```/g)) {
    const name = /%% (\w+)/.exec(body as string)?.[1];
    if (name === undefined) throw new Error(`a diagram without a %% name: ${body}`);
    const initial: string[] = [];
    const moves: string[] = [];
    for (const [, from, to] of (body as string).matchAll(/^\s*(\S+) --> (\S+)\s*$/gm)) {
      if (to === '[*]') continue; // where a life may end: drawn, not a move
      if (from === '[*]') initial.push(to as string);
      else moves.push(`${from} → ${to}`);
    }
    diagrams.set(name, { initial: initial.sort(), moves: moves.sort() });
  }
  return diagrams;
}

function tableMoves(state: StateName): string[] {
  const moves: string[] = [];
  for (const [from, tos] of Object.entries(TRANSITIONS[state])) {
    for (const to of tos as readonly string[]) moves.push(`${from} → ${to}`);
  }
  return moves.sort();
}

test("the state diagrams in docs/chunk-pool.md are chunk-states.ts's table", () => {
  const diagrams = documentedDiagrams();
  expect([...diagrams.keys()].sort()).toEqual([...STATE_NAMES].sort());
  for (const state of STATE_NAMES) {
    expect(diagrams.get(state)?.moves, `the ${state} moves`).toEqual(tableMoves(state));
    expect(diagrams.get(state)?.initial, `the ${state} starts`).toEqual([...INITIAL[state]].sort());
  }
});

/** Each transition method of Chunk: the state it changes and where to. */
const METHODS: Record<StateName, Record<string, (chunk: Chunk) => void>> = {
  phase: {
    sealing: (chunk) => chunk.seal(),
    queued: (chunk) => chunk.enqueue(),
    parked: (chunk) => chunk.park(),
    done: (chunk) => chunk.finish(),
  },
  residency: {
    down: (chunk) => chunk.takeDown(),
    loading: (chunk) => chunk.startLoading(),
    up: (chunk) => chunk.loaded([Buffer.from('r')]),
  },
  stored: {
    complete: (chunk) => chunk.markStored(),
    failed: (chunk) => chunk.markStoreFailed(new Error('ENOSPC')),
  },
};
/** Methods that make only one of the table's moves to their state: the one from here. */
const ONLY_FROM: Partial<Record<StateName, Record<string, string>>> = {
  residency: { down: 'up' }, // takeDown; loading → down is loadFailed's, checked on its own below
};

const newChunk = (): Chunk => new Chunk('new-1', 't', 0, ['a']);
/** Taken over from storage, up: the residency moves start from here (stored complete). */
const storedChunk = (): Chunk =>
  Chunk.fromStorage({
    id: 'stored-1',
    tag: 't',
    createdAt: 0,
    routes: ['a'],
    pending: ['a'],
    unrouted: [],
    recordCount: 1,
    bytes: 1,
    records: [Buffer.from('r')],
  });

const current = (chunk: Chunk, state: StateName): string =>
  state === 'phase' ? chunk.phase : state === 'residency' ? chunk.residency : chunk.stored;

// Every state each dimension reaches from its start by legal moves, and from each every method:
// it works exactly when the table lists the move, and otherwise throws an internal error naming
// the chunk, the state, from and to, leaving the state as it was.
test.each(STATE_NAMES)(
  'every %s move the table does not list throws; every listed one works',
  (state) => {
    const start = state === 'residency' ? storedChunk : newChunk;
    const paths = new Map<string, string[]>([[current(start(), state), []]]);
    const todo = [...paths.keys()];
    let checked = 0;
    while (todo.length > 0) {
      const from = todo.shift() as string;
      const path = paths.get(from) as string[];
      for (const [to, move] of Object.entries(METHODS[state])) {
        const chunk = start();
        for (const step of path) (METHODS[state][step] as (chunk: Chunk) => void)(chunk);
        expect(current(chunk, state)).toBe(from);
        const allowed = (TRANSITIONS[state] as Record<string, readonly string[]>)[from] ?? [];
        const onlyFrom = ONLY_FROM[state]?.[to];
        checked += 1;
        if (allowed.includes(to as never) && (onlyFrom === undefined || onlyFrom === from)) {
          move(chunk);
          expect(current(chunk, state)).toBe(to);
          if (!paths.has(to)) {
            paths.set(to, [...path, to]);
            todo.push(to);
          }
        } else {
          let thrown: unknown;
          try {
            move(chunk);
          } catch (error) {
            thrown = error;
          }
          expect(thrown, `${state} ${from} → ${to} must throw`).toBeInstanceOf(
            IllegalChunkTransition,
          );
          expect((thrown as Error).message).toMatch(
            new RegExp(
              `^internal error: chunk ${chunk.id} cannot go from ${state} ${from} to ${to}\\b`,
            ),
          );
          expect(current(chunk, state)).toBe(from);
        }
      }
    }
    // Every state of the table was reached, and every method tried from each.
    expect([...paths.keys()].sort()).toEqual(Object.keys(TRANSITIONS[state]).sort());
    expect(checked).toBe(paths.size * Object.keys(METHODS[state]).length);
  },
);

test('loadFailed goes loading → down only; a chunk takes records only while open', () => {
  const chunk = storedChunk();
  expect(() => chunk.loadFailed()).toThrow(
    'internal error: chunk stored-1 cannot go from residency up to down (this way only from loading)',
  );
  chunk.takeDown();
  chunk.startLoading();
  chunk.loadFailed();
  expect(chunk.residency).toBe('down');
  expect(chunk.records).toBeUndefined();
  const open = newChunk();
  open.addRecord(Buffer.from('x'));
  open.seal();
  expect(() => open.addRecord(Buffer.from('y'))).toThrow(
    'internal error: chunk new-1 cannot go from phase sealing to open',
  );
  expect(open.recordCount).toBe(1);
});

test('a chunk goes down only with a complete copy in storage, or as it leaves the pool', () => {
  const unstored = newChunk();
  unstored.addRecord(Buffer.from('x'));
  expect(() => unstored.takeDown()).toThrow(
    'internal error: chunk new-1 cannot go from residency up to down (stored none)',
  );
  unstored.markStoreFailed(new Error('EIO'));
  expect(() => unstored.takeDown()).toThrow('(stored failed)');
  expect(unstored.records).toHaveLength(1);
  unstored.seal();
  unstored.enqueue();
  unstored.finish(); // leaving the pool: its records go with it
  expect([unstored.phase, unstored.residency, unstored.records]).toEqual([
    'done',
    'down',
    undefined,
  ]);
});

test('a chunk starts in the states INITIAL lists', () => {
  const fresh = newChunk();
  expect([fresh.phase, fresh.residency, fresh.stored]).toEqual(['open', 'up', 'none']);
  const up = storedChunk();
  expect([up.phase, up.residency, up.stored]).toEqual(['queued', 'up', 'complete']);
  const parked = Chunk.fromStorage({
    id: 'parked-1',
    tag: 't',
    createdAt: 0,
    routes: ['gone'],
    pending: [],
    unrouted: ['gone'],
    recordCount: 1,
    bytes: 1,
    records: undefined,
  });
  expect([parked.phase, parked.residency, parked.stored]).toEqual(['parked', 'down', 'complete']);
  for (const chunk of [fresh, up, parked]) {
    expect(INITIAL.phase).toContain(chunk.phase);
    expect(INITIAL.residency).toContain(chunk.residency);
    expect(INITIAL.stored).toContain(chunk.stored);
  }
});
