/**
 * The arguments of holdfast-chunks (see chunks.ts): parsed apart from running them, so that
 * every usage error is tested without starting a process.
 *
 * @module
 */

export const USAGE = `usage:
  holdfast-chunks ls <dir> [--output NAME] [--json]
  holdfast-chunks inspect <dir> <output> <id> [--limit N] [--json]
  holdfast-chunks replay <dir> (--all | --id ID ...) [--output NAME] [--into NAME]
  holdfast-chunks drop <dir> (--all | --id ID ...) [--output NAME]

Lists, shows, replays or deletes the dead letters of a chunk-pool storage folder. A replayed dead
letter is delivered by the next pool that opens the folder (to --into, or to its own output).
replay and drop refuse while a pool holds the folder.
`;

export interface Args {
  command: 'ls' | 'inspect' | 'replay' | 'drop';
  positional: string[];
  output: string | undefined;
  into: string | undefined;
  ids: string[];
  all: boolean;
  json: boolean;
  limit: number;
}

export class UsageError extends Error {}

export function parseArgs(argv: readonly string[]): Args | 'help' {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h') return 'help';
  if (command !== 'ls' && command !== 'inspect' && command !== 'replay' && command !== 'drop') {
    throw new UsageError(`unknown command \`${command}\` (one of ls, inspect, replay, drop)`);
  }
  const args: Args = {
    command,
    positional: [],
    output: undefined,
    into: undefined,
    ids: [],
    all: false,
    json: false,
    limit: 20,
  };
  const value = (flag: string, text: string | undefined): string => {
    if (text === undefined || text.startsWith('--')) throw new UsageError(`${flag} needs a value`);
    return text;
  };
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!;
    if (arg === '--help' || arg === '-h') return 'help';
    else if (arg === '--output') args.output = value(arg, rest[++i]);
    else if (arg === '--into' && command === 'replay') args.into = value(arg, rest[++i]);
    else if (arg === '--id' && (command === 'replay' || command === 'drop')) {
      args.ids.push(value(arg, rest[++i]));
    } else if (arg === '--all' && (command === 'replay' || command === 'drop')) args.all = true;
    else if (arg === '--json' && (command === 'ls' || command === 'inspect')) args.json = true;
    else if (arg === '--limit' && command === 'inspect') {
      const text = value(arg, rest[++i]);
      if (!/^\d+$/.test(text))
        throw new UsageError(`--limit takes a whole number, got \`${text}\``);
      args.limit = Number(text);
    } else if (arg.startsWith('-'))
      throw new UsageError(`unknown option \`${arg}\` for ${command}`);
    else args.positional.push(arg);
  }
  const wanted = command === 'inspect' ? 3 : 1;
  if (args.positional.length !== wanted) {
    throw new UsageError(
      command === 'inspect' ? 'inspect takes <dir> <output> <id>' : `${command} takes one <dir>`,
    );
  }
  if ((command === 'replay' || command === 'drop') && args.all === args.ids.length > 0) {
    throw new UsageError(`${command}: say which, with --all or with --id ID (not both)`);
  }
  return args;
}
