import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PoolClass } from './model-harness.js';

/**
 * The controls of the model-based property: copies of the pool's own files (src/pool.ts and
 * src/pool/*.ts) with one bug of issue #18's "Broken today" put back, each as the smallest text
 * change that restores the old behaviour. The copies are written to a temporary folder (their
 * imports of the other src/ files pointed at the real ones), imported, and driven by the
 * property, which must find the bug. Nothing broken is committed.
 *
 * A patch that no longer applies (no pool file has its text any more) throws, naming the bug:
 * update the patch so the control keeps showing that the property finds it.
 */

const SRC = fileURLToPath(new URL('../src/', import.meta.url));
/** The pool's own files, relative to src/: the ones a bug may be put back into. */
const POOL_FILES = [
  'pool.ts',
  ...readdirSync(join(SRC, 'pool'))
    .filter((name) => name.endsWith('.ts'))
    .map((name) => `pool/${name}`),
];

/**
 * A bug as a list of `[what the fixed code says, what the broken code said]`; each pair is
 * applied to every pool file that has its first text (and must apply to one at least).
 */
export const BUGS = {
  /** tryAppend() placed the record in a promise nobody watched, and said `true`. */
  'tryAppend true for a dropped record': [
    [
      '    placement.sealIfFull(placement.place(tag, bytes));\n    return true;',
      '    void placement.accept(tag, bytes);\n    return true;',
    ],
  ],
  /**
   * A dead letter counted (and emitted) before its write, and a failed write left the chunk
   * pending but out of every queue: orphaned.
   */
  'a failed dead-letter write orphans its chunk': [
    [
      '    return stored.then(\n      () => {\n        if (chunk.done || !chunk.pendingRoutes.has(state.name)) return undefined;\n        state.deadLettered.add(chunk.recordCount, chunk.bytes);',
      '    state.deadLettered.add(chunk.recordCount, chunk.bytes);\n    return stored.then(\n      () => {\n        if (chunk.done || !chunk.pendingRoutes.has(state.name)) return undefined;',
    ],
    [
      "      (error: unknown) => {\n        pool.backgroundStorageError(chunk, error, 'the dead letter');\n        if (chunk.done || !chunk.pendingRoutes.has(state.name)) return;\n        const { retry } = state;\n        const wait = backoffDelay(retry, retry.maxAttempts);\n        this.retryLater(state, chunk, pool.options.clock.now() + wait);\n      },",
      '      (error: unknown) => {\n        state.queue.delete(chunk);\n        throw error;\n      },',
    ],
  ],
  /** Events went out through EventEmitter's own emit: a throwing listener unwound into append(). */
  'a throwing listener unwinds into the pool': [
    [
      '    emitGuarded(this.#emitter, name, args, () => {\n      this.listenerErrors += 1;\n    });',
      '    this.#emitter.emit(name, ...args);',
    ],
  ],
  /** Recovery was reported by an event fired inside open(), before anyone could listen. */
  'recovery reported where no one listens': [
    [
      '    if (onRecovered !== undefined) {',
      "    pool.emit('recovered' as never, report as never);\n    if (onRecovered === null) {",
    ],
  ],
  /** The memory budget counted payload bytes only. */
  'the memory budget ignores what a record costs beyond its payload': [
    [
      "import { memoryCost } from '../record-cost.js';",
      'const memoryCost = (bytes: number, _records: number): number => bytes;',
    ],
    [
      "import { memoryCost, RECORD_OVERHEAD_BYTES } from '../record-cost.js';",
      "import { RECORD_OVERHEAD_BYTES } from '../record-cost.js';\nconst memoryCost = (bytes: number, _records: number): number => bytes;",
    ],
  ],
} as const satisfies Record<string, readonly (readonly [string, string])[]>;

export type Bug = keyof typeof BUGS;

/** The pool class of a copy of the pool's files with `bug` put back. */
export async function brokenPool(bug: Bug): Promise<PoolClass> {
  const sources = new Map(POOL_FILES.map((file) => [file, readFileSync(join(SRC, file), 'utf8')]));
  for (const [fixed, broken] of BUGS[bug]) {
    const files = POOL_FILES.filter((file) => (sources.get(file) as string).includes(fixed));
    if (files.length === 0) {
      throw new Error(`the bug "${bug}" can no longer be put back: no pool file has ${fixed}`);
    }
    for (const file of files)
      sources.set(file, (sources.get(file) as string).replace(fixed, broken));
  }
  const dir = join(tmpdir(), 'holdfast-broken-pools', `${bug.replace(/\W+/g, '-')}-${process.pid}`);
  for (const [file, source] of sources) {
    // Imports of the pool's files point at the copies; of the package's other modules, at the
    // real files.
    const rewritten = source.replace(/from '(\.\.?\/[\w/.-]+)\.js'/g, (_, path: string) => {
      const target = join(dirname(file), `${path}.ts`);
      return `from '${POOL_FILES.includes(target) ? join(dir, target) : join(SRC, target)}'`;
    });
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    writeFileSync(join(dir, file), rewritten);
  }
  try {
    const module = (await import(join(dir, 'pool.ts'))) as { ChunkPool: PoolClass };
    return module.ChunkPool;
  } finally {
    rmSync(dir, { recursive: true, force: true }); // loaded: the copies are not needed any more
  }
}
