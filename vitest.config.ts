import { fileURLToPath } from 'node:url';
import { configDefaults, defineConfig } from 'vitest/config';

const root = fileURLToPath(new URL('.', import.meta.url));

/**
 * Tests that read the sources and the docs without running package code (the docs' examples
 * type-checked, the lint rules, the naming convention and the docs coverage walked in the
 * TypeScript program, links, the README): their result cannot depend on the Node line. `pnpm test`
 * runs them; CI runs them once, with the machine's Node, and leaves them out on the other lines.
 */
const staticChecks = [
  'test/docs-examples.test.ts',
  'test/lint-rules.test.ts',
  'test/conventions.test.ts',
  'test/docs-coverage.test.ts',
  'test/markdown-links.test.ts',
  'test/quick-start.test.ts',
];

/** The four packages and the private one they share; each is a vitest project named after its folder. */
const packages = ['batch', 'chunk-pool', 'crash-flush', 'reaper', 'internal'] as const;

export default defineConfig({
  resolve: {
    // Inside the workspace `@holdfast/x` and `@holdfast/x/sub` resolve to source, not `dist`:
    // tests never run against a stale build. The packed artifacts are tested by
    // `scripts/smoke-packed.mjs` instead.
    alias: [
      { find: /^@holdfast\/([\w-]+)$/, replacement: `${root}packages/$1/src/index.ts` },
      { find: /^@holdfast\/([\w-]+)\/([\w-]+)$/, replacement: `${root}packages/$1/src/$2.ts` },
    ],
  },
  test: {
    restoreMocks: true,
    reporters: ['default', './scripts/plain-summary-reporter.ts'],
    projects: [
      ...packages.map((name) => ({
        extends: true as const,
        test: {
          name,
          root: `${root}packages/${name}`,
          include: ['test/**/*.test.ts'],
        },
      })),
      {
        extends: true as const,
        test: {
          name: 'workspace',
          root,
          include: ['test/**/*.test.ts', 'examples/**/*.test.ts'],
          exclude: [...configDefaults.exclude, ...staticChecks],
        },
      },
      {
        extends: true as const,
        test: { name: 'static', root, include: staticChecks },
      },
    ],
  },
});
