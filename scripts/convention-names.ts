/**
 * The names of every option of a set of entry points (every exported `…Options` type, walked
 * through its nested object types) and of every command-line flag of a set of CLI sources, each
 * checked against docs/conventions.md. Used by `test/conventions.test.ts`.
 */
import { readFileSync } from 'node:fs';
import ts from 'typescript';
import { entryProgram } from './ts-program.js';

/** One name that breaks a rule, as `where: path — rule`. */
export type Violation = string;

/** Option names that carry a unit of time: the unit belongs in the docs, not the name. */
const TIME_UNIT_SUFFIX = /(Ms|Millis|Milliseconds|Seconds|Secs?|Minutes|Mins?)$/;
/** Retry fields that are not part of the one `RetryOptions` shape. */
const FOREIGN_RETRY_FIELDS = new Set(['retries', 'attempts', 'maxRetries', 'delay', 'backoff']);

/** Every option path of the exported `…Options` types of `entryFiles`, as `Type.path.to.option`. */
export function optionPaths(entryFiles: readonly string[]): string[] {
  const program = entryProgram(entryFiles);
  const checker = program.getTypeChecker();
  const paths = new Set<string>();

  const walk = (type: ts.Type, path: string, depth: number): void => {
    if (depth > 4) return;
    for (const part of type.isUnion() ? type.types : [type]) {
      if (
        !(part.flags & ts.TypeFlags.Object) ||
        checker.getSignaturesOfType(part, ts.SignatureKind.Call).length > 0
      )
        continue;
      if (checker.isArrayType(part) || isForeign(part)) continue;
      for (const property of checker.getPropertiesOfType(part)) {
        const name = property.getName();
        if (name.startsWith('__@')) continue; // symbol keys (Symbol.asyncDispose …) are no options
        const childPath = `${path}.${name}`;
        paths.add(childPath);
        const declaration = property.valueDeclaration ?? property.declarations?.[0];
        if (declaration === undefined) continue;
        walk(
          checker.getNonNullableType(checker.getTypeOfSymbolAtLocation(property, declaration)),
          childPath,
          depth + 1,
        );
      }
    }
  };

  for (const entry of entryFiles) {
    const source = program.getSourceFile(entry);
    const module = source === undefined ? undefined : checker.getSymbolAtLocation(source);
    if (module === undefined) throw new Error(`${entry}: not a module`);
    for (const exported of checker.getExportsOfModule(module)) {
      if (!exported.getName().endsWith('Options')) continue;
      const symbol =
        exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      walk(checker.getDeclaredTypeOfSymbol(symbol), exported.getName(), 0);
    }
  }
  return [...paths].sort();
}

/** A type declared outside the workspace's packages (AbortSignal, Node's own options …). */
function isForeign(type: ts.Type): boolean {
  const declarations = (type.aliasSymbol ?? type.getSymbol())?.declarations ?? [];
  return declarations.some((d) => /node_modules|typescript\/lib/.test(d.getSourceFile().fileName));
}

/** The options that break a naming rule. */
export function optionViolations(paths: readonly string[]): Violation[] {
  return paths.flatMap((path) => {
    const segments = path.split('.');
    const name = segments.at(-1) ?? '';
    const parent = segments.at(-2) ?? '';
    const found: Violation[] = [];
    if (TIME_UNIT_SUFFIX.test(name)) found.push(`${path} — a duration has no unit suffix`);
    if (parent === 'retry' && FOREIGN_RETRY_FIELDS.has(name)) {
      found.push(`${path} — retries are shaped as RetryOptions (maxAttempts, minDelay, maxDelay)`);
    }
    return found;
  });
}

/** Every `--flag` a CLI source mentions (its parser and its usage text). */
export function cliFlags(sourceFile: string): string[] {
  const text = readFileSync(sourceFile, 'utf8');
  return [
    ...new Set([...text.matchAll(/(?<![\w-])--([a-zA-Z][\w-]*)/g)].map((m) => `--${m[1]}`)),
  ].sort();
}

/** The flags that break a naming rule. */
export function flagViolations(cli: string, flags: readonly string[]): Violation[] {
  return flags.flatMap((flag) => {
    const found: Violation[] = [];
    if (!/^--[a-z][a-z0-9]*(-[a-z0-9]+)*$/.test(flag))
      found.push(`${cli} ${flag} — flags are kebab-case`);
    if (/-(ms|millis|seconds|secs?|minutes|mins?)$/.test(flag)) {
      found.push(`${cli} ${flag} — a duration flag takes a unit in its value, not its name`);
    }
    return found;
  });
}
