/**
 * Where things live: each entry point's options type is declared beside it, and no two source
 * files import each other, even type-only (a newcomer follows imports to find a type).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { expect, test } from 'vitest';
import { packageRoot } from './support.js';

const src = join(packageRoot, 'src');
const files = (readdirSync(src, { recursive: true }) as string[])
  .filter((f) => f.endsWith('.ts'))
  .map((f) => join(src, f));

/** Every relative import of a file (`import`, `import type`, `export … from`), as absolute paths. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/from '(\.{1,2}\/[^']+)\.js'/g)].map((m) =>
    resolve(dirname(file), `${m[1]}.ts`),
  );
}

test('no import cycle among the source files, type-only imports included', () => {
  const graph = new Map(files.map((f) => [f, importsOf(f)]));
  const cycles: string[] = [];
  const visit = (file: string, path: string[]) => {
    if (path.includes(file)) {
      cycles.push(
        [...path.slice(path.indexOf(file)), file].map((f) => relative(src, f)).join(' -> '),
      );
      return;
    }
    for (const next of graph.get(file) ?? []) visit(next, [...path, file]);
  };
  for (const file of files) visit(file, []);
  expect(cycles).toEqual([]);
});

test.each([
  ['run.ts', 'RunOptions'],
  ['health-check.ts', 'HealthCheckOptions'],
  ['wait-until-healthy.ts', 'WaitOptions'],
  ['reaper.ts', 'ReaperOptions'],
  ['probe.ts', 'HttpProbeOptions'],
])('%s declares %s', (file, type) => {
  expect(readFileSync(join(src, file), 'utf8')).toContain(`export interface ${type} {`);
});
