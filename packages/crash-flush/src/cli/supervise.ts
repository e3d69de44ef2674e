#!/usr/bin/env node
/**
 * holdfast-supervise: runs an agent as a child, reports its crashes with an exit diagnosis, and
 * exits exactly as the child did (its code, or its signal re-raised; as PID 1, 128 + the signal).
 *
 *   holdfast-supervise --service log-agent --otlp http://127.0.0.1:4318/v1/logs [--spool dir] -- node agent.js
 *   (also --http <url> or --file <path> as the sink; --restarts <n> restarts a crashed agent n times)
 */
import { fileSink, httpSink, otlpLogsSink, type Sink } from '../sinks.js';
import { exitAs, supervise } from '../supervise.js';

const usage =
  'usage: holdfast-supervise --service <name> (--otlp <url> | --http <url> | --file <path>) [--spool <dir>] [--restarts <n>] -- command [args...]';

const separator = process.argv.indexOf('--');
const flags = process.argv.slice(2, separator === -1 ? undefined : separator);
const [command, ...args] = separator === -1 ? [] : process.argv.slice(separator + 1);
const flag = (name: string) => {
  const i = flags.indexOf(`--${name}`);
  return i === -1 ? undefined : flags[i + 1];
};
const service = flag('service');
const sinkFlag = flag('otlp') ?? flag('http') ?? flag('file');
if (command === undefined || service === undefined || sinkFlag === undefined) {
  process.stderr.write(`${usage}\n`);
  process.exit(2);
}
const sink: Sink =
  flag('otlp') !== undefined
    ? otlpLogsSink({ url: sinkFlag })
    : flag('http') !== undefined
      ? httpSink({ url: sinkFlag })
      : fileSink(sinkFlag);
const spoolDir = flag('spool');
const restarts = Number(flag('restarts') ?? 0);
if (!Number.isInteger(restarts) || restarts < 0) {
  process.stderr.write(
    `holdfast-supervise: Expected --restarts to be an integer >= 0, got \`${flag('restarts')}\`\n`,
  );
  process.exit(2);
}

async function main(): Promise<void> {
  const { diagnosis } = await supervise({
    command: command!,
    args,
    service: service!,
    sink,
    ...(spoolDir === undefined ? {} : { spoolDir }),
    restart: { maxRestarts: restarts },
  });
  exitAs(diagnosis);
}

main().catch((error: unknown) => {
  process.stderr.write(`holdfast-supervise: ${(error as Error).message}\n`);
  process.exit(1);
});
