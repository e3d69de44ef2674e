/**
 * Runs one CLI's source once per case, in this one process, for test/option-table-cli.test.ts:
 * each case sets `process.argv`, imports the CLI afresh (a query string per case) with
 * `process.exit` and stderr captured, and the results go to stdout as JSON. Only for usage
 * errors, which a CLI reports before it starts any work; a run that is accepted is a real child.
 *
 *   node --import tsx cli-driver.ts <cli.ts> '[["--grace", "5", "--", "true"], …]'
 */
import { pathToFileURL } from 'node:url';

const EXIT = Symbol('process.exit');
const [cli = '', casesJson = '[]'] = process.argv.slice(2);
const cases = JSON.parse(casesJson) as string[][];
const node = process.argv[0] ?? process.execPath;
const realExit = process.exit.bind(process);
const realWrite = process.stderr.write.bind(process.stderr);
const results: { code: number; stderr: string }[] = [];

for (const [i, args] of cases.entries()) {
  let stderr = '';
  let code: number | undefined;
  process.argv = [node, cli, ...args];
  process.exitCode = undefined;
  process.exit = ((exitCode?: number) => {
    code = exitCode ?? 0;
    throw EXIT;
  }) as typeof process.exit;
  process.stderr.write = ((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  }) as typeof process.stderr.write;
  try {
    await import(`${pathToFileURL(cli).href}?case=${i}`);
  } catch (error) {
    if (error !== EXIT) stderr += String(error);
  } finally {
    process.exit = realExit;
    process.stderr.write = realWrite;
  }
  results.push({ code: code ?? Number(process.exitCode ?? 0), stderr });
}
process.exitCode = 0;
process.stdout.write(JSON.stringify(results));
