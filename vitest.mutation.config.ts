import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import workspace from './vitest.config.js';

/**
 * The vitest config StrykerJS runs (`pnpm test:mutation`, scripts/mutation.mjs): the workspace's
 * config narrowed to one package's project, named by HOLDFAST_MUTATION_PACKAGE. The vitest runner
 * has no option to pick a project, and running every package's tests against one package's
 * mutants would only cost time.
 */
const name = process.env.HOLDFAST_MUTATION_PACKAGE;
const projects = (workspace.test?.projects ?? []).filter(
  (project) => typeof project === 'object' && 'test' in project && project.test?.name === name,
);
if (projects.length !== 1) {
  throw new Error(`HOLDFAST_MUTATION_PACKAGE must name one package's project, got ${String(name)}`);
}

export default defineConfig({
  ...workspace,
  test: {
    ...workspace.test,
    // A mutant counts as killed only by a test that fails three times in a row: a test that fails
    // once under load (batch's timer-count test does, one run in five on a busy machine) would
    // otherwise "kill" every mutant it covers.
    retry: 2,
    setupFiles: [fileURLToPath(new URL('./scripts/mutation-child-env.ts', import.meta.url))],
    projects,
  },
});
