import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach } from 'vitest';

/**
 * A vitest setup file for mutation runs only (vitest.mutation.config.ts). StrykerJS activates a
 * mutant, and records which test reaches which mutant, in a global of the test's own process. The
 * child processes a test spawns (crash-flush's and reaper's fixtures, chunk-pool's crash test)
 * would otherwise run the original code and report no coverage, so their mutants could be
 * neither reached nor killed:
 * - in a mutant run, the active mutant goes to the children in `__STRYKER_ACTIVE_MUTANT__`, which
 *   the instrumented code reads;
 * - in the initial run, each child preloads scripts/mutation-child-coverage.mjs, which writes the
 *   mutants it reached into a directory of this test; they count as reached by this test.
 * Only children that inherit `process.env` take part (all of this repository's fixtures do).
 */
interface StrykerGlobal {
  activeMutant?: string | number;
  currentTestId?: string;
  mutantCoverage?: { static: Hits; perTest: Record<string, Hits> };
}
type Hits = Record<string, number>;

const activeMutantVariable = '__STRYKER_ACTIVE_MUTANT__';
const coverageVariable = 'HOLDFAST_MUTATION_CHILD_COVERAGE';
const preload = new URL('./mutation-child-coverage.mjs', import.meta.url).href;

beforeEach(() => {
  const stryker = (globalThis as { __stryker__?: StrykerGlobal }).__stryker__;
  if (stryker?.activeMutant !== undefined) {
    process.env[activeMutantVariable] = String(stryker.activeMutant);
    return;
  }
  delete process.env[activeMutantVariable];
  const testId = stryker?.currentTestId;
  if (stryker === undefined || testId === undefined) return;

  const directory = mkdtempSync(join(tmpdir(), 'holdfast-mutation-'));
  const nodeOptions = process.env.NODE_OPTIONS;
  process.env[coverageVariable] = directory;
  process.env.NODE_OPTIONS = `${nodeOptions ?? ''} --import=${preload}`.trim();
  return () => {
    if (nodeOptions === undefined) delete process.env.NODE_OPTIONS;
    else process.env.NODE_OPTIONS = nodeOptions;
    delete process.env[coverageVariable];
    const coverage = (stryker.mutantCoverage ??= { static: {}, perTest: {} });
    const reached = (coverage.perTest[testId] ??= {});
    for (const file of readdirSync(directory)) {
      const hits = JSON.parse(readFileSync(join(directory, file), 'utf8')) as Hits;
      for (const [mutant, count] of Object.entries(hits))
        reached[mutant] = (reached[mutant] ?? 0) + count;
    }
    rmSync(directory, { recursive: true, force: true });
  };
});
