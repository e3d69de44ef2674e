/**
 * The OTLP payload is checked against OpenTelemetry's own JS packages (and, from real crashes,
 * each attribute name against its semantic conventions): the same log record is
 * emitted through the OTel Logs SDK and serialised by `@opentelemetry/otlp-transformer`'s JSON
 * serializer; both must carry the same resource, scope, severity, body and attributes.
 */
import { SeverityNumber } from '@opentelemetry/api-logs';
import { JsonLogsSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  InMemoryLogRecordExporter,
  LoggerProvider,
  SimpleLogRecordProcessor,
} from '@opentelemetry/sdk-logs';
import * as semconv from '@opentelemetry/semantic-conventions/incubating';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, onTestFinished, test } from 'vitest';
import { buildReport, otlpLogsPayload, VERSION } from '../src/index.js';
import { startCaptureServer } from '../src/testing.js';
import { runFixture } from './helpers.js';

type Attribute = { key: string; value: Record<string, unknown> };
type Payload = {
  resourceLogs: {
    resource: { attributes: Attribute[] };
    scopeLogs: {
      scope: { name: string; version?: string };
      logRecords: {
        timeUnixNano: unknown;
        severityNumber: number;
        severityText: string;
        body: { stringValue: string };
        attributes: Attribute[];
      }[];
    }[];
  }[];
};
/** Attributes as a plain object; OTel's serializer and ours may differ only in number encoding. */
const flat = (attributes: Attribute[]) =>
  Object.fromEntries(attributes.map(({ key, value }) => [key, String(Object.values(value)[0])]));

test('our OTLP/JSON matches what the OpenTelemetry SDK serialises for the same record', () => {
  const error = new Error('disk is full');
  const report = buildReport({
    service: 'log-agent',
    kind: 'uncaughtException',
    error,
    lastRecords: [{ msg: 'flush' }],
    metadata: { 'k8s.pod.name': 'agent-0' },
    maxReportBytes: 65_536,
  });
  const ours = otlpLogsPayload(report) as Payload;
  const ourRecord = ours.resourceLogs[0]!.scopeLogs[0]!.logRecords[0]!;

  const exporter = new InMemoryLogRecordExporter();
  const provider = new LoggerProvider({
    resource: resourceFromAttributes(flat(ours.resourceLogs[0]!.resource.attributes)),
    processors: [new SimpleLogRecordProcessor({ exporter })],
  });
  provider.getLogger('@holdfast/crash-flush', VERSION).emit({
    timestamp: report.time,
    severityNumber: SeverityNumber.FATAL,
    severityText: 'FATAL',
    body: ourRecord.body.stringValue,
    attributes: flat(ourRecord.attributes),
  });
  const reference = JSON.parse(
    new TextDecoder().decode(JsonLogsSerializer.serializeRequest(exporter.getFinishedLogRecords())),
  ) as Payload;
  const refRecord = reference.resourceLogs[0]!.scopeLogs[0]!.logRecords[0]!;

  expect(flat(ours.resourceLogs[0]!.resource.attributes)).toEqual(
    Object.fromEntries(
      Object.entries(flat(reference.resourceLogs[0]!.resource.attributes)).filter(
        ([k]) => !k.startsWith('telemetry.sdk'),
      ),
    ),
  );
  expect(ours.resourceLogs[0]!.scopeLogs[0]!.scope).toEqual(
    reference.resourceLogs[0]!.scopeLogs[0]!.scope,
  );
  expect(ourRecord.severityNumber).toBe(refRecord.severityNumber);
  expect(ourRecord.severityText).toBe(refRecord.severityText);
  expect(ourRecord.body).toEqual(refRecord.body);
  expect(flat(ourRecord.attributes)).toEqual(flat(refRecord.attributes));
  expect(String(ourRecord.timeUnixNano)).toBe(String(refRecord.timeUnixNano));
  // The exception semantic conventions OpenTelemetry defines.
  expect(flat(ourRecord.attributes)).toMatchObject({
    'exception.type': 'Error',
    'exception.message': 'disk is full',
  });
});

/** Every semantic-convention attribute name OpenTelemetry defines (stable and incubating). */
const SEMCONV = new Set(
  Object.entries(semconv)
    .filter(([name, v]) => name.startsWith('ATTR_') && typeof v === 'string')
    .map(([, v]) => v as string),
);
type Sent = { attributes: Attribute[]; resource: Attribute[] };
const sentBy = (body: unknown): Sent => {
  const logs = (body as Payload).resourceLogs[0]!;
  return {
    attributes: logs.scopeLogs[0]!.logRecords[0]!.attributes,
    resource: logs.resource.attributes,
  };
};
/** Each attribute name is OpenTelemetry's, or one of our flat `holdfast.*` fields. */
const ownOrSemconv = (list: Attribute[]) =>
  list.map(({ key }) => key).filter((key) => !SEMCONV.has(key) && !key.startsWith('holdfast.'));

describe('the OTLP record a real crash sends: semantic conventions, and one flat holdfast.* attribute per field', () => {
  test('from the guard: exception.*, process.*, service.name and the metadata; our fields flat', async () => {
    const server = await startCaptureServer();
    onTestFinished(() => server.close());
    const ended = await runFixture('crash.ts', {
      CRASH_KIND: 'exit-deep',
      WITH_GUARD: '1',
      SINK_URL: `${server.url}/v1/logs`,
    });
    expect(ended.code).toBe(3);
    const sent = sentBy(server.requests[0]!.body);
    const record = flat(sent.attributes);
    const resource = flat(sent.resource);
    expect(ownOrSemconv(sent.attributes)).toEqual([]);
    expect(ownOrSemconv(sent.resource)).toEqual([]); // k8s.pod.name, k8s.node.name are OTel's
    expect(resource).toMatchObject({
      'service.name': 'fixture-agent',
      'process.runtime.name': 'nodejs',
      'process.runtime.version': process.versions.node,
      'k8s.pod.name': 'agent-0',
      'k8s.node.name': 'node-a',
    });
    expect(Number(resource['process.pid'])).toBeGreaterThan(0);
    expect(record).toMatchObject({
      'process.exit.code': '3',
      'holdfast.kind': 'exit',
      'holdfast.truncated': 'false',
    });
    expect(record['log.record.uid']).toMatch(/^[\da-f-]{36}$/);
    expect(JSON.parse(record['holdfast.last_records']!)).toHaveLength(2);
    expect(Object.keys(record)).not.toContain('exception.stacktrace'); // an exit has no stack
  }, 30_000);

  test("from the supervisor: the diagnosis as flat attributes, the child's stack (not its stderr) as exception.stacktrace, stderr once", async () => {
    const server = await startCaptureServer();
    onTestFinished(() => server.close());
    const child = fileURLToPath(new URL('./fixtures/dying-child.mjs', import.meta.url));
    const cli = fileURLToPath(new URL('../src/cli/supervise.ts', import.meta.url));
    const code = await new Promise<number | null>((resolve) =>
      spawn(
        process.execPath,
        [
          ...['--import', 'tsx', cli, '--service', 'agent', '--otlp', `${server.url}/v1/logs`],
          ...['--flush-timeout', '30s'], // a loaded machine must not make the report miss its budget
          ...['--', process.execPath, child, 'throw'],
        ],
        { stdio: 'ignore' },
      ).on('close', resolve),
    );
    expect(code).toBe(1);
    const sent = sentBy(server.requests[0]!.body);
    const record = flat(sent.attributes);
    expect(ownOrSemconv(sent.attributes)).toEqual([]);
    expect(ownOrSemconv(sent.resource)).toEqual([]);
    expect(record).toMatchObject({
      'exception.type': 'uncaught-exception',
      'process.exit.code': '1',
      'holdfast.kind': 'exit',
      'holdfast.signature': 'uncaught-exception',
      'holdfast.oom_killed': 'false',
      'holdfast.peak_memory_source': 'proc-vmhwm',
      'holdfast.restarts': '0',
      'holdfast.supervisor': 'true',
    });
    expect(Number(record['holdfast.peak_memory_bytes'])).toBeGreaterThan(0);
    expect(record['exception.stacktrace']).toMatch(/^Error: boom in the child\n\s+at /);
    expect(record['exception.stacktrace']).not.toMatch(/starting/); // the stderr line before it
    // The stderr tail is carried once: as the last records, not again in another attribute.
    const withStderr = Object.entries(record).filter(([, v]) => v.includes('starting (throw)'));
    expect(withStderr.map(([k]) => k)).toEqual(['holdfast.last_records']);
    expect(flat(sent.resource)['process.runtime.version']).toBe(process.versions.node);
  }, 30_000);
});
