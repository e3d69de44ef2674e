/**
 * The crash matrix of docs/crash-flush.md is this test's output. Every way of dying runs in a
 * real child process twice — without holdfast and with it (the guard, or the supervisor for what
 * no in-process hook sees) — against a capture server of its own: the exit status must be the
 * same, and what the sink received is measured. The test fails when the page's table differs from
 * what it measured (`UPDATE_DOCS=1` rewrites the table from the measurement; then run prettier).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';
import { startCaptureServer, type CaptureServer } from '../src/testing.js';
import { recordOf, runFixture } from './helpers.js';

const cli = fileURLToPath(new URL('../src/cli/supervise.ts', import.meta.url));
const dyingChild = fileURLToPath(new URL('./fixtures/dying-child.mjs', import.meta.url));
const docsPage = fileURLToPath(new URL('../../../docs/crash-flush.md', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'holdfast-matrix-'));

interface Death {
  readonly label: string;
  readonly coveredBy: string;
  /** A guard fixture (test/fixtures/<file>) with its env, or a child under the supervisor. */
  readonly guard?: { file: 'crash.ts' | 'scenario.ts'; env: Record<string, string> };
  readonly supervised?: { how: string; nodeArgs?: string[] };
  readonly nodeArgs?: string[];
  /** The sink is down at crash time: the next start (with the sink up) sends the spool. */
  readonly sinkDown?: boolean;
}

const crash = (kind: string) => ({ file: 'crash.ts' as const, env: { CRASH_KIND: kind } });
const scenario = (name: string) => ({ file: 'scenario.ts' as const, env: { SCENARIO: name } });
const rejections = (mode: string) => ['--unhandled-rejections', mode];
const GUARD = 'guard';
const deaths: readonly Death[] = [
  { label: 'uncaught exception (sync)', coveredBy: GUARD, guard: crash('uncaught-sync') },
  { label: 'uncaught exception in a timer', coveredBy: GUARD, guard: crash('uncaught-timer') },
  {
    label: 'a throw at the top level of an ES module',
    coveredBy: GUARD,
    guard: crash('top-level-throw'),
  },
  {
    label: 'unhandled rejection (default `throw` mode)',
    coveredBy: GUARD,
    guard: crash('unhandled-rejection'),
  },
  {
    label: 'unhandled rejection, `--unhandled-rejections strict`',
    coveredBy: GUARD,
    guard: scenario('rejection'),
    nodeArgs: rejections('strict'),
  },
  {
    label: 'unhandled rejection, `--unhandled-rejections=warn-with-error-code`',
    coveredBy: GUARD,
    guard: scenario('rejection'),
    nodeArgs: ['--unhandled-rejections=warn-with-error-code'],
  },
  {
    label: 'unhandled rejection, `--unhandled-rejections warn`',
    coveredBy: GUARD,
    guard: scenario('rejection'),
    nodeArgs: rejections('warn'),
  },
  {
    label: 'unhandled rejection, `--unhandled-rejections=none`',
    coveredBy: GUARD,
    guard: scenario('rejection'),
    nodeArgs: ['--unhandled-rejections=none'],
  },
  {
    label: "an error the agent's own `uncaughtException` handler takes, then a real death",
    coveredBy: GUARD,
    guard: scenario('own-uncaught-handler'),
  },
  { label: '`process.exit(3)` twenty frames deep', coveredBy: GUARD, guard: crash('exit-deep') },
  {
    label: "`process.exit(5)` inside an `'exit'` listener",
    coveredBy: GUARD,
    guard: scenario('exit-in-exit-listener'),
  },
  { label: '`process.exit(256)`', coveredBy: GUARD, guard: scenario('exit-256') },
  { label: 'SIGTERM', coveredBy: GUARD, guard: crash('SIGTERM') },
  { label: 'SIGINT', coveredBy: GUARD, guard: crash('SIGINT') },
  { label: 'SIGHUP', coveredBy: GUARD, guard: crash('SIGHUP') },
  {
    label: "SIGTERM, the agent's handler exits 0",
    coveredBy: GUARD,
    guard: scenario('sigterm-agent-exits-0'),
  },
  {
    label: "SIGTERM, the agent's handler exits 3",
    coveredBy: GUARD,
    guard: scenario('sigterm-agent-exits-3'),
  },
  {
    label: 'uncaught exception, the `onReport` hook throws during the flush',
    coveredBy: GUARD,
    guard: crash('second-throw'),
  },
  {
    label: 'uncaught exception, the sink down',
    coveredBy: 'guard and spool',
    guard: crash('uncaught-sync'),
    sinkDown: true,
  },
  {
    label: 'V8 heap exhaustion',
    coveredBy: 'supervisor',
    supervised: { how: 'heap', nodeArgs: ['--max-old-space-size=32'] },
  },
  { label: '`process.abort()`', coveredBy: 'supervisor', supervised: { how: 'abort' } },
  { label: 'SIGSEGV', coveredBy: 'supervisor', supervised: { how: 'segv' } },
  { label: 'SIGKILL', coveredBy: 'supervisor', supervised: { how: 'kill' } },
];

interface Ended {
  code: number | null;
  signal: NodeJS.Signals | null;
}
const status = ({ code, signal }: Ended) => (signal === null ? `exit ${code}` : signal);

function runNode(args: string[]): Promise<Ended> {
  return new Promise((resolve) =>
    spawn(process.execPath, args, { stdio: 'ignore' }).on('close', (code, signal) =>
      resolve({ code, signal }),
    ),
  );
}

/** What a sink received, in the table's words: each report's kind and severity. */
const received = (server: CaptureServer, from: number, supervised: boolean) =>
  server.requests.slice(from).map((request) => {
    const r = recordOf(request.body);
    const signature = supervised ? ` \`${String(r.attr('exception.type'))}\`` : '';
    return `\`${String(r.attr('holdfast.kind'))}\` ${r.severityText}${signature}`;
  });

async function die(death: Death, index: number) {
  const server = await startCaptureServer();
  try {
    const url = `${server.url}/v1/logs`;
    const nodeArgs = death.nodeArgs ?? [];
    let without: Ended;
    let withHoldfast: Ended;
    let sent: string[];
    if (death.guard !== undefined) {
      const { file, env } = death.guard;
      without = await runFixture(file, { ...env, WITH_GUARD: '0' }, { nodeArgs });
      const spool = join(work, `spool-${index}`);
      if (death.sinkDown === true) server.mode = 'down';
      // A generous budget: a loaded machine must not turn a delivery into a spooled report (the
      // sink that is down answers 503 at once).
      const guarded = await runFixture(
        file,
        { ...env, WITH_GUARD: '1', SINK_URL: url, SPOOL_DIR: spool, FLUSH_MS: '30000' },
        { nodeArgs },
      );
      withHoldfast = guarded;
      sent = received(server, 0, false);
      if (death.sinkDown === true) {
        server.mode = 'ok';
        const next = server.requests.length;
        await runFixture(
          'crash.ts',
          { CRASH_KIND: 'noop', WITH_GUARD: '1', SINK_URL: url, SPOOL_DIR: spool },
          {},
        );
        sent = [
          ...(sent.length === 0 ? ['nothing at crash time'] : sent),
          `at the next start: ${received(server, next, false).join(', ')}`,
        ];
      }
      // Every report carries the agent's metadata and its last records.
      for (const request of server.requests) {
        const r = recordOf(request.body);
        expect(r.resource('service.name'), death.label).toMatch(/^(fixture|scenario)-agent$/);
        expect(r.resource('k8s.pod.name'), death.label).toBe('agent-0');
        expect(String(r.attr('holdfast.last_records')), death.label).toContain(
          'last line before the crash',
        );
      }
    } else {
      const { how, nodeArgs: childArgs = [] } = death.supervised!;
      const child = [...childArgs, dyingChild, how];
      without = await runNode(child);
      withHoldfast = await runNode([
        ...['--import', 'tsx', cli, '--service', 'agent', '--otlp', url, '--flush-timeout', '30s'],
        '--',
        ...[process.execPath, ...child],
      ]);
      sent = received(server, 0, true);
    }
    return { death, without, withHoldfast, sent };
  } finally {
    await server.close();
  }
}

const cells = (table: string) =>
  table
    .split('\n')
    .filter((line) => line.startsWith('|') && !/^\|[\s|:-]+\|$/.test(line))
    .map((line) =>
      line
        .slice(1, -1)
        .split(/(?<!\\)\|/)
        .map((cell) => cell.trim()),
    );
const START =
  '<!-- crash-matrix:start (generated by packages/crash-flush/test/crash-matrix.test.ts) -->';
const END = '<!-- crash-matrix:end -->';

test('every way of dying: the exit status is unchanged, and the sink receives what docs/crash-flush.md says', async () => {
  // Four at a time, each lane taking the next death as soon as its last one is done.
  const results: Awaited<ReturnType<typeof die>>[] = [];
  let next = 0;
  const lane = async () => {
    for (let i = next++; i < deaths.length; i = next++) results[i] = await die(deaths[i]!, i);
  };
  await Promise.all([lane(), lane(), lane(), lane()]);
  for (const { death, without, withHoldfast } of results)
    expect([death.label, status(withHoldfast)]).toEqual([death.label, status(without)]);

  const table = [
    '| how the process dies | exit status without holdfast (measured) | with holdfast (measured) | what the sink received (measured) | covered by |',
    '| --- | --- | --- | --- | --- |',
    ...results.map(
      (r) =>
        `| ${r.death.label} | ${status(r.without)} | ${status(r.withHoldfast)} | ${r.sent.length === 0 ? 'nothing' : r.sent.join(', ')} | ${r.death.coveredBy} |`,
    ),
  ].join('\n');
  const page = readFileSync(docsPage, 'utf8');
  const from = page.indexOf(START);
  const to = page.indexOf(END);
  expect(from, `docs/crash-flush.md has the ${START} marker`).toBeGreaterThan(-1);
  const written = page.slice(from + START.length, to);
  if (
    process.env.UPDATE_DOCS === '1' &&
    JSON.stringify(cells(written)) !== JSON.stringify(cells(table))
  )
    writeFileSync(
      docsPage,
      `${page.slice(0, from + START.length)}\n\n${table}\n\n${page.slice(to)}`,
    );
  else
    expect(cells(written), 'docs/crash-flush.md: UPDATE_DOCS=1 rewrites the table').toEqual(
      cells(table),
    );
}, 180_000);
