/**
 * The built-in sinks, in process: what a running process's `send` puts on the wire (checked
 * against a loopback server the test starts), when it counts as delivered, the crash-time
 * delivery `prepare` describes, the OTLP body, and the sinks' option errors.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, globalAgent as httpsGlobalAgent } from 'node:https';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  buildReport,
  fileSink,
  httpSink,
  otlpLogsPayload,
  otlpLogsSink,
  VERSION,
  type CrashReport,
  type HttpSinkOptions,
} from '../src/index.js';
import { recordOf } from './helpers.js';

type Attribute = { key: string; value: Record<string, unknown> };
interface Received {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}
/** What the server answers the next requests; each test sets it. */
let respond: (res: ServerResponse) => void = (res) => res.end();
const received: Received[] = [];
const server = createServer((req, res) => {
  const parts: Buffer[] = [];
  req.on('data', (part: Buffer) => parts.push(part));
  req.on('end', () => {
    received.push({
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      body: Buffer.concat(parts).toString('utf8'),
    });
    respond(res);
  });
});
const work = mkdtempSync(join(tmpdir(), 'holdfast-sinks-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
let base = '';
beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const report = (over: Partial<CrashReport> = {}): CrashReport => ({
  ...buildReport({
    service: 'log-agent',
    kind: 'uncaughtException',
    error: new Error('disk is full: 日本'),
    lastRecords: [{ msg: 'flush' }],
    metadata: { 'k8s.pod.name': 'agent-0' },
    maxReportBytes: 65_536,
  }),
  ...over,
});
const answer = (status: number) => (res: ServerResponse) => {
  res.writeHead(status, status >= 300 && status < 400 ? { location: '/moved' } : {});
  res.end('{}');
};

describe('httpSink and otlpLogsSink send', () => {
  test('one POST of the JSON body, its length in bytes, with the given headers', async () => {
    respond = answer(200);
    received.length = 0;
    const r = report();
    await httpSink({ url: `${base}/crashes?tenant=a`, headers: { 'x-tenant': 'a' } }).send(r);
    await otlpLogsSink({ url: `${base}/v1/logs` }).send(r);
    expect(received).toHaveLength(2);
    const [plain, otlp] = received as [Received, Received];
    expect(plain).toMatchObject({
      method: 'POST',
      url: '/crashes?tenant=a',
      body: JSON.stringify(r),
    });
    expect(plain.headers).toMatchObject({
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(JSON.stringify(r))),
      'x-tenant': 'a',
    });
    expect(Buffer.byteLength(plain.body)).toBeGreaterThan(plain.body.length); // the CJK
    expect(otlp).toMatchObject({ method: 'POST', url: '/v1/logs' });
    expect(otlp.headers['content-type']).toBe('application/json');
    expect(JSON.parse(otlp.body)).toEqual(otlpLogsPayload(r));
  });

  test.each([200, 204, 299])('an answer %i is a delivery', async (status) => {
    respond = answer(status);
    await expect(httpSink({ url: `${base}/c` }).send(report())).resolves.toBeUndefined();
  });

  test.each([300, 302, 404, 503])(
    'an answer %i is not (a redirect is not followed)',
    async (status) => {
      respond = answer(status);
      received.length = 0;
      await expect(httpSink({ url: `${base}/c` }).send(report())).rejects.toThrow(
        new Error(`${base}/c answered ${status}`),
      );
      expect(received.map((r) => r.url)).toEqual(['/c']);
    },
  );

  test('a status below 200 (which only a broken server sends) is not a delivery', async () => {
    const raw = createNetServer((socket) =>
      socket.once('data', () =>
        socket.end('HTTP/1.1 099 Odd\r\ncontent-length: 0\r\nconnection: close\r\n\r\n'),
      ),
    );
    await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(raw.address() as AddressInfo).port}/`;
    try {
      await expect(httpSink({ url }).send(report())).rejects.toThrow(
        new Error(`${url} answered 99`),
      );
    } finally {
      await new Promise<void>((resolve) => raw.close(() => resolve()));
    }
  });

  test('an https URL is sent over TLS', async () => {
    const key = join(work, 'key.pem');
    const cert = join(work, 'cert.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    const bodies: string[] = [];
    const tls = createHttpsServer(
      { key: readFileSync(key), cert: readFileSync(cert) },
      (req, res) => {
        let body = '';
        req.on('data', (part: Buffer) => (body += String(part)));
        req.on('end', () => {
          bodies.push(body);
          res.end();
        });
      },
    );
    await new Promise<void>((resolve) => tls.listen(0, '127.0.0.1', resolve));
    // The test's own certificate authority, for this test only.
    const saved = httpsGlobalAgent.options.ca;
    httpsGlobalAgent.options.ca = readFileSync(cert);
    try {
      const r = report();
      const port = (tls.address() as AddressInfo).port;
      await otlpLogsSink({ url: `https://127.0.0.1:${port}/v1/logs` }).send(r);
      expect(bodies.map((b) => JSON.parse(b) as unknown)).toEqual([otlpLogsPayload(r)]);
    } finally {
      httpsGlobalAgent.options.ca = saved;
      tls.closeAllConnections();
      await new Promise<void>((resolve) => tls.close(() => resolve()));
    }
  });

  test('an answer cut off in its body, or no server at all, is a failure, never a hang', async () => {
    respond = (res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('{"partial":');
      setImmediate(() => res.destroy());
    };
    await expect(httpSink({ url: `${base}/c` }).send(report())).rejects.toThrow();
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    await expect(httpSink({ url: `http://127.0.0.1:${port}/` }).send(report())).rejects.toThrow(
      /ECONNREFUSED/,
    );
  });
});

describe('prepare: the crash-time delivery', () => {
  test('an HTTP sink: the normalised URL, the headers and the encoded body', () => {
    const r = report();
    const headers = { authorization: 'Bearer t' };
    expect(httpSink({ url: 'http://Collector:8080', headers }).prepare?.(r)).toEqual({
      kind: 'http',
      url: 'http://collector:8080/',
      headers,
      body: JSON.stringify(r),
    });
    expect(otlpLogsSink({ url: 'https://otel:4318/v1/logs' }).prepare?.(r)).toEqual({
      kind: 'http',
      url: 'https://otel:4318/v1/logs',
      headers: {},
      body: JSON.stringify(otlpLogsPayload(r)),
    });
    expect([httpSink, otlpLogsSink].map((make) => make({ url: base }).name)).toEqual([
      'http',
      'otlp-logs',
    ]);
  });

  test('fileSink: one JSON line per report, appended, readable only by its owner', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'holdfast-file-sink-'));
    try {
      const path = join(dir, 'crashes.jsonl');
      const sink = fileSink(path);
      const [a, b] = [report(), report({ kind: 'capture' })];
      expect(sink.name).toBe('file');
      expect(sink.prepare?.(a)).toEqual({ kind: 'file', path, line: `${JSON.stringify(a)}\n` });
      await sink.send(a);
      await sink.send(b);
      expect(readFileSync(path, 'utf8')).toBe(`${JSON.stringify(a)}\n${JSON.stringify(b)}\n`);
      expect(statSync(path).mode & 0o777).toBe(0o600);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the sinks’ options', () => {
  test.each([
    [null, 'options: expected an object { url, headers }, got null'],
    [[], 'options: expected an object { url, headers }, got'],
    ['http://x', 'options: expected an object { url, headers }, got'],
    [{ url: 'http://x', header: {} }, 'header'],
    [{ url: 'ftp://x/' }, 'url: expected an absolute http(s) URL, got "ftp://x/" (string)'],
    [{ url: 'collector:8080' }, 'url: expected an absolute http(s) URL'],
    [{ url: '/v1/logs' }, 'url: expected an absolute http(s) URL, got "/v1/logs" (string)'],
    [{}, 'url: expected an absolute http(s) URL, got undefined'],
    [{ url: 'http://x', headers: null }, 'headers: expected an object of header names and values'],
    [{ url: 'http://x', headers: ['a'] }, 'headers: expected an object of header names and values'],
    [
      { url: 'http://x', headers: 'a: b' },
      'headers: expected an object of header names and values, got "a: b" (string)',
    ],
  ])('%j is a TypeError: %s', (options, message) => {
    for (const make of [httpSink, otlpLogsSink]) {
      expect(() => make(options as HttpSinkOptions)).toThrow(TypeError);
      expect(() => make(options as HttpSinkOptions)).toThrow(message);
    }
  });

  test('headers are optional; a file path must be a non-empty string', () => {
    expect(httpSink({ url: 'https://x/' }).prepare?.(report())).toMatchObject({ headers: {} });
    expect(() => fileSink('')).toThrow('path: expected a file path, got "" (string)');
    expect(() => fileSink(3 as unknown as string)).toThrow(TypeError);
    expect(() => fileSink(3 as unknown as string)).toThrow('path: expected a file path');
  });
});

describe('otlpLogsPayload', () => {
  test('resource: service, pid, runtime and metadata, each typed as OTLP types them', () => {
    const r = report({
      metadata: { 'k8s.pod.name': 'agent-0', 'host.cpus': 2, ratio: 0.5, canary: true },
    });
    const { resource } = recordOf(otlpLogsPayload(r));
    expect(resource('service.name')).toBe('log-agent');
    expect(resource('process.pid')).toBe(String(process.pid));
    expect(resource('process.runtime.name')).toBe('nodejs');
    expect(resource('process.runtime.version')).toBe(process.versions.node);
    const attributes = (
      otlpLogsPayload(r) as { resourceLogs: { resource: { attributes: unknown } }[] }
    ).resourceLogs[0]!.resource.attributes;
    expect(attributes).toEqual(
      expect.arrayContaining([
        { key: 'k8s.pod.name', value: { stringValue: 'agent-0' } },
        { key: 'host.cpus', value: { intValue: '2' } },
        { key: 'ratio', value: { doubleValue: 0.5 } },
        { key: 'canary', value: { boolValue: true } },
      ]),
    );
    const { runtime: _unknown, ...withoutRuntime } = r;
    const keys = (
      otlpLogsPayload(withoutRuntime) as {
        resourceLogs: { resource: { attributes: { key: string }[] } }[];
      }
    ).resourceLogs[0]!.resource.attributes.map((a) => a.key);
    expect(keys).toEqual([
      'service.name',
      'process.pid',
      'k8s.pod.name',
      'host.cpus',
      'ratio',
      'canary',
    ]);
  });

  test('the record: time in nanoseconds, severity by kind, body, exception and exit code', () => {
    const payload = otlpLogsPayload(report({ time: 1_700_000_000_123 })) as {
      resourceLogs: {
        scopeLogs: {
          scope: unknown;
          logRecords: { timeUnixNano: string; observedTimeUnixNano: string }[];
        }[];
      }[];
    };
    const scope = payload.resourceLogs[0]!.scopeLogs[0]!;
    expect(scope.scope).toEqual({ name: '@holdfast/crash-flush', version: VERSION });
    expect(scope.logRecords[0]).toMatchObject({
      timeUnixNano: '1700000000123000000',
      observedTimeUnixNano: '1700000000123000000',
    });
    // A spooled report's time read back is only checked to be an integer; anything else is 0.
    const odd = otlpLogsPayload(report({ time: 12.9 })) as typeof payload;
    expect(odd.resourceLogs[0]!.scopeLogs[0]!.logRecords[0]!.timeUnixNano).toBe('12000000');
    const nan = otlpLogsPayload(report({ time: 'x' as unknown as number })) as typeof payload;
    expect(nan.resourceLogs[0]!.scopeLogs[0]!.logRecords[0]!.timeUnixNano).toBe('0');

    const severities = (
      [
        ['uncaughtException', 21, 'FATAL'],
        ['unhandledRejection', 21, 'FATAL'],
        ['exit', 21, 'FATAL'],
        ['signal', 21, 'FATAL'],
        ['shutdownTimeout', 21, 'FATAL'],
        ['worker', 21, 'FATAL'],
        ['capture', 17, 'ERROR'],
        ['shutdown', 9, 'INFO'],
      ] as const
    ).map(([kind]) => {
      const record = recordOf(otlpLogsPayload(report({ kind })));
      return [kind, record.severityNumber, record.severityText];
    });
    expect(severities).toEqual([
      ['uncaughtException', 21, 'FATAL'],
      ['unhandledRejection', 21, 'FATAL'],
      ['exit', 21, 'FATAL'],
      ['signal', 21, 'FATAL'],
      ['shutdownTimeout', 21, 'FATAL'],
      ['worker', 21, 'FATAL'],
      ['capture', 17, 'ERROR'],
      ['shutdown', 9, 'INFO'],
    ]);

    const crash = report();
    const record = recordOf(otlpLogsPayload(crash));
    expect(record.body).toBe('Error: disk is full: 日本');
    expect(record.attr('log.record.uid')).toBe(crash.id);
    expect(record.attr('exception.type')).toBe('Error');
    expect(record.attr('exception.message')).toBe('disk is full: 日本');
    expect(record.attr('exception.stacktrace')).toBe(crash.error?.stack);
    expect(record.attr('process.exit.code')).toBeUndefined();

    const exit = recordOf(otlpLogsPayload(report({ kind: 'exit', error: undefined, exitCode: 3 })));
    expect(exit.body).toBe('exit');
    expect(exit.attr('process.exit.code')).toBe('3');
    expect(exit.attr('exception.type')).toBeUndefined();
    // An error without a stack (a supervised child's) has no exception.stacktrace at all.
    const noStack = otlpLogsPayload(
      report({ error: { type: 'Error', message: 'm', stack: '' } }),
    ) as { resourceLogs: { scopeLogs: { logRecords: { attributes: { key: string }[] }[] }[] }[] };
    expect(
      noStack.resourceLogs[0]!.scopeLogs[0]!.logRecords[0]!.attributes.map((a) => a.key),
    ).not.toContain('exception.stacktrace');
  });

  test('our own fields: one flat holdfast.* attribute each, extra and the diagnosis flattened', () => {
    const r = report({
      kind: 'signal',
      signal: 'SIGSEGV',
      truncated: true,
      uptimeMs: 1_234,
      lastRecords: [{ msg: 'a' }, 'b'],
      extra: {
        supervisor: true,
        crashLoop: { suppressed: 3, lastSeenMs: 12 },
        workerInfo: { thread: { id: 2, name: { first: 'w' } } },
        deep: { a: { b: { c: { d: 1 } } } },
        tags: ['x', 'y'],
        none: null,
        nothing: undefined,
        diagnosis: {
          signature: 'SIGSEGV',
          oomKilled: false,
          peakMemoryBytes: 1_048_576,
          exitCode: 139,
          signal: 'SIGSEGV',
          uptimeMs: 99,
          lastStderr: 'segfault',
          memory: { source: { name: { x: 'cgroup' } } },
        },
      },
    });
    const record = recordOf(otlpLogsPayload(r));
    const payload = otlpLogsPayload(r) as {
      resourceLogs: { scopeLogs: { logRecords: { attributes: { key: string }[] }[] }[] }[];
    };
    const own = payload.resourceLogs[0]!.scopeLogs[0]!.logRecords[0]!.attributes.map(
      (a) => a.key,
    ).filter((key) => key.startsWith('holdfast.'));
    expect(own.sort()).toEqual(
      [
        'holdfast.kind',
        'holdfast.fingerprint',
        'holdfast.signal',
        'holdfast.truncated',
        'holdfast.uptime_ms',
        'holdfast.last_records',
        'holdfast.supervisor',
        'holdfast.crash_loop.suppressed',
        'holdfast.crash_loop.last_seen_ms',
        'holdfast.worker_info.thread.id',
        'holdfast.worker_info.thread.name.first',
        'holdfast.deep.a.b.c',
        'holdfast.tags',
        'holdfast.signature',
        'holdfast.oom_killed',
        'holdfast.peak_memory_bytes',
        'holdfast.memory.source.name',
      ].sort(),
    );
    expect(record.attr('holdfast.kind')).toBe('signal');
    expect(record.attr('holdfast.fingerprint')).toBe(r.fingerprint);
    expect(record.attr('holdfast.signal')).toBe('SIGSEGV');
    expect(record.attr('holdfast.truncated')).toBe(true);
    expect(record.attr('holdfast.uptime_ms')).toBe('1234');
    expect(record.attr('holdfast.last_records')).toBe('[{"msg":"a"},"b"]');
    expect(record.attr('holdfast.supervisor')).toBe(true);
    expect(record.attr('holdfast.crash_loop.suppressed')).toBe('3');
    // `extra` is split three levels down; an object below that (or an array) is its JSON.
    expect(record.attr('holdfast.worker_info.thread.name.first')).toBe('w');
    expect(record.attr('holdfast.deep.a.b.c')).toBe('{"d":1}');
    expect(record.attr('holdfast.tags')).toBe('["x","y"]');
    // The diagnosis: split two levels down; what the record carries elsewhere is not repeated.
    expect(record.attr('holdfast.signature')).toBe('SIGSEGV');
    expect(record.attr('holdfast.oom_killed')).toBe(false);
    expect(record.attr('holdfast.peak_memory_bytes')).toBe('1048576');
    expect(record.attr('holdfast.memory.source.name')).toBe('{"x":"cgroup"}');

    // A diagnosis that is not an object is an attribute like any other `extra` field.
    const plain = recordOf(otlpLogsPayload(report({ extra: { diagnosis: 'none', n: null } })));
    expect(plain.attr('holdfast.diagnosis')).toBe('none');
  });

  test('what is not a value adds no attribute, and takes none away', () => {
    const keysOf = (r: CrashReport) =>
      (
        otlpLogsPayload(r) as {
          resourceLogs: { scopeLogs: { logRecords: { attributes: Attribute[] }[] }[] }[];
        }
      ).resourceLogs[0]!.scopeLogs[0]!.logRecords[0]!.attributes;
    const base = report();
    const plain = keysOf(base);
    const odd = keysOf(
      report({
        ...base,
        extra: {
          truncated: undefined, // would collide with holdfast.truncated
          none: null,
          handler: Object.assign(() => undefined, { id: 1 }),
          diagnosis: null,
        },
      }),
    );
    expect(odd).toEqual(plain);
    // A number is an OTLP number (an int as a string, as the protocol's JSON has it), not text.
    const typed = keysOf(report({ extra: { restarts: 3, share: 0.25, ok: true } }));
    expect(typed).toEqual(
      expect.arrayContaining([
        { key: 'holdfast.restarts', value: { intValue: '3' } },
        { key: 'holdfast.share', value: { doubleValue: 0.25 } },
        { key: 'holdfast.ok', value: { boolValue: true } },
      ]),
    );
    // The diagnosis' signal is the record's holdfast.signal; it is never added a second time.
    const diagnosed = keysOf(
      report({ extra: { diagnosis: { signal: 'SIGTERM', signature: 'x' } } }),
    );
    expect(diagnosed.map((a) => a.key)).not.toContain('holdfast.signal');
  });
});
