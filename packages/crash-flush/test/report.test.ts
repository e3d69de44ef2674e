/**
 * Building a report, in process: its fields, the records kept under `maxReportBytes`, and the
 * fingerprint the rate limit and a backend group crashes by.
 */
import { describe, expect, test } from 'vitest';
import {
  buildReport,
  fingerprintOf,
  type CrashKind,
  type CrashReport,
  type ReportInput,
} from '../src/index.js';
import { reportProblem } from '../src/internal/report-shape.js';

const bytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value));
const boom = new Error('boom');
/** Fixed pid and uptime: a report's size then depends only on what a test varies. */
const input = (over: Partial<ReportInput> = {}): ReportInput => ({
  service: 'log-agent',
  kind: 'uncaughtException',
  error: boom,
  lastRecords: [],
  metadata: {},
  maxReportBytes: 65_536,
  pid: 4242,
  uptimeMs: 1_000,
  ...over,
});

describe('buildReport', () => {
  test('the fields of a death: given ones kept, absent ones left out, the rest of this process', () => {
    const before = Math.floor(process.uptime() * 1_000);
    const r = buildReport({
      service: 'log-agent',
      kind: 'exit',
      exitCode: 3,
      lastRecords: [{ msg: 'a' }],
      metadata: { 'k8s.pod.name': 'agent-0' },
      maxReportBytes: 65_536,
    });
    const after = Math.ceil(process.uptime() * 1_000);
    expect(r).toMatchObject({
      service: 'log-agent',
      kind: 'exit',
      exitCode: 3,
      error: undefined,
      lastRecords: [{ msg: 'a' }],
      metadata: { 'k8s.pod.name': 'agent-0' },
      pid: process.pid,
      truncated: false,
      runtime: { name: 'nodejs', version: process.versions.node },
    });
    expect(r.uptimeMs).toBeGreaterThanOrEqual(before);
    expect(r.uptimeMs).toBeLessThanOrEqual(after);
    expect(Number.isInteger(r.uptimeMs)).toBe(true);
    expect(r.id).toMatch(/^[\da-f]{8}-[\da-f]{4}-[\da-f]{4}-[\da-f]{4}-[\da-f]{12}$/);
    expect(buildReport(input()).id).not.toBe(buildReport(input()).id);
    // Absent, not present as undefined: the spool and the wire carry what is there.
    for (const key of ['signal', 'extra']) expect(Object.keys(r)).not.toContain(key);
    expect(Object.keys(buildReport(input({ kind: 'signal', signal: 'SIGSEGV' })))).not.toContain(
      'exitCode',
    );

    const given = buildReport(
      input({
        kind: 'signal',
        signal: 'SIGSEGV',
        extra: { worker: 2 },
        runtime: { name: 'python', version: '3.12' },
      }),
    );
    expect(given).toMatchObject({
      signal: 'SIGSEGV',
      extra: { worker: 2 },
      pid: 4242,
      uptimeMs: 1_000,
      runtime: { name: 'python', version: '3.12' },
    });
    // A supervised command that is not this Node: the runtime is unknown, so absent.
    expect(Object.keys(buildReport(input({ runtime: null })))).not.toContain('runtime');
  });

  test('the service name is cut to 256 bytes, never inside a character', () => {
    expect(buildReport(input({ service: 'a'.repeat(300) })).service).toBe('a'.repeat(256));
    const cjk = buildReport(input({ service: '日'.repeat(100) })).service;
    expect(cjk).toBe('日'.repeat(85)); // 3 bytes each: 255 of the 256
  });

  test('all records that fit are kept, oldest first, and the report is not truncated', () => {
    const records = [{ n: 1 }, 'plain text', '{"n":3}', { n: 4 }];
    const r = buildReport(input({ lastRecords: records }));
    expect(r.lastRecords).toEqual([{ n: 1 }, 'plain text', { n: 3 }, { n: 4 }]);
    expect(r.truncated).toBe(false);
  });

  // Each record below is 20 bytes of JSON; a list of k of them costs 21k - 1 bytes (the commas).
  // `room` is what the report without records leaves under the cap.
  test.each([
    [0, 0],
    [20, 0],
    [21, 1],
    [41, 1],
    [42, 2],
    [60, 2],
    [63, 3],
    [105, 5],
  ])('with %i bytes of room: the newest %i records, nothing cut from the rest', (room, kept) => {
    const records = Array.from({ length: 5 }, (_, n) => ({ n, pad: 'x'.repeat(4) }));
    expect(bytes(records[0])).toBe(20);
    const empty = bytes(buildReport(input()));
    const r = buildReport(input({ lastRecords: records, maxReportBytes: empty + room }));
    expect(r.lastRecords).toEqual(records.slice(5 - kept));
    expect(r.truncated).toBe(kept < 5);
    expect(r.error?.stack).toBe(boom.stack);
    expect(bytes(r)).toBeLessThanOrEqual(empty + room);
  });

  test('each field of extra that cannot be serialised becomes its text; the others are kept as they are', () => {
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    const throwing = {
      get broken() {
        throw new Error('getter');
      },
      ok: 1,
    };
    const extra = {
      big: 12n,
      cycle,
      json: '{"kept":"as a string"}',
      nested: { n: [1, 'two', null] },
      toJSONThrows: {
        toJSON() {
          throw new Error('toJSON');
        },
      },
      ['__proto__']: 'a field, not a prototype',
    };
    const r = buildReport(input({ extra }));
    expect(r.extra).toEqual({
      big: '12',
      cycle: '[object Object]',
      json: '{"kept":"as a string"}',
      nested: { n: [1, 'two', null] },
      toJSONThrows: '[object Object]',
      ['__proto__']: 'a field, not a prototype',
    });
    expect(Object.getPrototypeOf(r.extra)).toBe(Object.prototype);
    expect(buildReport(input({ extra: throwing })).extra).toEqual({
      broken: '[field could not be read]',
      ok: 1,
    });
    // From JavaScript, anything: kept whole, as its JSON or its text.
    const odd = (value: unknown) =>
      buildReport(input({ extra: value as Record<string, unknown> })).extra;
    expect(odd('a string')).toEqual({ value: 'a string' });
    expect(odd([1, 2])).toEqual({ value: [1, 2] });
    expect(odd(null)).toEqual({ value: null });
    const unlistable = new Proxy(
      {},
      {
        ownKeys() {
          throw new Error('ownKeys');
        },
      },
    );
    expect(odd(unlistable)).toEqual({ value: '[object Object]' });
    // A field larger than the report is its text cut to the budget, then capped with the rest.
    const huge = buildReport(input({ maxReportBytes: 2_048, extra: { log: 'x'.repeat(10_000) } }));
    expect(bytes(huge)).toBeLessThanOrEqual(2_048);
    expect(reportProblem(JSON.parse(JSON.stringify(r)))).toBeUndefined();
  });

  test('every crash kind makes a report the spool reads back; another kind is refused', () => {
    const kinds: CrashKind[] = [
      'uncaughtException',
      'unhandledRejection',
      'signal',
      'shutdown',
      'shutdownTimeout',
      'exit',
      'capture',
      'worker',
    ];
    for (const kind of kinds) expect(reportProblem(buildReport(input({ kind })))).toBeUndefined();
    expect(reportProblem({ ...buildReport(input()), kind: 'crash' })).toBe(
      '`kind` is not a crash kind',
    );
  });
});

describe('fingerprintOf', () => {
  const error = (message: string, stack: string): CrashReport['error'] => ({
    type: 'Error',
    message,
    stack,
  });
  const frames = (...names: string[]) =>
    ['Error: x', ...names.map((n) => `    at ${n} (/srv/agent/${n}.js:123:45)`)].join('\n');
  const print = (e: CrashReport['error']) => fingerprintOf('uncaughtException', e);

  test('is 16 hex digits, and stable across releases: a backend and the rate limit group by it', () => {
    // Changing how the print is made regroups every crash a backend has seen: a deliberate change.
    expect(fingerprintOf('exit', undefined, undefined, 3)).toBe('5cea9216b3120323');
    expect(fingerprintOf('signal', undefined, 'SIGSEGV')).toBe('43d35a432ffd698d');
    expect(print(error('port 8080 in use', frames('listen', 'main')))).toBe('1337536f47967c83');
    expect(fingerprintOf('capture', undefined)).toMatch(/^[\da-f]{16}$/);
  });

  test('tells kinds, signals, exit codes and error types apart', () => {
    const prints = [
      fingerprintOf('exit', undefined),
      fingerprintOf('exit', undefined, undefined, 0),
      fingerprintOf('exit', undefined, undefined, 3),
      fingerprintOf('exit', undefined, undefined, 13),
      // The fields are separated: signal '1' and exit 3 is not exit 13.
      fingerprintOf('exit', undefined, '1', 3),
      fingerprintOf('signal', undefined, 'SIGTERM'),
      fingerprintOf('signal', undefined, 'SIGKILL'),
      fingerprintOf('shutdown', undefined, 'SIGTERM'),
      print(error('m', '')),
      print({ type: 'TypeError', message: 'm', stack: '' }),
    ];
    expect(new Set(prints).size).toBe(prints.length);
  });

  test('blanks numbers in the message, whatever their length; only its first 1,024 characters count', () => {
    expect(print(error('offset 7 of 12345', ''))).toBe(print(error('offset 99999 of 1', '')));
    expect(print(error('offset x', ''))).not.toBe(print(error('offset 7', '')));
    const long = 'y'.repeat(1_024);
    expect(print(error(`${long}a`, ''))).toBe(print(error(`${long}b`, '')));
    expect(print(error(`${long.slice(1)}a`, ''))).not.toBe(print(error(`${long.slice(1)}b`, '')));
  });

  test('the top three frames, without line and column, and nothing else of the stack', () => {
    const base = print(error('m', frames('a', 'b', 'c')));
    // Another line and column, with or without parentheses around the location.
    expect(print(error('m', frames('a', 'b', 'c').replaceAll(':123:45', ':9:1')))).toBe(base);
    const bare = (line: string) => `Error: x\n    at /srv/main.js:${line}`;
    // Only the frame's own location, at the end of the line, is blanked: an eval frame's outer
    // location (where the eval was called) is part of it.
    const evalFrame = (outer: string, own: string) =>
      `Error: x\n    at eval (eval at run (/srv/a.js:${outer}), <anonymous>:${own})`;
    expect(print(error('m', evalFrame('10:5', '1:1')))).toBe(
      print(error('m', evalFrame('10:5', '2:7'))),
    );
    expect(print(error('m', evalFrame('10:5', '1:1')))).not.toBe(
      print(error('m', evalFrame('11:5', '1:1'))),
    );
    expect(print(error('m', bare('10:20')))).toBe(print(error('m', bare('3:4'))));
    // A fourth frame, and lines that are not frames (the message's own lines), do not count.
    expect(print(error('m', frames('a', 'b', 'c', 'd')))).toBe(base);
    expect(print(error('m', `${frames('a', 'b', 'c')}\nat-home\n    cause: x`))).toBe(base);
    expect(print(error('m', frames('a', 'b', 'c').replace('Error: x', 'Error: y')))).toBe(base);
    // Each of the three does.
    for (const other of [frames('z', 'b', 'c'), frames('a', 'z', 'c'), frames('a', 'b', 'z')])
      expect(print(error('m', other))).not.toBe(base);
    expect(print(error('m', frames('a', 'b')))).not.toBe(base);
  });

  test('reads at most the first 64 lines of a stack', () => {
    const noise = Array.from({ length: 63 }, (_, i) => `  line ${i}`).join('\n');
    const withFrameAt = (line: string) => error('m', `Error: x\n${noise}\n${line}`);
    // Line 65 is past the limit: a frame there is ignored, as if it were not there.
    expect(print(withFrameAt('    at late (/a.js:1:1)'))).toBe(print(withFrameAt('tail')));
    const early = (line: string) => error('m', `Error: x\n${line}\n${noise}`);
    expect(print(early('    at late (/a.js:1:1)'))).not.toBe(print(early('tail')));
  });
});
