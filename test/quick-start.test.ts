import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
// @ts-expect-error: a plain .mjs script without declarations, shared with .ci/run.
import { quickStartCommands } from '../scripts/quick-start.mjs';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const ci = readFileSync(new URL('../.ci/run', import.meta.url), 'utf8');

describe('README Quick start', () => {
  test('holds exactly two commands: install + demo, then the tests', () => {
    const { demo, test: tests } = quickStartCommands(readme) as { demo: string; test: string };
    expect(demo).toMatch(/npm (i|install) -g pnpm@\S+ && pnpm install .*&& pnpm demo$/);
    expect(tests).toMatch(/pnpm test$/);
  });

  test('.ci/run runs the README test command, not a copy of it', () => {
    expect(ci).toContain('node scripts/quick-start.mjs test');
  });

  test('pins the same pnpm the workspace declares', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      packageManager: string;
    };
    const { demo } = quickStartCommands(readme) as { demo: string };
    expect(demo).toContain(pkg.packageManager);
  });

  test('rejects a block that does not hold exactly two commands', () => {
    expect(() => quickStartCommands('## Quick start\n\n```sh\nonly one\n```\n')).toThrow(
      /exactly two commands, found 1/,
    );
  });
});
