import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { runExampleModule } from '../../scripts/check-doc-examples.js';
import { markdownExamples } from '../../scripts/doc-examples.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** Each package's snippet, and a line of its output that shows the snippet did its job. */
const snippets = [
  { name: 'batch', prints: /verdict ok\ntail .*web-json\.log\ntail .*db-json\.log/ },
  { name: 'chunk-pool', prints: /otlp: 3 records/ },
  { name: 'crash-flush', prints: /collector: POST \/v1\/logs[^]*sent: 1\b/ },
  {
    name: 'reaper',
    prints: /check: timedOut true, signal SIGTERM\nbackend: healthy\nreaper: 0 zombies now/,
  },
] as const;

/** The names a piece of code imports from `@holdfast/<name>`. */
const importedNames = (code: string, name: string) =>
  [...code.matchAll(new RegExp(`import \\{([^}]*)\\} from '@holdfast/${name}'`, 'g'))]
    .flatMap((match) => match[1]!.split(','))
    .map((imported) => imported.trim())
    .filter((imported) => imported !== '')
    .sort();

describe.concurrent.for(snippets.map(({ name, prints }) => [name, prints] as const))(
  'examples/snippets/%s.ts',
  ([name, prints]) => {
    const path = fileURLToPath(new URL(`${name}.ts`, import.meta.url));

    test("uses everything the package README's block imports, and the README links to it", () => {
      const readme = fileURLToPath(new URL(`../../packages/${name}/README.md`, import.meta.url));
      const [use] = markdownExamples(root, readme);
      const shown = importedNames(use?.code ?? '', name);
      expect(shown.length).toBeGreaterThan(0);
      expect(importedNames(readFileSync(path, 'utf8'), name)).toEqual(
        expect.arrayContaining(shown),
      );
      expect(readFileSync(readme, 'utf8')).toContain(
        `(https://github.com/holdfast/holdfast/blob/main/examples/snippets/${name}.ts)`,
      );
    });

    test('runs from the repository root and exits 0', async () => {
      const result = await runExampleModule(root, path, 20_000);
      expect(result.exitCode, result.stderr).toBe(0);
      expect(result.stdout).toMatch(prints);
    }, 30_000);
  },
);
