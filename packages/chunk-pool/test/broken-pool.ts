import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PoolClass } from './model-harness.js';

/**
 * The controls of the model-based property: copies of src/pool.ts with one bug of issue #18's
 * "Broken today" put back, each as the smallest text change that restores the old behaviour.
 * A copy is written to a temporary folder (its imports pointed at the real src/ files), imported,
 * and driven by the property, which must find the bug. Nothing broken is committed.
 *
 * A patch that no longer applies (pool.ts changed) throws, naming the bug: update the patch so
 * the control keeps showing that the property finds it.
 */

const SRC = fileURLToPath(new URL('../src/', import.meta.url));

/** A bug as a list of `[what the fixed code says, what the broken code said]`. */
export const BUGS = {
  /** tryAppend() placed the record in a promise nobody watched, and said `true`. */
  'tryAppend true for a dropped record': [
    [
      '    this.#sealIfFull(this.#place(tag, bytes));\n    return true;',
      '    void this.#accept(tag, bytes);\n    return true;',
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
      "      (error: unknown) => {\n        this.#backgroundStorageError(chunk, error, 'the dead letter');\n        if (chunk.done || !chunk.pendingRoutes.has(state.name)) return;\n        const { retry } = state;\n        const wait = backoffDelay(retry, retry.maxAttempts);\n        this.#retryLater(state, chunk, this.#options.clock.now() + wait);\n      },",
      '      (error: unknown) => {\n        state.queue.delete(chunk);\n        throw error;\n      },',
    ],
  ],
  /** Events went out through EventEmitter's own emit: a throwing listener unwound into append(). */
  'a throwing listener unwinds into the pool': [
    [
      '    emitGuarded(this, name, args, () => {\n      this.#listenerErrors += 1;\n    });',
      '    this.emit(name, ...args);',
    ],
  ],
  /** Recovery was reported by an event fired inside open(), before anyone could listen. */
  'recovery reported where no one listens': [
    [
      '    if (onRecovered !== undefined) {',
      "    if (onRecovered !== undefined && this.listenerCount('recovered' as never) > 0) {",
    ],
  ],
  /** The memory budget counted payload bytes only. */
  'the memory budget ignores what a record costs beyond its payload': [
    [
      "import { memoryCost, RECORD_OVERHEAD_BYTES } from './record-cost.js';",
      "import { RECORD_OVERHEAD_BYTES } from './record-cost.js';\nconst memoryCost = (bytes: number, _records: number): number => bytes;",
    ],
  ],
} as const satisfies Record<string, readonly (readonly [string, string])[]>;

export type Bug = keyof typeof BUGS;

/** The pool class of a copy of src/pool.ts with `bug` put back. */
export async function brokenPool(bug: Bug): Promise<PoolClass> {
  let source = readFileSync(join(SRC, 'pool.ts'), 'utf8');
  for (const [fixed, broken] of BUGS[bug]) {
    if (!source.includes(fixed)) {
      throw new Error(`the bug "${bug}" can no longer be put back: pool.ts no longer has ${fixed}`);
    }
    source = source.replace(fixed, broken);
  }
  // Imports of the package's own modules point at the real files.
  source = source.replace(
    /from '\.\/([\w/-]+)\.js'/g,
    (_, path: string) => `from '${SRC}${path}.ts'`,
  );
  const dir = join(tmpdir(), 'holdfast-broken-pools');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${bug.replace(/\W+/g, '-')}-${process.pid}.ts`);
  writeFileSync(file, source);
  try {
    const module = (await import(file)) as { ChunkPool: PoolClass };
    return module.ChunkPool;
  } finally {
    rmSync(file, { force: true }); // loaded: the copy is not needed any more
  }
}
