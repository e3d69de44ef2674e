/**
 * The OTLP payload is checked against OpenTelemetry's own JS packages: the same log record is
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
import { expect, test } from 'vitest';
import { buildReport, otlpLogsPayload, VERSION } from '../src/index.js';

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
