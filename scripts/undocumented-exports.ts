import ts from 'typescript';
import { entryProgram } from './ts-program.js';

/**
 * Lists the exports of the given entry files that carry no doc comment (`/** … *\/`), as
 * `entry: name`, and the exported functions and classes whose doc comment has no `@example`, as
 * `entry: name (no @example)`. Re-exports are followed to the declaration they name, so a barrel
 * that only re-exports is checked through to the files that declare things.
 */
export function undocumentedExports(entryFiles: readonly string[]): string[] {
  const program = entryProgram(entryFiles);
  const checker = program.getTypeChecker();
  const missing: string[] = [];
  for (const entry of entryFiles) {
    const source = program.getSourceFile(entry);
    const module = source === undefined ? undefined : checker.getSymbolAtLocation(source);
    if (module === undefined) {
      missing.push(`${entry}: (not a module)`);
      continue;
    }
    for (const exported of checker.getExportsOfModule(module)) {
      const symbol =
        exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      const documented =
        symbol.getDocumentationComment(checker).length > 0 ||
        (symbol.declarations ?? []).some((d) => ts.getJSDocCommentsAndTags(d).length > 0);
      if (!documented) {
        missing.push(`${entry}: ${exported.getName()}`);
        continue;
      }
      // Something a user calls or constructs shows how; a type or a constant need not.
      const callable = (symbol.flags & (ts.SymbolFlags.Function | ts.SymbolFlags.Class)) !== 0;
      const hasExample = (symbol.declarations ?? []).some((declaration) =>
        ts.getJSDocTags(declaration).some((tag) => tag.tagName.text === 'example'),
      );
      if (callable && !hasExample) missing.push(`${entry}: ${exported.getName()} (no @example)`);
    }
  }
  return missing;
}
