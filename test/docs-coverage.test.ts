import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { undocumentedExports } from '../scripts/undocumented-exports.js';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const packages = ['batch', 'chunk-pool', 'crash-flush', 'reaper'];
const entries = packages
  .flatMap((name) => [
    `../packages/${name}/src/index.ts`,
    `../packages/${name}/src/testing.ts`,
    `../packages/${name}/src/otel.ts`,
  ])
  .map(here)
  .filter((file) => existsSync(file));

describe('API documentation', () => {
  test('every export of every public entry point has a doc comment; functions and classes an example', () => {
    expect(undocumentedExports(entries)).toEqual([]);
  }, 60_000);

  test('the check reports an undocumented export and a function without an example (control)', () => {
    const fixture = here('./fixtures/half-documented.ts');
    expect(undocumentedExports([fixture])).toEqual([
      `${fixture}: notShown (no @example)`,
      `${fixture}: undocumented`,
    ]);
  }, 60_000);
});
