/**
 * Reports that were lost, false or out of bounds, each in a real child process against a real
 * local server: the report arrives, says what happened, and the exit status is the one the same
 * fixture has without the guard.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { startCaptureServer, type CaptureServer } from '../src/testing.js';
import { recordOf, runFixture, type Ended } from './helpers.js';

const work = mkdtempSync(join(tmpdir(), 'holdfast-reports-'));
let server: CaptureServer;
beforeAll(async () => {
  server = await startCaptureServer();
});
beforeEach(() => {
  server.mode = 'ok';
});
afterAll(async () => {
  await server.close();
  rmSync(work, { recursive: true, force: true });
});

const run = (scenario: string, env: Record<string, string> = {}, nodeArgs: string[] = []) =>
  runFixture('scenario.ts', { SCENARIO: scenario, ...env }, { nodeArgs });
const guarded = (scenario: string, env: Record<string, string> = {}, nodeArgs: string[] = []) =>
  run(scenario, { WITH_GUARD: '1', SINK_URL: `${server.url}/v1/logs`, ...env }, nodeArgs);
/** Runs with and without the guard; the exit status must match; returns the new reports. */
async function reportsOf(
  scenario: string,
  env: Record<string, string> = {},
  nodeArgs: string[] = [],
) {
  const without = await run(scenario, {}, nodeArgs);
  const before = server.requests.length;
  const withGuard = await guarded(scenario, env, nodeArgs);
  expect({ code: withGuard.code, signal: withGuard.signal }, withGuard.stderr).toEqual({
    code: without.code,
    signal: without.signal,
  });
  const bodies = server.requests.slice(before).map((r) => r.body);
  const otlp = bodies.filter((b) => typeof b === 'object' && b !== null && 'resourceLogs' in b);
  return { ended: withGuard, bodies, reports: otlp.map(recordOf) };
}
const exitOf = (ended: Ended) => ({ code: ended.code, signal: ended.signal });

describe('termination is not a crash', () => {
  test('SIGTERM the agent handles and exits 0 on: one shutdown report at INFO, not a FATAL crash', async () => {
    const { ended, reports } = await reportsOf('sigterm-agent-exits-0');
    expect(exitOf(ended)).toEqual({ code: 0, signal: null });
    expect(
      reports.map((r) => [r.attr('holdfast.kind'), r.severityText, r.attr('holdfast.signal')]),
    ).toEqual([['shutdown', 'INFO', 'SIGTERM']]);
  }, 30_000);

  test('SIGTERM, then a non-zero exit: the shutdown, then the exit as the crash it is', async () => {
    const { reports } = await reportsOf('sigterm-agent-exits-3');
    expect(
      reports.map((r) => [r.attr('holdfast.kind'), r.severityText, r.attr('process.exit.code')]),
    ).toEqual([
      ['shutdown', 'INFO', undefined],
      ['exit', 'FATAL', '3'],
    ]);
  }, 30_000);

  test('SIGTERM, then still running past shutdownGrace: reported as a shutdown timeout', async () => {
    const before = server.requests.length;
    let child: ChildProcess | undefined;
    const ended = runFixture(
      'scenario.ts',
      {
        SCENARIO: 'sigterm-agent-hangs',
        WITH_GUARD: '1',
        SINK_URL: `${server.url}/v1/logs`,
        GRACE_MS: '200',
      },
      { onSpawn: (c) => (child = c) },
    );
    const requests = await server.waitFor(before + 2);
    child!.kill('SIGKILL');
    await ended;
    const reports = requests.slice(before).map((r) => recordOf(r.body));
    expect(reports.map((r) => [r.attr('holdfast.kind'), r.severityText])).toEqual([
      ['shutdown', 'INFO'],
      ['shutdownTimeout', 'FATAL'],
    ]);
    expect(reports[1]!.body).toMatch(/still running 200 ms after SIGTERM/);
  }, 30_000);
});

describe('reports no longer lost', () => {
  test('an agent with its own uncaughtException handler: the handled error is a capture (ERROR), and its real death is still reported', async () => {
    const { reports } = await reportsOf('own-uncaught-handler');
    expect(reports.map((r) => [r.attr('holdfast.kind'), r.severityText, r.body])).toEqual([
      ['capture', 'ERROR', 'Error: handled by the agent'],
      ['uncaughtException', 'FATAL', 'Error: the real death'],
    ]);
  }, 30_000);

  test.each([
    ['throw-tostring-throws', /^object: /],
    ['throw-null-proto-circular', /^object: \[object Object\]$/],
    ['throw-stack-getter-throws', /^Error: stack getter throws$/],
    ['throw-name-getter-throws', /^Error: name getter throws$/],
  ])(
    'a thrown value that resists being described (%s) is still reported',
    async (scenario, body) => {
      const { reports } = await reportsOf(scenario);
      expect(reports).toHaveLength(1);
      expect(reports[0]!.attr('holdfast.kind')).toBe('uncaughtException');
      expect(reports[0]!.body).toMatch(body);
    },
    30_000,
  );

  test.each([
    ['hook-mutates', 'otlp', 'redacted', 0],
    ['hook-mutates', 'http', 'redacted', 0],
    ['hook-async', 'otlp', 'redacted', 1],
    ['hook-async', 'http', 'redacted', 1],
    ['hook-returns-garbage', 'otlp', 'agent-0', 1],
    ['hook-returns-null-proto', 'http', 'agent-0', 1],
  ])(
    'onReport %s (%s sink): the report still leaves, as edited in place',
    async (scenario, sink, pod) => {
      const { reports, ended } = await reportsOf(scenario, { SINK: sink });
      expect(ended.code).toBe(1);
      const last = server.requests.at(-1)!.body as {
        metadata?: Record<string, unknown>;
        error?: { message: string };
      };
      if (sink === 'otlp') {
        expect(reports).toHaveLength(1);
        expect(reports[0]!.resource('k8s.pod.name')).toBe(pod);
        expect(reports[0]!.body).toBe('Error: boom');
      } else {
        expect(last.metadata?.['k8s.pod.name']).toBe(pod);
        expect(last.error?.message).toBe('boom');
      }
    },
    30_000,
  );

  test('onReport that enlarges the report: capped to maxReportBytes again', async () => {
    const before = server.requests.length;
    const ended = await guarded('hook-enlarges', { SINK: 'http' });
    expect(ended.code).toBe(1);
    expect(server.requests.length).toBe(before + 1);
    expect(Buffer.byteLength(JSON.stringify(server.requests.at(-1)!.body))).toBeLessThanOrEqual(
      65_536,
    );
  }, 30_000);

  test('process.exit(5) inside an exit listener is reported as exit 5', async () => {
    const { ended, reports } = await reportsOf('exit-in-exit-listener');
    expect(ended.code).toBe(5);
    expect(reports.map((r) => [r.attr('holdfast.kind'), r.attr('process.exit.code')])).toEqual([
      ['exit', '5'],
    ]);
  }, 30_000);

  test.each([
    [['--unhandled-rejections', 'warn']],
    [['--unhandled-rejections=warn']],
    [['--unhandled-rejections', 'none']],
  ])(
    'node %j: the rejection is captured and the process goes on',
    async (flags) => {
      const { ended, reports } = await reportsOf('rejection', {}, flags);
      expect(ended.code).toBe(0);
      expect(reports.map((r) => [r.attr('holdfast.kind'), r.body])).toEqual([
        ['capture', 'Error: rejected, and the process goes on'],
      ]);
    },
    30_000,
  );

  test.each([[['--unhandled-rejections=strict']], [['--unhandled-rejections', 'strict']]])(
    'node %j: the rejection is the FATAL unhandledRejection the process dies of; a top-level throw stays an uncaughtException',
    async (flags) => {
      const { ended, reports } = await reportsOf('rejection', {}, flags);
      expect(ended.code).toBe(1);
      expect(reports.map((r) => [r.attr('holdfast.kind'), r.severityText, r.body])).toEqual([
        ['unhandledRejection', 'FATAL', 'Error: rejected, and the process goes on'],
      ]);
      const before = server.requests.length;
      const thrown = await runFixture(
        'crash.ts',
        { CRASH_KIND: 'top-level-throw', WITH_GUARD: '1', SINK_URL: `${server.url}/v1/logs` },
        { nodeArgs: flags },
      );
      expect(thrown.code).toBe(1);
      const [topLevel] = server.requests.slice(before).map((r) => recordOf(r.body));
      expect([topLevel?.attr('holdfast.kind'), topLevel?.severityText]).toEqual([
        'uncaughtException',
        'FATAL',
      ]);
    },
    30_000,
  );

  test('node --unhandled-rejections=warn-with-error-code: a capture (ERROR) as the process goes on, then its exit 1 (FATAL) with the rejection', async () => {
    const { ended, reports } = await reportsOf('rejection', {}, [
      '--unhandled-rejections=warn-with-error-code',
    ]);
    expect(ended.code).toBe(1);
    expect(
      reports.map((r) => [
        r.attr('holdfast.kind'),
        r.severityText,
        r.attr('process.exit.code'),
        r.attr('exception.message'),
      ]),
    ).toEqual([
      ['capture', 'ERROR', undefined, 'rejected, and the process goes on'],
      ['exit', 'FATAL', '1', 'rejected, and the process goes on'],
    ]);
  }, 30_000);

  test('flushTimeout: Infinity waits for the sink: the crash-time request arrives', async () => {
    const { reports } = await reportsOf('uncaught', { FLUSH_MS: 'Infinity' });
    expect(reports.map((r) => r.attr('holdfast.kind'))).toEqual(['uncaughtException']);
  }, 30_000);

  test('a capture still being sent when the process dies is spooled with the death, never lost', async () => {
    // The sink takes nothing in time: the capture's send is still pending 10 ms later, when the
    // real death comes (the crash matrix saw the same race under load, with a sink that answers).
    const spool = join(work, 'spool-in-flight');
    server.mode = 'hang';
    const died = await guarded('capture-then-death', { SPOOL_DIR: spool, FLUSH_MS: '300' });
    server.mode = 'ok';
    expect(died.code).toBe(1);
    const kinds = readdirSync(spool)
      .filter((n) => n.endsWith('.json'))
      .map((n) => (JSON.parse(readFileSync(join(spool, n), 'utf8')) as { kind: string }).kind);
    expect(kinds.sort()).toEqual(['capture', 'uncaughtException']);
  }, 30_000);

  test('a sink answering 302 has not taken the report: it stays spooled, not counted recovered', async () => {
    const spool = join(work, 'spool-302');
    server.mode = 'redirect';
    const crashed = await guarded('uncaught', { SPOOL_DIR: spool, FLUSH_MS: '1000' });
    expect(crashed.code).toBe(1);
    const spooled = () => readdirSync(spool).filter((n) => n.endsWith('.json'));
    expect(spooled()).toHaveLength(1);
    const next = await guarded('noop', { SPOOL_DIR: spool });
    expect(JSON.parse(next.stdout)).toMatchObject({ recovered: 0, sinkErrors: 1 });
    expect(spooled()).toHaveLength(1);
    // Once the sink takes it, it is sent with the id it was spooled with.
    server.mode = 'ok';
    const id = (JSON.parse(readFileSync(join(spool, spooled()[0]!), 'utf8')) as { id: string }).id;
    const before = server.requests.length;
    const third = await guarded('noop', { SPOOL_DIR: spool });
    expect(JSON.parse(third.stdout)).toMatchObject({ recovered: 1 });
    expect(recordOf(server.requests[before]!.body).attr('log.record.uid')).toBe(id);
  }, 60_000);

  test('the rate limit tells exit codes apart: exit 3, 42 and 137 are three crashes', async () => {
    const spool = join(work, 'spool-codes');
    const before = server.requests.length;
    for (const code of ['3', '42', '137', '42'])
      expect(
        (
          await guarded('exit-code', {
            EXIT_CODE: code,
            SPOOL_DIR: spool,
            RATE_WINDOW_MS: '3600000',
          })
        ).code,
      ).toBe(Number(code));
    const codes = server.requests
      .slice(before)
      .map((r) => recordOf(r.body).attr('process.exit.code'));
    expect(codes).toEqual(['3', '42', '137']); // the second 42 is the same crash: counted
  }, 60_000);
});

describe('reports that are true and in bounds', () => {
  test('exit(256) ends the process with status 0: no crash reported', async () => {
    const { ended, reports } = await reportsOf('exit-256');
    expect(ended.code).toBe(0);
    expect(reports).toEqual([]);
  }, 30_000);

  test('a thrown 50 MB string: the report fits maxReportBytes', async () => {
    const { bodies } = await reportsOf('huge-string-throw', { SINK: 'http' });
    expect(bodies).toHaveLength(1); // http sink: the body is the report itself
    const body = bodies[0] as { kind: string; truncated: boolean };
    expect(body).toMatchObject({ kind: 'uncaughtException', truncated: true });
    expect(Buffer.byteLength(JSON.stringify(body))).toBeLessThanOrEqual(65_536);
  }, 30_000);
});
