// The links of a markdown page, and those of them a reader cannot follow: a relative link to a
// file that is not there. Used on packed READMEs (`scripts/smoke-packed.mjs`: only the tarball is
// there, on the registry) and on the repository's pages (`test/markdown-links.test.ts`: only what
// a fresh clone holds).
import { posix } from 'node:path';

/**
 * Every link target of a page, with its line: inline links and images `[text](target)` and
 * reference definitions `[label]: target`. Code (fenced blocks and `spans`) is not prose: skipped.
 * @param {string} markdown
 * @returns {{ target: string, line: number }[]}
 */
export function markdownLinks(markdown) {
  const links = [];
  let fenced = false;
  markdown.split('\n').forEach((text, index) => {
    if (/^\s*(```|~~~)/.test(text)) fenced = !fenced;
    if (fenced) return;
    const prose = text.replace(/`[^`]*`/g, '');
    for (const match of prose.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+("[^"]*"|'[^']*'))?\s*\)/g)) {
      links.push({ target: match[1], line: index + 1 });
    }
    const definition = /^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+("[^"]*"|'[^']*'|\([^)]*\)))?\s*$/.exec(
      prose,
    );
    if (definition) links.push({ target: definition[1], line: index + 1 });
  });
  return links;
}

/**
 * The links of a page at `pagePath` (relative to a root, POSIX separators) that point at a file
 * `exists` does not know. Absolute URLs (`https:`, `mailto:` …) and same-page anchors are
 * followable anywhere; a relative link must resolve inside the root to an existing file.
 * @param {string} markdown
 * @param {string} pagePath
 * @param {(path: string) => boolean} exists
 * @returns {{ target: string, line: number }[]}
 */
export function unreachableLinks(markdown, pagePath, exists) {
  return markdownLinks(markdown).filter(({ target }) => {
    if (/^[a-z][a-z\d+.-]*:/i.test(target) || target.startsWith('#')) return false;
    if (target.startsWith('/')) return true;
    const path = posix.normalize(posix.join(posix.dirname(pagePath), target.split('#')[0]));
    return path.startsWith('..') || !exists(path);
  });
}
