#!/usr/bin/env node
/**
 * holdfast-supervise: runs an agent as a child, reports its crashes with an exit diagnosis, and
 * exits exactly as the child did (its code, or its signal re-raised; as PID 1, 128 + the signal).
 *
 *   holdfast-supervise --service log-agent --otlp http://127.0.0.1:4318/v1/logs [--spool dir] -- node agent.js
 *   (also --http <url> or --file <path> as the sink; --restarts <n> restarts a crashed agent n times;
 *   --flush-timeout <duration> bounds sending the report, e.g. 500ms, 2s, 1m)
 *
 * A usage error exits 2 and says what is wrong; --help prints the usage and exits 0; a command
 * that cannot be found exits 127 (126 when it cannot be run), as a shell does.
 */
import { nearestName, parseDurationFlag } from '@holdfast/internal';
import { fileSink, httpSink, otlpLogsSink, type Sink } from '../sinks.js';
import { exitAs, supervise } from '../supervise.js';

const usage =
  'usage: holdfast-supervise --service <name> (--otlp <url> | --http <url> | --file <path>) [--spool <dir>] [--restarts <n>] [--flush-timeout <duration>] -- command [args...]';
const VALUE_FLAGS = [
  '--service',
  '--otlp',
  '--http',
  '--file',
  '--spool',
  '--restarts',
  '--flush-timeout',
];

function fail(message: string): never {
  process.stderr.write(`holdfast-supervise: ${message}\n${usage}\n`);
  process.exit(2);
}

/** `500ms`, `2s`, `1m`, `1h` in ms; a bare number is refused, saying it has no unit. */
function parseDuration(flag: string, text: string): number {
  try {
    return parseDurationFlag(text, flag);
  } catch (error) {
    fail((error as Error).message);
  }
}

const hint = (nearest: string | undefined) =>
  nearest === undefined ? '' : ` (did you mean ${nearest}?)`;

const argv = process.argv.slice(2);
const separatorAt = argv.indexOf('--');
const ownFlags = separatorAt === -1 ? argv : argv.slice(0, separatorAt);
if (ownFlags.includes('--help')) {
  process.stdout.write(`${usage}\n`);
  process.exit(0);
}
const separator = argv.indexOf('--');
if (separator === -1) fail('missing `--` and the command to run after it');
const [command, ...args] = argv.slice(separator + 1);
if (command === undefined) fail('missing the command to run after `--`');
const values = new Map<string, string>();
const flags = argv.slice(0, separator);
for (let i = 0; i < flags.length; i += 1) {
  const flag = flags[i]!;
  if (!VALUE_FLAGS.includes(flag))
    fail(`unknown flag ${flag}${hint(nearestName(flag, VALUE_FLAGS))}`);
  const value = flags[i + 1];
  if (value === undefined || value.startsWith('--')) fail(`${flag} needs a value`);
  values.set(flag, value);
  i += 1;
}
const service = values.get('--service');
if (service === undefined || service === '') fail('missing --service <name>');
const sinks = ['--otlp', '--http', '--file'].filter((f) => values.has(f));
if (sinks.length === 0) fail('missing a sink: --otlp <url>, --http <url> or --file <path>');
if (sinks.length > 1) fail(`one sink only, got ${sinks.join(' and ')}`);
let sink: Sink;
try {
  const target = values.get(sinks[0]!)!;
  sink =
    sinks[0] === '--otlp'
      ? otlpLogsSink({ url: target })
      : sinks[0] === '--http'
        ? httpSink({ url: target })
        : fileSink(target);
} catch (error) {
  fail(`${sinks[0]}: ${(error as Error).message}`);
}
const restartsText = values.get('--restarts') ?? '0';
const restarts = Number(restartsText);
if (!/^\d+$/.test(restartsText) || !Number.isSafeInteger(restarts))
  fail(`--restarts: expected an integer ≥ 0, got ${JSON.stringify(restartsText)}`);
const flushText = values.get('--flush-timeout');
const flushTimeout =
  flushText === undefined ? undefined : parseDuration('--flush-timeout', flushText);
const spoolDir = values.get('--spool');

async function main(): Promise<void> {
  const { diagnosis } = await supervise({
    command: command!,
    args,
    service: service!,
    sink,
    ...(spoolDir === undefined ? {} : { spoolDir }),
    ...(flushTimeout === undefined ? {} : { flushTimeout }),
    restart: { maxRestarts: restarts },
  });
  exitAs(diagnosis);
}

main().catch((error: unknown) => {
  const code = (error as { code?: unknown } | null)?.code;
  process.stderr.write(`holdfast-supervise: ${command}: ${(error as Error).message}\n`);
  // As a shell does: 127 for a command not found, 126 for one that cannot be run.
  process.exit(code === 'ENOENT' ? 127 : code === 'EACCES' ? 126 : 1);
});
