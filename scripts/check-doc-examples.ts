import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import type { DocExample } from './doc-examples.js';

/** An example written out as a module of its own, ready to type-check and run. */
export interface ExampleModule {
  readonly example: DocExample;
  /** The absolute path of the `.ts` module. */
  readonly path: string;
}

/** A name a module exports, and whether it can be imported as a value. */
interface ExportedName {
  readonly name: string;
  readonly value: boolean;
}

/** Stand-ins for the reader's own code (`docker`, `logger`, …), declared once for every example. */
const PLACEHOLDERS = 'scripts/doc-example-placeholders.ts';

/** The workspace's compiler options: `tsconfig.json`, whose `paths` map `@holdfast/x` to source. */
function workspaceOptions(root: string): ts.CompilerOptions {
  const path = join(root, 'tsconfig.json');
  const { config } = ts.readConfigFile(path, (file) => ts.sys.readFile(file));
  return ts.parseJsonConfigFileContent(config, ts.sys, root, undefined, path).options;
}

/** The names `entry` exports, following re-exports to decide which are values. */
function exportsOf(program: ts.Program, entry: string): ExportedName[] {
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(entry);
  const module = source === undefined ? undefined : checker.getSymbolAtLocation(source);
  if (module === undefined) throw new Error(`${entry} is not a module`);
  return checker.getExportsOfModule(module).map((exported) => {
    const typeOnly = (exported.declarations ?? []).some(ts.isTypeOnlyImportOrExportDeclaration);
    const symbol =
      exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
    return {
      name: exported.getName(),
      value: !typeOnly && (symbol.flags & ts.SymbolFlags.Value) !== 0,
    };
  });
}

/** The names a block declares at its top level: imports, variables, functions, classes, types. */
function topLevelNames(code: string): Set<string> {
  const source = ts.createSourceFile('block.ts', code, ts.ScriptTarget.Latest);
  const names = new Set<string>();
  const bind = (name: ts.BindingName): void => {
    if (ts.isIdentifier(name)) names.add(name.text);
    else
      for (const element of name.elements) if (!ts.isOmittedExpression(element)) bind(element.name);
  };
  for (const statement of source.statements) {
    if (ts.isImportDeclaration(statement)) {
      const clause = statement.importClause;
      if (clause?.name !== undefined) names.add(clause.name.text);
      const bindings = clause?.namedBindings;
      if (bindings !== undefined && ts.isNamespaceImport(bindings)) names.add(bindings.name.text);
      if (bindings !== undefined && ts.isNamedImports(bindings)) {
        for (const element of bindings.elements) names.add(element.name.text);
      }
    } else if (ts.isVariableStatement(statement)) {
      for (const declaration of statement.declarationList.declarations) bind(declaration.name);
    } else if (
      (ts.isFunctionDeclaration(statement) ||
        ts.isClassDeclaration(statement) ||
        ts.isInterfaceDeclaration(statement) ||
        ts.isTypeAliasDeclaration(statement) ||
        ts.isEnumDeclaration(statement)) &&
      statement.name !== undefined
    ) {
      names.add(statement.name.text);
    }
  }
  return names;
}

/**
 * The import lines appended to an example: `from` names the block uses but does not declare.
 * Every name not declared is imported (an unused import is harmless), values and types apart
 * because `verbatimModuleSyntax` wants `import type` for types.
 */
function importLines(
  sources: readonly { readonly from: string; readonly names: readonly ExportedName[] }[],
  declared: Set<string>,
): string[] {
  const taken = new Set(declared);
  const lines: string[] = [];
  for (const { from, names } of sources) {
    const fresh = names.filter(({ name }) => !taken.has(name));
    for (const { name } of fresh) taken.add(name);
    const values = fresh.filter((n) => n.value).map((n) => n.name);
    const types = fresh.filter((n) => !n.value).map((n) => n.name);
    if (values.length > 0) lines.push(`import { ${values.join(', ')} } from '${from}';`);
    if (types.length > 0) lines.push(`import type { ${types.join(', ')} } from '${from}';`);
  }
  return lines;
}

/** A line `expression; // => value` of a runnable block: a claim the run checks. */
const CLAIM = /^(\s*)([^;]+);\s*\/\/ => (.+)$/;

/**
 * The code of a runnable block with each claim `expression; // => value` turned into an
 * assertion that `expression` deep-equals `value`, on the same line.
 */
function withClaimsChecked(example: DocExample): string {
  return example.code
    .split('\n')
    .map((line, i) => {
      const claim = CLAIM.exec(line);
      if (claim === null) return line;
      const [, indent, actual, expected] = claim;
      const where = JSON.stringify(`${example.file}:${example.line + i}`);
      return `${indent}assertDocClaim(${actual}, ${expected}, ${where});`;
    })
    .join('\n');
}

/**
 * Writes each example into `dir` (created inside `root`, so that packages resolve from the
 * workspace's `node_modules`) as a module of its own: the block's code, line for line, then the
 * imports the conventions allow it to leave out — after the code, so that line n of the module
 * is line n of the block. A block may use without importing:
 * - the exports of the package it documents (and of its `/testing` entry, from `src/testing*`);
 * - unless it is marked `run`, the placeholders of `scripts/doc-example-placeholders.ts`.
 * In a block marked `run`, each line `expression; // => value` becomes an assertion.
 *
 * Returns the modules and the program that read the entry points, to be reused.
 */
export function writeExampleModules(
  root: string,
  examples: readonly DocExample[],
  dir: string,
): { modules: ExampleModule[]; program: ts.Program } {
  const options = workspaceOptions(root);
  const placeholders = join(root, PLACEHOLDERS);
  const packages = [
    ...new Set(examples.flatMap((e) => (e.package === undefined ? [] : [e.package]))),
  ];
  const entry = (name: string, testing: boolean) =>
    join(root, 'packages', name, 'src', testing ? 'testing.ts' : 'index.ts');
  const entries = packages
    .flatMap((name) => [entry(name, false), entry(name, true)])
    .filter(existsSync);
  const program = ts.createProgram([placeholders, ...entries], options);
  const exported = new Map(entries.map((path) => [path, exportsOf(program, path)]));
  const placeholderNames = exportsOf(program, placeholders);

  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
  const modules = examples.map((example, index) => {
    const path = join(dir, `example-${index}.ts`);
    const sources: { from: string; names: readonly ExportedName[] }[] = [];
    const { package: name, testing } = example;
    if (name !== undefined && testing && existsSync(entry(name, true))) {
      sources.push({ from: `@holdfast/${name}/testing`, names: exported.get(entry(name, true))! });
    }
    if (name !== undefined) {
      sources.push({ from: `@holdfast/${name}`, names: exported.get(entry(name, false)) ?? [] });
    }
    if (!example.flags.has('run')) {
      const from = relative(dir, placeholders).replace(/\.ts$/, '.js');
      sources.push({ from, names: placeholderNames });
    }
    const imports = importLines(sources, topLevelNames(example.code));
    const code = example.flags.has('run') ? withClaimsChecked(example) : example.code;
    if (code !== example.code) {
      imports.push(`import { deepStrictEqual as assertDocClaim } from 'node:assert/strict';`);
    }
    writeFileSync(path, [code, '', ...imports, 'export {};', ''].join('\n'));
    return { example, path };
  });
  return { modules, program };
}

/**
 * Type-checks every module as one program with the workspace's compiler options, and returns one
 * line per diagnostic: `file:line: TS<code> message`, `file:line` being where the offending code
 * is in the docs or the doc comment.
 */
export function typeCheckExamples(
  root: string,
  modules: readonly ExampleModule[],
  oldProgram?: ts.Program,
): string[] {
  const program = ts.createProgram({
    rootNames: modules.map((m) => m.path),
    options: workspaceOptions(root),
    ...(oldProgram === undefined ? {} : { oldProgram }),
  });
  return modules.flatMap(({ example, path }) => {
    const source = program.getSourceFile(path);
    if (source === undefined) return [`${example.file}:${example.line}: not compiled`];
    const blockLines = example.code.split('\n').length;
    return [
      ...program.getSyntacticDiagnostics(source),
      ...program.getSemanticDiagnostics(source),
    ].map((diagnostic) => {
      const { line } = source.getLineAndCharacterOfPosition(diagnostic.start ?? 0);
      const where =
        line < blockLines ? `${example.line + line}` : `${example.line} (an implicit import)`;
      const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
      return `${example.file}:${where}: TS${diagnostic.code} ${message}`;
    });
  });
}

/** How a run of an example ended. */
export interface ExampleRun {
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs a module with `node --import tsx` from `root` (where `tsconfig.json` maps `@holdfast/x`
 * to source); a run past `timeoutMs` is killed with SIGKILL.
 */
export function runExampleModule(
  root: string,
  path: string,
  timeoutMs: number,
): Promise<ExampleRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', path],
      { cwd: root, timeout: timeoutMs, killSignal: 'SIGKILL' },
      (error, stdout, stderr) => {
        const failure = error as (Error & { code?: unknown; signal?: NodeJS.Signals }) | null;
        resolve({
          exitCode: failure === null ? 0 : typeof failure.code === 'number' ? failure.code : null,
          signal: failure?.signal ?? null,
          stdout,
          stderr,
        });
      },
    );
  });
}

/** A fresh folder for example modules under `root`'s git-ignored `.holdfast-tmp`. */
export function exampleModulesDir(root: string): string {
  mkdirSync(join(root, '.holdfast-tmp'), { recursive: true });
  return mkdtempSync(join(root, '.holdfast-tmp', 'doc-examples-'));
}
