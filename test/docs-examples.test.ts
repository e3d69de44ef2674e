import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  exampleModulesDir,
  runExampleModule,
  typeCheckExamples,
  writeExampleModules,
  type ExampleModule,
} from '../scripts/check-doc-examples.js';
import {
  docCommentExamples,
  markdownExamples,
  workspaceExamples,
  type DocExample,
} from '../scripts/doc-examples.js';

const root = fileURLToPath(new URL('..', import.meta.url));
/** A run past this is killed and fails; every runnable example takes well under a second. */
const RUN_TIMEOUT_MS = 20_000;
const where = (example: DocExample) => `${example.file}:${example.line}`;

/** Writes `examples` as modules for the duration of the suite, and removes them after it. */
function preparedModules(examples: readonly DocExample[]) {
  const prepared: { modules: ExampleModule[]; check: () => string[] } = {
    modules: [],
    check: () => [],
  };
  let dir = '';
  beforeAll(() => {
    dir = exampleModulesDir(root);
    const { modules, program } = writeExampleModules(root, examples, dir);
    prepared.modules = modules;
    prepared.check = () => typeCheckExamples(root, modules, program);
  }, 60_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return prepared;
}

const run = async (prepared: { modules: ExampleModule[] }, example: DocExample) => {
  const module = prepared.modules.find((m) => m.example === example);
  if (module === undefined) throw new Error(`${where(example)} was not written`);
  return runExampleModule(root, module.path, RUN_TIMEOUT_MS);
};

describe('examples in the docs and doc comments', () => {
  const examples = workspaceExamples(root).filter((example) => !example.flags.has('ignore'));
  const runnable = examples.filter((example) => example.flags.has('run'));
  const prepared = preparedModules(examples);

  test('are found in the pages and in the doc comments', () => {
    const files = new Set(examples.map((example) => example.file));
    expect(files).toContain('packages/batch/README.md');
    expect(files).toContain('docs/guides/testing.md');
    expect(files).toContain('packages/reaper/src/run.ts');
    expect(runnable.length).toBeGreaterThan(0);
  });

  test('type-check, each as a module of its own', () => {
    expect(prepared.check()).toEqual([]);
  }, 60_000);

  test.concurrent.for(runnable.map((example) => [where(example), example] as const))(
    '%s runs and exits 0',
    // Each starts a Node process with tsx, all at once: on a busy 2-core machine that is seconds.
    { timeout: 60_000 },
    async ([, example]) => {
      const result = await run(prepared, example);
      expect(result.exitCode, result.stderr).toBe(0);
    },
  );
});

describe('the checker (controls)', () => {
  const page = fileURLToPath(new URL('fixtures/broken-examples.md', import.meta.url));
  const comment = fileURLToPath(new URL('fixtures/broken-doc-comment.ts', import.meta.url));
  const [typeError, falseClaim, failingRun, ignored] = markdownExamples(root, page);
  const fixtures = [typeError!, falseClaim!, failingRun!, ...docCommentExamples(root, comment)];
  const prepared = preparedModules(fixtures);

  test('reads the flags of the info string', () => {
    expect(falseClaim?.flags).toEqual(new Set(['run']));
    expect(ignored?.flags).toEqual(new Set(['ignore']));
  });

  test('reports a type error with the file and line of the offending code', () => {
    expect(prepared.check()).toEqual([
      "test/fixtures/broken-examples.md:6: TS2322 Type 'string' is not assignable to type 'number'.",
      "test/fixtures/broken-doc-comment.ts:7: TS2322 Type 'number' is not assignable to type 'string'.",
    ]);
  }, 60_000);

  test('fails a run whose `// =>` claim is false, naming the line', async () => {
    const result = await run(prepared, falseClaim!);
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr).toContain('test/fixtures/broken-examples.md:11');
  });

  test('fails a run that exits non-zero', async () => {
    expect((await run(prepared, failingRun!)).exitCode).toBe(2);
  });
});
