/**
 * The testing kit's `runCrashScenarios` against a small agent (fixtures/agent-for-kit.ts), in real
 * child processes: a guarded agent's deaths each arrive at the sink; the controls — no guard, no
 * supervisor, never ready — show the helper reporting the failure instead of hiding it.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import {
  CRASH_SCENARIO_KINDS,
  runCrashScenarios,
  SUPERVISOR_ONLY_KINDS,
  type CrashScenarioKind,
  type CrashScenarioResult,
} from '../src/testing.js';

const entry = fileURLToPath(new URL('./fixtures/agent-for-kit.ts', import.meta.url));
const nodeArgs = ['--import', 'tsx'];
const IN_PROCESS_KINDS = CRASH_SCENARIO_KINDS.filter((k) => !SUPERVISOR_ONLY_KINDS.includes(k));

/** How each in-process kind ends a Node process, with or without holdfast. */
const EXPECTED_EXIT: Partial<Record<CrashScenarioKind, [number | null, NodeJS.Signals | null]>> = {
  'uncaught-sync': [1, null],
  'uncaught-timer': [1, null],
  'unhandled-rejection': [1, null],
  'exit-3': [3, null],
  SIGTERM: [null, 'SIGTERM'],
  SIGINT: [null, 'SIGINT'],
  SIGHUP: [null, 'SIGHUP'],
};

type Attribute = { key: string; value: Record<string, unknown> };
/** The attributes of the one OTLP log record a report carries. */
const attributesOf = (result: CrashScenarioResult, index = 0) => {
  const body = result.reports[index]?.body as {
    resourceLogs: {
      resource: { attributes: Attribute[] };
      scopeLogs: { logRecords: { attributes: Attribute[]; body: { stringValue: string } }[] }[];
    }[];
  };
  const resource = body.resourceLogs[0]!;
  const record = resource.scopeLogs[0]!.logRecords[0]!;
  const get = (list: Attribute[], key: string) =>
    Object.values(list.find((a) => a.key === key)?.value ?? {})[0];
  return {
    resource: (key: string) => get(resource.resource.attributes, key),
    attr: (key: string) => get(record.attributes, key),
    body: record.body.stringValue,
  };
};
const summary = (results: readonly CrashScenarioResult[]) =>
  results.map((r) => ({
    kind: r.kind,
    triggered: r.triggered,
    timedOut: r.timedOut,
    reports: r.reports.length,
  }));

describe('runCrashScenarios', () => {
  test('a guarded agent: every kind is triggered, reported once, and ends as Node ends it', async () => {
    const results = await runCrashScenarios({ entry, nodeArgs, service: 'kit-supervisor' });
    expect(results.map((r) => r.kind)).toEqual([...CRASH_SCENARIO_KINDS]);
    expect(summary(results)).toEqual(
      CRASH_SCENARIO_KINDS.map((kind) => ({ kind, triggered: true, timedOut: false, reports: 1 })),
    );
    for (const result of results) {
      const expected = EXPECTED_EXIT[result.kind];
      if (expected === undefined) continue;
      expect([result.exitCode, result.signal], result.kind).toEqual(expected);
      expect(result.supervised).toBe(false);
      const report = attributesOf(result);
      expect(report.resource('service.name')).toBe('kit-agent');
      expect(report.resource('k8s.pod.name')).toBe('kit-0');
      expect(String(report.attr('holdfast.last_records'))).toContain('agent started');
      if (result.kind.startsWith('uncaught') || result.kind === 'unhandled-rejection')
        expect(report.body).toContain(`holdfast crash scenario: ${result.kind}`);
    }
    // What only the supervisor sees: its report, with the exit diagnosis.
    const bySupervisor = results.filter((r) => SUPERVISOR_ONLY_KINDS.includes(r.kind));
    expect(bySupervisor.map((r) => [r.kind, r.supervised, r.diagnosis?.signature])).toEqual([
      ['heap-out-of-memory', true, 'heap-out-of-memory'],
      ['abort', true, 'abort'],
      ['SIGKILL', true, 'killed'],
    ]);
    for (const result of bySupervisor)
      expect(attributesOf(result).resource('service.name')).toBe('kit-supervisor');
    expect(results.find((r) => r.kind === 'abort')?.signal).toBe('SIGABRT');
    expect(results.find((r) => r.kind === 'SIGKILL')?.signal).toBe('SIGKILL');
  }, 120_000);

  test('control: an agent without the guard dies the same ways, and nothing reaches the sink', async () => {
    const results = await runCrashScenarios({
      entry,
      nodeArgs,
      kinds: IN_PROCESS_KINDS,
      ready: 'line',
      env: { KIT_GUARD: '0' },
    });
    expect(summary(results)).toEqual(
      IN_PROCESS_KINDS.map((kind) => ({ kind, triggered: true, timedOut: false, reports: 0 })),
    );
    for (const result of results)
      expect([result.exitCode, result.signal], result.kind).toEqual(EXPECTED_EXIT[result.kind]);
  }, 60_000);

  test('control: without a supervisor the guard cannot see heap exhaustion, abort or SIGKILL', async () => {
    const results = await runCrashScenarios({
      entry,
      nodeArgs,
      kinds: SUPERVISOR_ONLY_KINDS,
      supervised: 'never',
    });
    expect(summary(results)).toEqual(
      SUPERVISOR_ONLY_KINDS.map((kind) => ({ kind, triggered: true, timedOut: false, reports: 0 })),
    );
    expect(results.find((r) => r.kind === 'heap-out-of-memory')?.stderr).toMatch(
      /heap out of memory/,
    );
  }, 60_000);

  test("supervised: 'always' brings the guard's report and the supervisor's", async () => {
    const [result] = await runCrashScenarios({
      entry,
      nodeArgs,
      kinds: ['uncaught-timer'],
      supervised: 'always',
    });
    expect(result).toMatchObject({ supervised: true, triggered: true, exitCode: 1 });
    expect(result!.diagnosis?.signature).toBe('uncaught-exception');
    expect(
      result!.reports.map((_, i) => attributesOf(result!, i).resource('service.name')),
    ).toEqual(['kit-agent', 'crash-scenarios']);
  }, 60_000);

  test('an agent that never gets ready is not crashed, and says so', async () => {
    const [result] = await runCrashScenarios({
      entry,
      nodeArgs,
      kinds: ['SIGTERM'],
      env: { KIT_GUARD: '0', KIT_STAY: '0' },
    });
    expect(result).toMatchObject({
      triggered: false,
      timedOut: false,
      exitCode: 0,
      signal: null,
      reports: [],
    });
  }, 30_000);

  test('a scenario that outlives its timeout is killed and marked, bare or supervised', async () => {
    // 1 ms: the child is killed long before Node has even loaded the entry.
    const results = await runCrashScenarios({
      entry,
      nodeArgs,
      kinds: ['SIGTERM', 'abort'],
      timeout: 1,
    });
    expect(results.map((r) => [r.kind, r.supervised, r.timedOut, r.triggered, r.signal])).toEqual([
      ['SIGTERM', false, true, false, 'SIGKILL'],
      ['abort', true, true, false, 'SIGKILL'],
    ]);
  }, 30_000);

  test('an aborted run rejects with the reason', async () => {
    const reason = new Error('stop');
    await expect(
      runCrashScenarios({ entry, nodeArgs, signal: AbortSignal.abort(reason) }),
    ).rejects.toBe(reason);
  });

  test('misuse is a TypeError that says what was expected', async () => {
    await expect(runCrashScenarios({ entry: 3 as unknown as string })).rejects.toThrow(
      /entry: expected the path/,
    );
    await expect(
      runCrashScenarios({ entry, kinds: ['segv' as CrashScenarioKind] }),
    ).rejects.toThrow(/kinds\[0\]: expected one of/);
    await expect(runCrashScenarios({ entry, timeout: 0 })).rejects.toThrow(/timeout: expected/);
  });
});
