import ts from 'typescript';

/**
 * One TypeScript program over a package's entry files, as a user's Node project sees them (the
 * workspace's module rules, strict). The doc-coverage and naming-convention checks read it.
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
  });
}
