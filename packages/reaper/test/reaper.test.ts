/**
 * The reaper in real processes: the Zipkin scenario with Node as PID 1 (in a PID namespace) and
 * as a subreaper, its negative control, 100 orphans, and libuv's children left alone.
 */
import { describe, expect, test } from 'vitest';
import { fixture, requireRootOrSkip, runToEnd, TSX } from './support.js';

const scenario = async (args: string[], { pid1 = false, noKoffi = false } = {}) => {
  const preload = noKoffi ? ['--require', fixture('no-koffi.cjs')] : [];
  const node = [process.execPath, ...preload, ...TSX, fixture('reaper-scenario.ts'), ...args];
  const exited = pid1
    ? await runToEnd('unshare', ['--pid', '--fork', '--mount-proc', ...node])
    : await runToEnd(node[0]!, node.slice(1));
  if (exited.code !== 0)
    throw new Error(`scenario ${args.join(' ')} failed (${exited.code}): ${exited.stderr}`);
  return JSON.parse(exited.stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
};

describe('the Zipkin scenario: 1,000 health-check runs whose grandchild outlives a 50 ms timeout', () => {
  test('with Node as a subreaper: zero zombies, zero leftover processes', async () => {
    const result = await scenario(['zipkin', '1000', 'reaper']);
    expect(result).toMatchObject({ zombies: 0, leftovers: 0 });
  }, 120_000);

  test('with Node as PID 1 in a PID namespace: zero zombies, zero leftover processes', async () => {
    if (!requireRootOrSkip()) return;
    const result = await scenario(['zipkin', '1000', 'reaper'], { pid1: true });
    expect(result).toMatchObject({ pid: 1, zombies: 0, leftovers: 0 });
  }, 120_000);

  test('control: plain child_process and no reaper, as PID 1, leaves the zombies', async () => {
    if (!requireRootOrSkip()) return;
    const result = await scenario(['zipkin', '200', 'control'], { pid1: true });
    expect(result.pid).toBe(1);
    expect(result.zombies).toBeGreaterThanOrEqual(150); // one orphan per run, never reaped
  }, 120_000);
});

describe('reaping', () => {
  test('100 orphans are reaped and counted', async () => {
    const result = await scenario(['orphans', '100']);
    expect(result.zombies).toBe(0);
    expect((result.stats as { reaped: number }).reaped).toBe(100);
  }, 60_000);

  test("libuv's own children keep their exit events while the reaper sweeps every millisecond", async () => {
    const result = await scenario(['libuv', '500']);
    expect(result).toMatchObject({ exited: 500, wrong: 0, stolen: 0 });
  }, 60_000);
});

describe('stats()', () => {
  test('orphansRunning while an adopted orphan runs; reaped, reapLatencyMs and listenerErrors after', async () => {
    const result = await scenario(['stats', '0', 'reaping']);
    const running = result.running as Record<string, unknown>;
    const after = result.after as Record<string, unknown> & {
      reapLatencyMs: { p50: number; p95: number; max: number; count: number };
    };
    expect(running).toMatchObject({ orphansRunning: 2, zombiesNow: 0, reaped: 0 });
    expect(after).toMatchObject({ orphansRunning: 0, zombiesNow: 0, reaped: 2, listenerErrors: 2 });
    const latency = after.reapLatencyMs;
    expect(latency.count).toBe(2);
    expect(latency.p50).toBeGreaterThanOrEqual(0);
    expect(latency.p95).toBeGreaterThanOrEqual(latency.p50);
    expect(latency.max).toBeGreaterThanOrEqual(latency.p95);
    // From the SIGCHLD (or the sweep) that revealed the zombie to its reaping: well under the
    // orphan's 300 ms of life, which it must not include.
    expect(latency.max).toBeLessThan(300);
  }, 30_000);

  test('zombiesNow counts the zombies nobody can reap (PID 1 without koffi)', async () => {
    if (!requireRootOrSkip()) return;
    const result = await scenario(['stats', '0', 'unreapable'], { pid1: true, noKoffi: true });
    expect(result.pid).toBe(1);
    expect(result.stats).toMatchObject({ zombiesNow: 3, reaped: 0, reapsOrphans: false });
  }, 30_000);
});

describe("worker threads' children are never stolen", () => {
  interface Report {
    expected: number;
    arrived: number;
    wrong: number;
    runTimedOut: boolean;
    runExitCode: number | null;
  }
  const check = (result: Record<string, unknown>) => {
    const reports = result.reports as Report[];
    expect(reports).toHaveLength(2); // a worker started before installReaper(), one after
    for (const report of reports) {
      // 20 each of spawn, execFile, exec, 5 forks, 10 orphan-leavers and one child started
      // before the reaper: every 'exit' arrives, with its code.
      expect(report).toEqual({
        expected: 76,
        arrived: 76,
        wrong: 0,
        runTimedOut: true,
        runExitCode: 3,
        orphansLeft: 10,
      });
    }
    // The workers' orphans came to the main thread and were reaped there.
    expect((result.stats as { reaped: number }).reaped).toBeGreaterThanOrEqual(20);
    expect(result.zombies).toBe(0);
  };

  test('as a subreaper, sweeping every millisecond: spawn, execFile, exec, fork and run() from workers', async () => {
    const result = await scenario(['workers', '20']);
    expect((result.stats as { subreaper: boolean }).subreaper).toBe(true);
    check(result);
  }, 60_000);

  test('as PID 1 in a PID namespace, sweeping every millisecond', async () => {
    if (!requireRootOrSkip()) return;
    const result = await scenario(['workers', '20'], { pid1: true });
    expect(result.pid).toBe(1);
    check(result);
  }, 60_000);

  test('installReaper() refuses to run in a worker thread, saying why', async () => {
    const exited = await runToEnd(process.execPath, [...TSX, fixture('reaper-in-worker.ts')]);
    expect(exited.stdout.trim()).toMatch(/must be called on the main thread/);
  }, 30_000);
});

describe('when orphans cannot be reaped', () => {
  test('installReaper says so once, clearly, and everything else works', async () => {
    const exited = await runToEnd(process.execPath, [...TSX, fixture('no-reaping.ts')]);
    const result = JSON.parse(exited.stdout) as {
      warnings: string[];
      events: string[];
      reapsOrphans: boolean;
      exitCode: number;
    };
    expect(result.reapsOrphans).toBe(false);
    expect(result.warnings).toHaveLength(1);
    expect(result.events).toEqual(result.warnings);
    expect(result.warnings[0]).toMatch(
      /will NOT be reaped.*docker run --init.*tini -s.*holdfast-init/,
    );
    expect(result.exitCode).toBe(4);
  }, 30_000);
});
