/**
 * Each way the agent can die × whether its `run()` children die with it, in real processes.
 * The table in docs/reaper.md is this test's output: it fails when the page and the measurement
 * differ (`UPDATE_DOCS=1` rewrites the page's table from the measurement).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { liveProcessesInGroup } from '../src/testing.js';
import { fixture, packageRoot, TSX, waitUntil } from './support.js';

const work = mkdtempSync(join(tmpdir(), 'holdfast-deaths-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Death {
  readonly label: string;
  readonly way: string;
  readonly signal?: NodeJS.Signals;
  readonly guard?: boolean;
  /** What sees the death and kills the groups (the design, stated; the test measures the rest). */
  readonly coveredBy: string;
}

const EXIT = "`'exit'` hook";
const WATCHDOG = 'watchdog';
const deaths: Death[] = [
  { label: '`process.exit(0)`', way: 'exit', coveredBy: EXIT },
  { label: 'uncaught exception', way: 'throw', coveredBy: EXIT },
  { label: 'unhandled rejection', way: 'rejection', coveredBy: EXIT },
  { label: 'SIGTERM, no handler', way: 'signal', signal: 'SIGTERM', coveredBy: WATCHDOG },
  { label: 'SIGINT, no handler', way: 'signal', signal: 'SIGINT', coveredBy: WATCHDOG },
  { label: 'SIGHUP, no handler', way: 'signal', signal: 'SIGHUP', coveredBy: WATCHDOG },
  { label: 'SIGQUIT', way: 'signal', signal: 'SIGQUIT', coveredBy: WATCHDOG },
  { label: 'SIGKILL', way: 'signal', signal: 'SIGKILL', coveredBy: WATCHDOG },
  {
    label: "SIGTERM, the child started by a worker thread's `run()`",
    way: 'worker-signal',
    signal: 'SIGTERM',
    coveredBy: "the worker's watchdog",
  },
  {
    label: "SIGKILL, the child started by a worker thread's `run()`",
    way: 'worker-signal',
    signal: 'SIGKILL',
    coveredBy: "the worker's watchdog",
  },
  { label: '`process.abort()` (SIGABRT)', way: 'abort', coveredBy: WATCHDOG },
  {
    label: "SIGTERM, the agent's handler calls `process.exit()`",
    way: 'handler-exits',
    signal: 'SIGTERM',
    coveredBy: EXIT,
  },
  {
    label: 'SIGTERM, crash guard',
    way: 'signal',
    signal: 'SIGTERM',
    guard: true,
    coveredBy: WATCHDOG,
  },
  {
    label: 'SIGINT, crash guard',
    way: 'signal',
    signal: 'SIGINT',
    guard: true,
    coveredBy: WATCHDOG,
  },
  {
    label: 'SIGHUP, crash guard',
    way: 'signal',
    signal: 'SIGHUP',
    guard: true,
    coveredBy: WATCHDOG,
  },
  { label: 'uncaught exception, crash guard', way: 'throw', guard: true, coveredBy: EXIT },
  {
    label: 'SIGKILL, crash guard',
    way: 'signal',
    signal: 'SIGKILL',
    guard: true,
    coveredBy: WATCHDOG,
  },
];

/** Starts the agent, kills it if the row says so, and measures how it ended and who survived. */
async function die(death: Death, i: number) {
  const pidFile = join(work, `child-${i}.pid`);
  // No core files from SIGQUIT / abort(): `ulimit -c 0`, then exec so the signal reaches Node.
  const agent = spawn(
    'sh',
    [
      '-c',
      'ulimit -c 0; exec "$@"',
      'sh',
      process.execPath,
      ...TSX,
      fixture('agent-death.ts'),
      death.way,
      death.guard === true ? 'guard' : 'plain',
      pidFile,
    ],
    { cwd: packageRoot, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  agent.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    agent.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const pgid = await new Promise<number>((resolve, reject) => {
    agent.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      const match = /ready (\d+)/.exec(stdout);
      if (match !== null) resolve(Number(match[1]));
    });
    agent.once('exit', () => reject(new Error(`agent ended before ready: ${stderr}`)));
  });
  if (death.signal !== undefined) agent.kill(death.signal);
  const end = await ended;
  let childrenDie = true;
  try {
    // A hang guard: the watchdog reacts within milliseconds of the agent's death.
    await waitUntil('the group to be gone', () => liveProcessesInGroup(pgid).length === 0, 10_000);
  } catch {
    childrenDie = false;
    process.kill(-pgid, 'SIGKILL');
  }
  return {
    death,
    ended: end.signal !== null ? `killed by ${end.signal}` : `exit code ${end.code}`,
    childrenDie,
  };
}

/** A markdown table's cells, row by row, without the separator row or Prettier's padding. */
const cells = (markdown: string) =>
  markdown
    .split('\n')
    .filter((line) => line.startsWith('|') && !/^\|[\s|:-]+\|$/.test(line))
    .map((line) =>
      line
        .slice(1, -1)
        .split('|')
        .map((cell) => cell.trim()),
    );
const sameTable = (a: string, b: string) => JSON.stringify(cells(a)) === JSON.stringify(cells(b));

const START = '<!-- deaths-table:start (generated by packages/reaper/test/deaths.test.ts) -->';
const END = '<!-- deaths-table:end -->';
const docsPage = join(packageRoot, '..', '..', 'docs', 'reaper.md');

test('every way the agent dies takes its run() children with it, and the agent dies the same way', async () => {
  const results = [];
  for (let start = 0; start < deaths.length; start += 4) {
    const batch = deaths.slice(start, start + 4);
    results.push(...(await Promise.all(batch.map((d, k) => die(d, start + k)))));
  }
  for (const { death, ended, childrenDie } of results) {
    expect({ death: death.label, childrenDie }).toEqual({ death: death.label, childrenDie: true });
    // The package installs no signal handler: a signal death stays that signal's death.
    if (death.way.endsWith('signal')) expect(ended).toBe(`killed by ${death.signal}`);
  }
  expect(results.find((r) => r.death.way === 'abort')?.ended).toBe('killed by SIGABRT');
  expect(results.find((r) => r.death.way === 'throw')?.ended).toBe('exit code 1');

  const table = [
    '| how the agent dies | how it ended (measured) | `run()` children die (measured) | seen by |',
    '| --- | --- | --- | --- |',
    ...results.map(
      (r) =>
        `| ${r.death.label} | ${r.ended} | ${r.childrenDie ? 'yes' : '**no**'} | ${r.death.coveredBy} |`,
    ),
  ].join('\n');
  const page = readFileSync(docsPage, 'utf8');
  const from = page.indexOf(START);
  const to = page.indexOf(END);
  expect(from, `docs/reaper.md has the ${START} marker`).toBeGreaterThan(-1);
  const written = page.slice(from + START.length, to);
  if (process.env.UPDATE_DOCS === '1' && !sameTable(written, table)) {
    writeFileSync(
      docsPage,
      `${page.slice(0, from + START.length)}\n\n${table}\n\n${page.slice(to)}`,
    );
  } else {
    expect(cells(written), 'docs/reaper.md: UPDATE_DOCS=1 rewrites the table').toEqual(
      cells(table),
    );
  }
}, 120_000);
