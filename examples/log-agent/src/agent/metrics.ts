/**
 * The agent's own telemetry: the OpenTelemetry metrics SDK with the Prometheus exporter, fed by
 * the `otel` entry of each holdfast package, served on a loopback port the kernel picks. The
 * demo scrapes it (see ../scrape.ts) and checks it against what the agent and the backends say.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { instrumentBatch } from '@holdfast/batch/otel';
import type { ChunkPool } from '@holdfast/chunk-pool';
import { instrumentChunkPool } from '@holdfast/chunk-pool/otel';
import type { CrashGuard } from '@holdfast/crash-flush';
import { instrumentCrashGuard } from '@holdfast/crash-flush/otel';
import { instrumentReaper } from '@holdfast/reaper/otel';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import type { AgentHealth } from './health.js';

/** Starts the SDK and the endpoint; resolves with the scrape URL. */
export async function startAgentMetrics(parts: {
  readonly pool: ChunkPool;
  readonly guard: CrashGuard;
  readonly health: AgentHealth;
}): Promise<string> {
  // The exporter's own server listens on a fixed port; this one listens on port 0 instead.
  const exporter = new PrometheusExporter({ preventServerStart: true });
  const meterProvider = new MeterProvider({ readers: [exporter] });
  instrumentBatch({ meterProvider });
  instrumentChunkPool({ pool: parts.pool, meterProvider });
  instrumentCrashGuard({ guard: parts.guard, meterProvider });
  instrumentReaper({
    reaper: parts.health.reaper,
    healthChecks: { backend: parts.health.backend, sidecar: parts.health.sidecar },
    meterProvider,
  });
  const server = createServer((request, response) =>
    exporter.getMetricsRequestHandler(request, response),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  server.unref(); // the endpoint never keeps the agent alive
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
}
