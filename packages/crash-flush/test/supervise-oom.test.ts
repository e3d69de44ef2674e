/**
 * The kernel's OOM killer, attributed: a supervisor and its agent in a memory cgroup of their own
 * (created here, as root, with a small limit); the agent allocates past it and is killed; the
 * report says `oom-killed`, read from the cgroup's `oom_kill` counter.
 *
 * The memory controller is wherever the host has it: cgroup v1 (`memory.limit_in_bytes`, a child
 * of this process's own memory cgroup) on a hybrid host (as on the machine this test was written on), or
 * cgroup v2 (`memory.max`, at the root of the unified hierarchy).
 */
import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmdirSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, onTestFinished, test } from 'vitest';
import type { CrashReport, ExitDiagnosis } from '../src/index.js';

const cli = fileURLToPath(new URL('../src/cli/supervise.ts', import.meta.url));
const LIMIT = 384 << 20;

/** A fresh memory cgroup limited to `limit` bytes: its `cgroup.procs` file, and its removal. */
function limitedCgroup(limit: number): { procs: string; remove: () => Promise<void> } {
  const name = `holdfast-oom-${process.pid}`;
  const own = readFileSync('/proc/self/cgroup', 'utf8').split('\n');
  const v1Memory = own.find((l) => /^\d+:memory:/.test(l));
  let dir: string;
  if (v1Memory !== undefined && existsSync('/sys/fs/cgroup/memory/memory.oom_control')) {
    dir = join('/sys/fs/cgroup/memory', v1Memory.split(':')[2]!, name);
    mkdirSync(dir);
    writeFileSync(join(dir, 'memory.limit_in_bytes'), String(limit));
  } else {
    const root = '/sys/fs/cgroup';
    const controllers = readFileSync(join(root, 'cgroup.subtree_control'), 'utf8');
    if (!controllers.split(/\s+/).includes('memory'))
      throw new Error(`no memory controller on cgroup v2 (${root}: "${controllers.trim()}")`);
    dir = join(root, name);
    mkdirSync(dir);
    writeFileSync(join(dir, 'memory.max'), String(limit));
    writeFileSync(join(dir, 'memory.swap.max'), '0');
  }
  const procs = join(dir, 'cgroup.procs');
  return {
    procs,
    remove: async () => {
      // Its last processes (tsx's esbuild service) leave once their parent is gone.
      for (let i = 0; i < 500 && readFileSync(procs, 'utf8').trim() !== ''; i += 1)
        await new Promise((resolve) => setTimeout(resolve, 10));
      rmdirSync(dir);
    },
  };
}

test('an agent the OOM killer kills in its memory cgroup is reported oom-killed; the supervisor dies of the same SIGKILL', async () => {
  const cgroup = limitedCgroup(LIMIT);
  onTestFinished(cgroup.remove);
  const reports = join(mkdtempSync(join(tmpdir(), 'holdfast-oom-')), 'reports.jsonl');
  // Off-heap buffers, filled (so resident): the cgroup's limit is reached long before V8's.
  const hog = 'const hog = []; for (;;) hog.push(Buffer.alloc(8 << 20, 1));';
  const ended = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(
    (resolve) => {
      const p = spawn(
        'sh',
        [
          ...['-c', 'echo $$ > "$CGROUP_PROCS" && exec "$@"', 'sh'],
          ...[process.execPath, '--import', 'tsx', cli, '--service', 'agent', '--file', reports],
          ...['--', process.execPath, '-e', hog],
        ],
        { env: { ...process.env, CGROUP_PROCS: cgroup.procs }, stdio: 'ignore' },
      );
      p.on('close', (code, signal) => resolve({ code, signal }));
    },
  );
  expect(ended).toEqual({ code: null, signal: 'SIGKILL' });
  const [report] = readFileSync(reports, 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as CrashReport & { extra: { diagnosis: ExitDiagnosis } });
  expect(report!.extra.diagnosis).toMatchObject({
    signal: 'SIGKILL',
    signature: 'oom-killed',
    oomKilled: true,
  });
  expect(report!.error?.message).toMatch(/oom-killed/);
}, 60_000);
