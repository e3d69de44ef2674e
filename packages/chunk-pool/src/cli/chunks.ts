#!/usr/bin/env node
/**
 * holdfast-chunks: the dead letters of a file-storage folder, for an operator after an outage.
 *
 *   holdfast-chunks ls <dir> [--output NAME] [--json]
 *   holdfast-chunks inspect <dir> <output> <id> [--limit N] [--json]
 *   holdfast-chunks replay <dir> (--all | --id ID ...) [--output NAME] [--into NAME]
 *   holdfast-chunks drop <dir> (--all | --id ID ...) [--output NAME]
 *
 * `replay` and `drop` refuse while a pool holds the folder (see dead-letters.ts for why a replay
 * killed half way delivers nothing twice). They print one line per dead letter as it is done.
 */
import {
  dropDeadLetters,
  listDeadLetters,
  readDeadLetter,
  replayDeadLetters,
  type DeadLetter,
} from '../dead-letters.js';

import { parseArgs, USAGE, type Args } from './chunks-args.js';

const kib = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KiB`;
const when = (ms: number): string => new Date(ms).toISOString();

function printList(letters: readonly DeadLetter[]): void {
  const outputs = [...new Set(letters.map((l) => l.output))];
  for (const output of outputs) {
    const mine = letters.filter((l) => l.output === output);
    const records = mine.reduce((sum, l) => sum + l.recordCount, 0);
    const bytes = mine.reduce((sum, l) => sum + l.bytes, 0);
    const damaged = mine.filter((l) => l.damage !== undefined).length;
    process.stdout.write(
      `${output}: ${mine.length} dead letters, ${records} records, ${kib(bytes)}, oldest ` +
        `${when(mine[0]!.deadLetteredAt)}${damaged > 0 ? `, ${damaged} damaged` : ''}\n`,
    );
    for (const l of mine) {
      const route = l.route === output ? '' : ` (replaying into ${l.route})`;
      const state = l.damage === undefined ? l.reason : `DAMAGED: ${l.damage}`;
      process.stdout.write(
        `  ${l.id}  ${l.recordCount} records  ${kib(l.bytes)}  ${when(l.deadLetteredAt)}  ` +
          `tag ${JSON.stringify(l.tag)}  ${state}${route}\n`,
      );
    }
  }
  if (outputs.length === 0) process.stdout.write('no dead letters\n');
}

/** A record as text when it is UTF-8, else as base64 (said so). */
function shown(record: Buffer): string {
  const text = record.toString('utf8');
  return Buffer.from(text, 'utf8').equals(record)
    ? JSON.stringify(text)
    : `base64:${record.toString('base64')}`;
}

async function main(args: Args): Promise<void> {
  const [dir, output, id] = args.positional as [string, string, string];
  if (args.command === 'ls') {
    const letters = await listDeadLetters(
      dir,
      args.output === undefined ? {} : { output: args.output },
    );
    if (args.json) process.stdout.write(`${JSON.stringify(letters, null, 2)}\n`);
    else printList(letters);
    return;
  }
  if (args.command === 'inspect') {
    const { letter, records } = await readDeadLetter(dir, output, id);
    if (args.json) {
      const data = records.slice(0, args.limit).map((r) => r.toString('base64'));
      process.stdout.write(`${JSON.stringify({ ...letter, records: data }, null, 2)}\n`);
      return;
    }
    printList([letter]);
    for (const record of records.slice(0, args.limit)) process.stdout.write(`${shown(record)}\n`);
    if (records.length > args.limit) {
      process.stdout.write(`... ${records.length - args.limit} more (--limit N shows more)\n`);
    }
    return;
  }
  const selection = args.output === undefined ? {} : { output: args.output };
  const chosen = await listDeadLetters(dir, args.all ? selection : { ...selection, ids: args.ids });
  // Nothing to do still takes the lock: a pool holding the folder is refused all the same.
  if (chosen.length === 0) {
    await (args.command === 'drop' ? dropDeadLetters : replayDeadLetters)(dir, { ids: [] });
  }
  let total = 0;
  // One call per dead letter, each under the lock: the output says how far a run got.
  for (const letter of chosen) {
    const one = { output: letter.output, ids: [letter.id] };
    if (args.command === 'drop') {
      await dropDeadLetters(dir, one);
      process.stdout.write(
        `dropped ${letter.output}/${letter.id} (${letter.recordCount} records)\n`,
      );
      total += letter.recordCount;
      continue;
    }
    const done = await replayDeadLetters(
      dir,
      args.into === undefined ? one : { ...one, into: args.into },
    );
    if (done.damaged.length > 0) {
      process.stdout.write(`skipped ${letter.output}/${letter.id}: damaged (${letter.damage})\n`);
      continue;
    }
    const into = args.into ?? letter.route;
    process.stdout.write(
      `replayed ${letter.output}/${letter.id} (${letter.recordCount} records) into ${into}\n`,
    );
    total += letter.recordCount;
  }
  const verb = args.command === 'drop' ? 'dropped' : 'replayed';
  process.stdout.write(`${verb} ${total} records\n`);
}

let parsed: Args | 'help';
try {
  parsed = parseArgs(process.argv.slice(2));
} catch (error) {
  process.stderr.write(`holdfast-chunks: ${(error as Error).message}\n${USAGE}`);
  process.exit(2);
}
if (parsed === 'help') {
  process.stdout.write(USAGE);
} else {
  main(parsed).catch((error: unknown) => {
    process.stderr.write(
      `holdfast-chunks: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exitCode = 1;
  });
}
