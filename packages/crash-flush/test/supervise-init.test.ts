/**
 * The supervisor as PID 1 of a container (a PID namespace of its own: `unshare --pid --fork
 * --mount-proc`, as root): it reaps the orphans its agent leaves, and still exits as the agent did.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, onTestFinished, test } from 'vitest';

const cli = fileURLToPath(new URL('../src/cli/supervise.ts', import.meta.url));
const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

test('as PID 1 it reaps every orphan the agent leaves, and exits with the agent’s status', async () => {
  const reports = join(mkdtempSync(join(tmpdir(), 'holdfast-init-')), 'reports.jsonl');
  const p = spawn(
    'unshare',
    [
      // --kill-child: if the test gives up, killing unshare ends the namespace with it.
      ...[
        '--pid',
        '--fork',
        '--kill-child',
        '--mount-proc',
        process.execPath,
        '--import',
        'tsx',
        cli,
      ],
      ...['--service', 'agent', '--file', reports, '--'],
      ...[process.execPath, fixture('leaves-orphans.mjs')],
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  onTestFinished(() => {
    p.kill('SIGKILL');
  });
  let stdout = '';
  let stderr = '';
  p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => p.on('close', resolve));

  expect(stderr).not.toMatch(/will NOT be reaped/);
  // Measured by the agent inside the namespace while the supervisor (PID 1) was running.
  const seen = JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
  expect(seen).toEqual({ parent: 1, orphans: 20, left: [], zombies: [] });
  expect(code).toBe(7);
  const [report] = readFileSync(reports, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { exitCode: number; extra: { diagnosis: { signature: string } } });
  expect(report).toMatchObject({ exitCode: 7, extra: { diagnosis: { signature: 'exit-code' } } });
}, 60_000);
