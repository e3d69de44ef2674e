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

/** One option of an exported `…Options` type, as the walk finds it. */
export interface OptionField {
  /** `Type.path.to.option`. */
  readonly path: string;
  /** Its declared type, without `undefined`, as TypeScript prints it (`number | RetryOptions`). */
  readonly type: string;
  /** Whether a plain `number` is one of the values it takes (a duration, a count, a size …). */
  readonly numeric: boolean;
  /** Whether it is an object of options the walk went into (its fields are listed too). */
  readonly nested: boolean;
}

/** Every option path of the exported `…Options` types of `entryFiles`, as `Type.path.to.option`. */
export function optionPaths(entryFiles: readonly string[]): string[] {
  return optionFields(entryFiles).map((field) => field.path);
}

/**
 * Every option of the exported `…Options` types of `entryFiles`, sorted by path: the one walk
 * that both the naming check (`test/conventions.test.ts`) and the bad-value table
 * (`test/option-table.test.ts`) read, so an option added later is seen by both.
 */
export function optionFields(entryFiles: readonly string[]): OptionField[] {
  const program = entryProgram(entryFiles);
  const checker = program.getTypeChecker();
  const fields = new Map<string, OptionField>();
  const add = (field: OptionField) => fields.set(field.path, field);

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
        const declaration = property.valueDeclaration ?? property.declarations?.[0];
        if (declaration === undefined) {
          add({ path: childPath, type: 'unknown', numeric: false, nested: false });
          continue;
        }
        const type = checker.getNonNullableType(
          checker.getTypeOfSymbolAtLocation(property, declaration),
        );
        const parts = type.isUnion() ? type.types : [type];
        add({
          path: childPath,
          type: checker.typeToString(type),
          numeric: parts.some((t) => (t.flags & ts.TypeFlags.NumberLike) !== 0),
          nested: parts.some(
            (t) =>
              (t.flags & ts.TypeFlags.Object) !== 0 &&
              checker.getSignaturesOfType(t, ts.SignatureKind.Call).length === 0 &&
              !checker.isArrayType(t) &&
              !isForeign(t),
          ),
        });
        walk(type, childPath, depth + 1);
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
  return [...fields.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
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
