/**
 * The engine's hot path runs the same optimized code in every batch. Two ways it did not:
 *
 * - the item and worker loops were closures made afresh by each batch, so the optimized code the
 *   first batch left behind called that batch's closures, and the next batch threw it away at the
 *   call ("wrong call target");
 * - arrays the hot path fills anew in every batch (its wakers, its timeout queue, the outcomes)
 *   started as `[]`, arrays of small integers, so the first object stored in them converted them
 *   and met optimized code that had only seen converted arrays ("wrong map", "not a Smi").
 *
 * Each time, a new batch ran its first items in slower code while the engine was compiled again
 * (the benchmark's `fetchAll` on Node 24: 1.76× p-map). Checked on V8's own trace, in a child
 * process, with synchronous compilation: no wall clock is read. Only eager deoptimizations count:
 * those are the code's own assumptions failing. Lazy ones also come from the garbage collector's
 * heuristics (an allocation site's pretenuring decision changing), which the engine does not
 * control.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';

const child = fileURLToPath(new URL('./fixtures/batches-in-a-row.ts', import.meta.url));
const src = fileURLToPath(new URL('../src/', import.meta.url));

/** The eager deoptimizations, in the package's source, in a part of the trace. */
function eagerDeopts(part: string): string[] {
  const found: string[] = [];
  // Each bailout names its reason; the first `;;; deoptimize at <file:line:col>` after it, before
  // the next bailout, says where.
  for (const bailout of part.split('[bailout (kind: ').slice(1)) {
    const reason = /^deopt-eager, reason: ([^)]*)\)/.exec(bailout)?.[1];
    const where = /;;; deoptimize at <([^>]+)>/.exec(bailout)?.[1];
    if (reason !== undefined && where?.includes(src) === true)
      found.push(`${reason} at ${where.slice(where.indexOf(src) + src.length)}`);
  }
  return found;
}

test('a later batch throws away none of the optimized code an earlier batch left', async () => {
  // The trace goes to a file, not a pipe: V8 writes it with stdio on the child's stdout, which
  // Node makes non-blocking when it is a pipe, and stdio drops what a full pipe refuses.
  const dir = mkdtempSync(join(tmpdir(), 'holdfast-hot-path-'));
  let stdout: string;
  try {
    const out = openSync(join(dir, 'trace.txt'), 'w');
    const flags = ['--trace-opt', '--trace-deopt-verbose', '--allow-natives-syntax'];
    const node = spawn(
      process.execPath,
      ['--import', 'tsx', ...flags, '--no-concurrent-recompilation', child],
      { stdio: ['ignore', out, 'inherit'], env: { ...process.env, NODE_OPTIONS: '' } },
    );
    const [code] = (await once(node, 'exit')) as [number | null];
    closeSync(out);
    expect(code).toBe(0);
    stdout = readFileSync(join(dir, 'trace.txt'), 'utf8');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  // Markers the child has V8 compile (see the fixture): where the later batches begin and end.
  const begin = stdout.indexOf('<JSFunction LATER_BATCHES_BEGIN');
  const end = stdout.indexOf('<JSFunction LATER_BATCHES_END');
  expect(begin > 0 && end > begin).toBe(true);
  // The first batch did leave optimized code behind (without any, nothing could be thrown away
  // and the check below would pass vacuously).
  expect(/completed compiling [^\n]*TURBOFAN/.test(stdout.slice(0, begin))).toBe(true);
  expect(eagerDeopts(stdout.slice(begin, end))).toEqual([]);
}, 60_000);
