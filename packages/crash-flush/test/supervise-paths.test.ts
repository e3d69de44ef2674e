/**
 * The supervisor's less travelled paths, in this process: a command given without args, a copy
 * still being written when the child exits, a child in a memory cgroup of its own (as root), an
 * abort during the restart delay, `exitAs` as PID 1, and `superviseSelf` re-executing its entry.
 */
import { getEventListeners } from 'node:events';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, test, vi } from 'vitest';
import { runChild } from '../src/internal/run-child.js';
import {
  exitAs,
  supervise,
  superviseSelf,
  type CrashReport,
  type Sink,
  type SuperviseOptions,
} from '../src/index.js';

const work = mkdtempSync(join(tmpdir(), 'holdfast-supervise-paths-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const memory = () => {
  const got: CrashReport[] = [];
  const sink: Sink = { name: 'memory', send: async (r) => void got.push(r) };
  return { sink, got };
};
const collect = () => {
  let text = '';
  const stream = new Writable({
    write: (chunk: Buffer, _encoding, done) => {
      text += String(chunk);
      done();
    },
  });
  return { stream, text: () => text };
};
const script = (name: string, body: string) => {
  const path = join(work, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
};
/** `process.exit` as a stand-in that stops the caller, as the real one does. */
class Exited extends Error {}
const exitStandIn = () =>
  vi.spyOn(process, 'exit').mockImplementation((code) => {
    throw new Exited(String(code));
  });

describe('runChild', { timeout: 30_000 }, () => {
  test('a command without args runs with none; its marker names the command alone', async () => {
    const spoolDir = join(work, 'spool-no-args');
    const out = collect();
    // The marker is written once the child is spawned: the script waits for it.
    const markers = `"${spoolDir}"/running/*.json`;
    const command = script(
      'show-marker',
      `echo "$#"; until cat ${markers} 2>/dev/null; do sleep 0.02; done`,
    );
    const options: SuperviseOptions = {
      command,
      service: 'agent',
      sink: memory().sink,
      spoolDir,
      tee: { stdout: out.stream },
    };
    const { diagnosis } = await runChild(options, 0, () => undefined);
    expect(diagnosis.exitCode).toBe(0);
    const [argc, marker] = out.text().split('\n');
    expect(argc).toBe('0');
    expect((JSON.parse(marker!) as { command: string }).command).toBe(command);
  });

  test('a copy still being written when the child exits is flushed before the run returns', async () => {
    let written = '';
    const slow = new Writable({
      write: (chunk: Buffer, _encoding, done) =>
        setTimeout(() => {
          written += String(chunk);
          done();
        }, 300),
    });
    await runChild(
      {
        command: process.execPath,
        args: ['-e', "process.stdout.write('last words')"],
        service: 'agent',
        sink: memory().sink,
        tee: { stdout: slow },
      },
      0,
      () => undefined,
    );
    expect(written).toBe('last words'); // all of it, and nothing else
  });

  test('a child in a memory cgroup of its own: its peak is the cgroup’s', async () => {
    // The memory controller as this host has it (cgroup v1 beside v2 on a hybrid host).
    const own = readFileSync('/proc/self/cgroup', 'utf8').split('\n');
    const v1 = own.find((l) => /^\d+:memory:/.test(l));
    const v1Root = '/sys/fs/cgroup/memory';
    const dir =
      v1 !== undefined && existsSync(join(v1Root, 'memory.max_usage_in_bytes'))
        ? join(v1Root, v1.split(':')[2]!, `holdfast-peak-${process.pid}`)
        : join('/sys/fs/cgroup', `holdfast-peak-${process.pid}`);
    mkdirSync(dir);
    try {
      const version = dir.startsWith(v1Root) ? 1 : 2;
      // The child moves itself into the cgroup, then runs long enough to be sampled there.
      const { diagnosis } = await runChild(
        {
          command: 'sh',
          args: [
            '-c',
            `echo $$ > ${join(dir, 'cgroup.procs')}; exec ${process.execPath} -e "setTimeout(() => {}, 400)"`,
          ],
          service: 'agent',
          sink: memory().sink,
          tee: false,
        },
        0,
        () => undefined,
      );
      const file = version === 1 ? 'memory.max_usage_in_bytes' : 'memory.peak';
      expect(diagnosis.peakMemorySource).toBe(
        version === 1 ? 'cgroup-memory.max_usage_in_bytes' : 'cgroup-memory.peak',
      );
      expect(diagnosis.peakMemoryBytes).toBe(Number(readFileSync(join(dir, file), 'utf8')));
    } finally {
      rmdirSync(dir);
    }
  });
});

describe('the restart delay', { timeout: 30_000 }, () => {
  test('an abort during it ends the loop at once; after a delay that ran out, no listener is left', async () => {
    const stop = new AbortController();
    const reason = new Error('stopping');
    const sink: Sink = {
      name: 'aborts',
      send: async () => {
        setImmediate(() => stop.abort(reason));
      },
    };
    await expect(
      supervise({
        command: process.execPath,
        args: ['-e', 'process.exit(3)'],
        service: 'agent',
        sink,
        tee: false,
        restart: { maxRestarts: 1, delay: 600_000 },
        signal: stop.signal,
      }),
    ).rejects.toBe(reason);
    expect(getEventListeners(stop.signal, 'abort')).toHaveLength(0);

    const idle = new AbortController();
    await supervise({
      command: process.execPath,
      args: ['-e', 'process.exit(3)'],
      service: 'agent',
      sink: memory().sink,
      tee: false,
      restart: { maxRestarts: 1, delay: 0 },
      signal: idle.signal,
    });
    expect(getEventListeners(idle.signal, 'abort')).toHaveLength(0);
  });
});

describe('exitAs as PID 1', () => {
  test('a signal cannot kill PID 1 the usual way: it exits with 128 + the signal’s number', () => {
    const exit = exitStandIn();
    const pid = Object.getOwnPropertyDescriptor(process, 'pid')!;
    Object.defineProperty(process, 'pid', { ...pid, value: 1 });
    try {
      expect(() => exitAs({ exitCode: null, signal: 'SIGTERM' })).toThrow(new Exited('143'));
      expect(() => exitAs({ exitCode: null, signal: 'SIGNOPE' as NodeJS.Signals })).toThrow(
        new Exited('128'),
      );
    } finally {
      Object.defineProperty(process, 'pid', pid);
    }
    expect(exit.mock.calls).toEqual([[143], [128]]);
  });
});

describe('superviseSelf', { timeout: 30_000 }, () => {
  test('re-executes its entry with the same flags and args, marked, and ends as the child did', async () => {
    const exit = exitStandIn();
    const entry = join(work, 'entry.js');
    writeFileSync(
      entry,
      'console.log(JSON.stringify({ argv: process.argv.slice(2), mark: process.env.MY_MARK, home: process.env.ONLY_THIS, path: process.env.PATH === undefined })); process.exit(3);',
    );
    const out = collect();
    const { argv, execArgv } = process;
    process.argv = [process.execPath, entry, 'a1', 'a2'];
    process.execArgv = ['--no-warnings'];
    try {
      await expect(
        superviseSelf({
          service: 'agent',
          sink: memory().sink,
          marker: 'MY_MARK',
          env: { ONLY_THIS: 'yes' },
          tee: { stdout: out.stream },
        }),
      ).rejects.toBeInstanceOf(Exited);
    } finally {
      process.argv = argv;
      process.execArgv = execArgv;
    }
    expect(JSON.parse(out.text())).toEqual({
      argv: ['a1', 'a2'],
      mark: '1',
      home: 'yes',
      path: true,
    });
    expect(exit.mock.calls).toEqual([[3]]);
  });
});
