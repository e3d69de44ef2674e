// Types of markdown-links.mjs (a plain script, so that `node scripts/smoke-packed.mjs` can load it).
export interface MarkdownLink {
  readonly target: string;
  readonly line: number;
}
export function markdownLinks(markdown: string): MarkdownLink[];
export function unreachableLinks(
  markdown: string,
  pagePath: string,
  exists: (path: string) => boolean,
): MarkdownLink[];
