import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const root = fileURLToPath(new URL('.', import.meta.url));

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
        },
      },
    ],
  },
});
