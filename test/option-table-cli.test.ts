// The bad-value table of docs/conventions.md for command-line flags: every flag every CLI source
// mentions (the walk of test/conventions.test.ts) is a duration flag, a count flag or another
// flag said to be one; each duration flag is given a bare number (an error that says a unit is
// required), NaN, a negative and a huge value (accepted), each CLI a misspelt flag (an error
// naming the nearest one). The usage errors of one CLI run in one child (a driver that imports
// the CLI's source once per case); each accepted run is a real child of its own.
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';
import { cliFlags } from '../scripts/convention-names.js';

const source = (path: string) => fileURLToPath(new URL(`../packages/${path}`, import.meta.url));
const exitAtOnce = ['--', process.execPath, '-e', ''];
const spoolFile = join(mkdtempSync(join(tmpdir(), 'holdfast-cli-table-')), 'reports.jsonl');

interface Cli {
  readonly path: string;
  /** The exit code of a usage error. */
  readonly usageExit: number;
  /** Arguments around the flag under test that make a run succeed or end at once. */
  readonly args: (flag: readonly string[]) => string[];
  readonly durations: readonly string[];
  readonly counts: readonly string[];
  /** Flags that take neither, and why they are not in the table. */
  readonly others: Readonly<Record<string, string>>;
}

const CLIS: readonly Cli[] = [
  {
    path: 'crash-flush/src/cli/supervise.ts',
    usageExit: 2,
    args: (flag) => ['--service', 'table', '--file', spoolFile, ...flag, ...exitAtOnce],
    durations: ['--flush-timeout'],
    counts: ['--restarts'],
    others: {
      '--service': 'a name',
      '--otlp': 'a URL (checked by the sink: crash-flush tests)',
      '--http': 'a URL (checked by the sink: crash-flush tests)',
      '--file': 'a path',
      '--spool': 'a folder',
      '--help': 'takes no value',
    },
  },
  {
    path: 'reaper/src/cli/init.ts',
    usageExit: 2,
    args: (flag) => [...flag, ...exitAtOnce],
    durations: ['--grace'],
    counts: [],
    others: { '--help': 'takes no value' },
  },
  {
    // A usage error exits 1, as "unhealthy" does: Docker reserves a HEALTHCHECK's exit code 2.
    path: 'reaper/src/cli/probe.ts',
    usageExit: 1,
    args: (flag) => ['http://127.0.0.1:1/', ...flag],
    durations: ['--timeout'],
    counts: [],
    others: { '--status': 'a status range (reaper CLI tests)', '--help': 'takes no value' },
  },
];

interface Ended {
  readonly code: number | null;
  readonly stderr: string;
}

function spawnNode(args: readonly string[]): Promise<Ended & { stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stderr, stdout }));
  });
}

/** Runs the CLI for real, in a child of its own: for a run that is accepted. */
const runCli = (path: string, args: readonly string[]) => spawnNode([source(path), ...args]);

/** Runs every usage-error case of one CLI in one child (test/option-table/cli-driver.ts). */
async function runUsageErrors(path: string, cases: readonly string[][]): Promise<Ended[]> {
  const driver = fileURLToPath(new URL('./option-table/cli-driver.ts', import.meta.url));
  const { code, stdout, stderr } = await spawnNode([driver, source(path), JSON.stringify(cases)]);
  if (code !== 0) throw new Error(`the CLI driver failed: ${stderr}`);
  return JSON.parse(stdout) as Ended[];
}

/** A misspelling of `flag`: its last letter dropped. */
const misspelt = (flag: string) => flag.slice(0, -1);

test.each(CLIS)('$path: every flag is in the table', (cli) => {
  const listed = [...cli.durations, ...cli.counts, ...Object.keys(cli.others)].sort();
  expect(cliFlags(source(cli.path))).toEqual(listed);
});

test.each(CLIS)(
  '$path: bad duration and count values are usage errors; a huge value is accepted',
  async (cli) => {
    const cases = [
      ...cli.durations.flatMap((flag) => [
        { flag, value: '5', error: /a bare number has no unit/ },
        { flag, value: 'NaN', error: /"NaN"/ },
        { flag, value: '-5s', error: /"-5s"/ },
        { flag, value: '1000000h', error: undefined },
      ]),
      ...cli.counts.flatMap((flag) => [
        { flag, value: 'NaN', error: /"NaN"/ },
        { flag, value: '-1', error: /"-1"/ },
        { flag, value: '1000000000', error: undefined },
      ]),
      ...cli.durations.map((flag) => ({
        flag: misspelt(flag),
        value: '1s',
        error: new RegExp(`unknown flag .*${misspelt(flag)}.*did you mean ${flag}\\?`),
      })),
    ];
    const args = cases.map((c) => cli.args([c.flag, c.value]));
    const refused = cases.flatMap((c, i) => (c.error === undefined ? [] : [args[i]!]));
    const [errors, accepted] = await Promise.all([
      runUsageErrors(cli.path, refused),
      Promise.all(
        cases.flatMap((c, i) => (c.error === undefined ? [runCli(cli.path, args[i]!)] : [])),
      ),
    ]);
    const ended = cases.map((c) => (c.error === undefined ? accepted.shift()! : errors.shift()!));
    cases.forEach(({ flag, value, error }, i) => {
      const { code, stderr } = ended[i]!;
      const what = `${flag} ${value}: exit ${code}, ${stderr}`;
      if (error === undefined) {
        // Accepted: no usage error (the probe's target refuses the connection: unhealthy, 1).
        expect(stderr, what).not.toMatch(/usage:|expected/);
        expect(code, what).toBe(cli.path.endsWith('probe.ts') ? 1 : 0);
      } else {
        expect(code, what).toBe(cli.usageExit);
        expect(stderr, what).toContain(flag);
        expect(stderr, what).toMatch(error);
      }
    });
  },
  30_000,
);
