// Every exported options type and every CLI flag follows docs/conventions.md. A name that breaks
// it fails; `KNOWN_DEVIATIONS` could list one that must wait for a major release, and a listed
// one that is gone fails too (take it off the list).
import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';
import {
  cliFlags,
  flagViolations,
  optionPaths,
  optionViolations,
} from '../scripts/convention-names.js';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const packages = ['batch', 'chunk-pool', 'crash-flush', 'reaper'];

/** Breaks of the conventions not yet renamed: none. A new one is renamed, not listed. */
const KNOWN_DEVIATIONS: readonly string[] = [];

function violations(): string[] {
  const entries = packages
    .flatMap((name) => [
      `../packages/${name}/src/index.ts`,
      `../packages/${name}/src/testing.ts`,
      `../packages/${name}/src/otel.ts`,
    ])
    .map(here)
    .filter((file) => existsSync(file));
  const clis = packages.flatMap((name) => {
    const dir = here(`../packages/${name}/src/cli/`);
    return existsSync(dir)
      ? readdirSync(dir)
          .filter((file) => file.endsWith('.ts'))
          .map((file) => ({ cli: `${name}/cli/${file}`, path: `${dir}${file}` }))
      : [];
  });
  return [
    ...optionViolations(optionPaths(entries)),
    ...clis.flatMap(({ cli, path }) => flagViolations(cli, cliFlags(path))),
  ];
}

test('control: each rule finds the name that breaks it in a fixture, and nothing else', () => {
  const fixture = here('./fixtures/conventions/bad-options.ts');
  expect(optionViolations(optionPaths([fixture]))).toEqual([
    'BadOptions.nested.intervalSeconds — a duration has no unit suffix',
    'BadOptions.retry.retries — retries are shaped as RetryOptions (maxAttempts, minDelay, maxDelay)',
    'BadOptions.timeoutMs — a duration has no unit suffix',
  ]);
  expect(flagViolations('bad-cli', cliFlags(fixture))).toEqual([
    'bad-cli --flush-timeout-ms — a duration flag takes a unit in its value, not its name',
    'bad-cli --fooBar — flags are kebab-case',
  ]);
}, 60_000);

test('every option and flag of the four packages follows the conventions, or is a known deviation', () => {
  const found = violations();
  expect(found.filter((v) => !KNOWN_DEVIATIONS.includes(v))).toEqual([]);
  expect(KNOWN_DEVIATIONS.filter((v) => !found.includes(v))).toEqual([]);
}, 60_000);
