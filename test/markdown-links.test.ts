// Every link of the repository's pages reaches something a fresh clone holds (or is absolute), and
// the checker that says so can fail: a control page with unreachable links is caught, line by line.
// The packed READMEs get the same check against their tarball in `scripts/smoke-packed.mjs`.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';
import { unreachableLinks } from '../scripts/markdown-links.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
/** What a fresh clone holds: the tracked files, and the folders they are in. */
const tracked = execFileSync('git', ['ls-files'], { cwd: root, encoding: 'utf8' })
  .split('\n')
  .filter(Boolean);
const inClone = new Set(
  tracked.flatMap((file) => file.split('/').map((_, i, parts) => parts.slice(0, i + 1).join('/'))),
);

test('control: the checker finds each unreachable link of a page, and only those', () => {
  const page = 'test/fixtures/links/broken.md';
  const markdown = readFileSync(`${root}${page}`, 'utf8');
  const marked = markdown
    .split('\n')
    .flatMap((line, index) =>
      line.endsWith('unreachable -->') || line.endsWith("'unreachable'") ? [index + 1] : [],
    );
  const found = unreachableLinks(markdown, page, (path) => inClone.has(path));
  expect(found.map((link) => link.line)).toEqual(marked);
  expect(marked).toHaveLength(3);
});

test('every link of every tracked page reaches a file of a fresh clone, or is absolute', () => {
  const pages = tracked.filter(
    (file) => file.endsWith('.md') && !file.startsWith('test/fixtures/'),
  );
  expect(pages.length).toBeGreaterThan(10);
  const broken = pages.flatMap((page) =>
    unreachableLinks(readFileSync(`${root}${page}`, 'utf8'), page, (path) => inClone.has(path)).map(
      ({ target, line }) => `${page}:${line}: ${target}`,
    ),
  );
  expect(broken).toEqual([]);
});
