import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import ts from 'typescript';

/**
 * One ` ```ts ` block found in a docs page or in a doc comment.
 *
 * The words after the language in the info string are its flags: ` ```ts run ` is also executed,
 * ` ```ts ignore ` is not type-checked at all (keep those rare, and say why next to the block).
 */
export interface DocExample {
  /** Where the block lives, relative to the workspace root, with `/` separators. */
  readonly file: string;
  /** The 1-based line of `file` that holds the block's first line of code. */
  readonly line: number;
  readonly code: string;
  readonly flags: ReadonlySet<string>;
  /**
   * The workspace package whose docs hold the block: `batch` for `packages/batch/src/**`,
   * `packages/batch/README.md` and `docs/batch.md`. Its exports need no import in the block.
   */
  readonly package: string | undefined;
  /** The block documents `packages/<package>/src/testing*`: `/testing` needs no import either. */
  readonly testing: boolean;
}

const FENCE_OPEN = /^(\s*)(`{3,})\s*(?:ts|typescript)(?:\s+(.*))?$/;

/**
 * The ` ```ts ` / ` ```typescript ` blocks in `lines`, the first of which is line `firstLine`
 * (1-based) of `file`. Doc-comment lines come here already stripped of their ` * ` prefix.
 */
function fencedBlocks(
  file: string,
  lines: readonly string[],
  firstLine: number,
  context: Pick<DocExample, 'package' | 'testing'>,
): DocExample[] {
  const examples: DocExample[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE_OPEN.exec(lines[i]!);
    if (open === null) continue;
    const [, indent = '', fence = '```', info = ''] = open;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length && lines[j]!.trim() !== fence; j++) {
      body.push(lines[j]!.slice(Math.min(indent.length, lines[j]!.search(/\S|$/))));
    }
    examples.push({
      file,
      line: firstLine + i + 1,
      code: body.join('\n'),
      flags: new Set(info.split(/\s+/).filter(Boolean)),
      ...context,
    });
    i = j;
  }
  return examples;
}

/** The package a docs page belongs to, if it is a package README or `docs/<package>.md`. */
function pageContext(file: string, packages: readonly string[]) {
  const name = /^(?:packages\/([\w-]+)\/README|docs\/([\w-]+))\.md$/.exec(file);
  const candidate = name?.[1] ?? name?.[2];
  return {
    package: candidate !== undefined && packages.includes(candidate) ? candidate : undefined,
    testing: false,
  };
}

/** Every TypeScript block of a Markdown page. */
export function markdownExamples(
  root: string,
  path: string,
  packages: readonly string[] = [],
): DocExample[] {
  const file = relative(root, path).split(sep).join('/');
  const lines = readFileSync(path, 'utf8').split('\n');
  return fencedBlocks(file, lines, 1, pageContext(file, packages));
}

/**
 * Every TypeScript block in the doc comments (`/** … *\/`) of a source file, found by walking
 * the file's syntax tree with the TypeScript compiler, so `/**` inside a string is never taken
 * for a comment.
 */
export function docCommentExamples(root: string, path: string): DocExample[] {
  const file = relative(root, path).split(sep).join('/');
  const text = readFileSync(path, 'utf8');
  const source = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true);
  const owner = /^packages\/([\w-]+)\/src\/(testing\b)?/.exec(file);
  const context = { package: owner?.[1], testing: owner?.[2] !== undefined };
  const seen = new Set<number>();
  const examples: DocExample[] = [];
  const visit = (node: ts.Node): void => {
    for (const doc of ts.getJSDocCommentsAndTags(node)) {
      if (!ts.isJSDoc(doc) || seen.has(doc.pos)) continue;
      seen.add(doc.pos);
      const start = doc.getStart(source);
      const lines = text
        .slice(start, doc.end)
        .split('\n')
        .map((line) => line.replace(/^\s*(?:\/\*\*|\*\/|\*(?!\/))? ?/, '').replace(/\s*\*\/$/, ''));
      const firstLine = source.getLineAndCharacterOfPosition(start).line + 1;
      examples.push(...fencedBlocks(file, lines, firstLine, context));
      examples.push(...inlineExamples(file, source, doc, context));
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return examples;
}

/**
 * The one-line `@example` tags written without a fence, as ``@example `isTimeoutError(error)` ``:
 * the code is the tag's text, without the backticks of an inline code span.
 */
function inlineExamples(
  file: string,
  source: ts.SourceFile,
  doc: ts.JSDoc,
  context: Pick<DocExample, 'package' | 'testing'>,
): DocExample[] {
  return (doc.tags ?? [])
    .filter((tag) => tag.tagName.text === 'example')
    .map((tag) => ({ tag, text: ts.getTextOfJSDocComment(tag.comment)?.trim() ?? '' }))
    .filter(({ text }) => text !== '' && !text.includes('```'))
    .map(({ tag, text }) => ({
      file,
      line: source.getLineAndCharacterOfPosition(tag.getStart(source)).line + 1,
      code: text.replace(/^`([^`]*)`$/, '$1'),
      flags: new Set<string>(),
      ...context,
    }));
}

/** The `.ts` files under `dir`, recursively, in a stable order. */
function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
}

/** The Markdown files directly in `dir`, in a stable order. */
function markdownFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => name.endsWith('.md'))
    .sort()
    .map((name) => join(dir, name));
}

/**
 * Every example of the workspace at `root`: the blocks of `README.md`, `packages/*\/README.md`,
 * `docs/*.md` and `docs/guides/*.md` (not `docs/api`, which is generated from the doc comments),
 * then those of the doc comments in `packages/*\/src`.
 */
export function workspaceExamples(root: string): DocExample[] {
  const packages = readdirSync(join(root, 'packages')).sort();
  const pages = [
    join(root, 'README.md'),
    ...packages.map((name) => join(root, 'packages', name, 'README.md')).filter(existsSync),
    ...markdownFiles(join(root, 'docs')),
    ...markdownFiles(join(root, 'docs', 'guides')),
  ];
  return [
    ...pages.flatMap((page) => markdownExamples(root, page, packages)),
    ...packages.flatMap((name) =>
      sourceFiles(join(root, 'packages', name, 'src')).flatMap((path) =>
        docCommentExamples(root, path),
      ),
    ),
  ];
}
