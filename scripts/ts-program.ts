import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/** The private package every package inlines, resolved as the workspace's tsconfig does. */
const INTERNAL = fileURLToPath(new URL('../packages/internal/src/index.ts', import.meta.url));

/**
 * One TypeScript program over a package's entry files, as a user's Node project sees them (the
 * workspace's module rules and its path to `@holdfast/internal`, strict). The doc-coverage,
 * naming-convention and option-table checks read it.
 */
export function entryProgram(entryFiles: readonly string[]): ts.Program {
  return ts.createProgram([...entryFiles], {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: ['node'],
    paths: { '@holdfast/internal': [INTERNAL] },
  });
}
