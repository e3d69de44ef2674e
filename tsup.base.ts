import { defineConfig, type Options } from 'tsup';

/**
 * The one build every package shares: ESM and CJS side by side, each with its own declaration
 * file (`.d.ts` for `import`, `.d.cts` for `require`), for Node 20 and newer. `@holdfast/internal`
 * (private, never published) is inlined into code and declarations alike, so a published package
 * has no runtime dependency; `pnpm check:packages` fails if a built file still names it.
 */
export function packageBuild(entry: Record<string, string>, overrides: Options = {}) {
  return defineConfig({
    entry,
    format: ['esm', 'cjs'],
    dts: true,
    clean: true,
    target: 'node20',
    platform: 'node',
    sourcemap: true,
    noExternal: ['@holdfast/internal'],
    ...overrides,
  });
}
