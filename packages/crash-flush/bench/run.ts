/**
 * `pnpm bench` for @holdfast/crash-flush, in one run: the cost of `guard.log(record)` against pino
 * writing the same record to a null destination; the added start-up time of
 * `installCrashGuard`; crash-to-received latency at a local HTTP sink for an uncaught exception
 * (p50/p95 over 50 runs). Writes docs/benchmarks/crash-flush.md and .json. Uses the build in dist/.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
// The built package (self-reference through its exports map), as users run it.
import { installCrashGuard, type Sink } from '@holdfast/crash-flush';
import { startCaptureServer } from '@holdfast/crash-flush/testing';

const out = fileURLToPath(new URL('../../../docs/benchmarks/', import.meta.url));
const N = 1_000_000;
const record = { level: 30, msg: 'shipped chunk', chunk: 1234, bytes: 65_536, output: 'archive' };

const nsPerCall = (fn: () => void) => {
  for (let i = 0; i < 10_000; i += 1) fn();
  const start = process.hrtime.bigint();
  for (let i = 0; i < N; i += 1) fn();
  return Number(process.hrtime.bigint() - start) / N;
};

const nullSink: Sink = { name: 'null', send: async () => undefined };
const installStart = process.hrtime.bigint();
const guard = installCrashGuard({ service: 'bench', sink: nullSink });
const installMs = Number(process.hrtime.bigint() - installStart) / 1e6;
const guardNs = nsPerCall(() => guard.log(record));
await guard.uninstall();

const devNull = new Writable({ write: (_chunk, _enc, done) => done() });
const logger = pino({ base: null, timestamp: false }, devNull);
const pinoNs = nsPerCall(() => logger.info(record));

// Crash-to-received: the fixture throws in a timer; the report carries the time of the crash.
const server = await startCaptureServer();
const fixture = fileURLToPath(new URL('../test/fixtures/crash.ts', import.meta.url));
const latencies: number[] = [];
for (let i = 0; i < 50; i += 1) {
  const before = server.requests.length;
  await new Promise((resolve) =>
    spawn(process.execPath, ['--import', 'tsx', fixture], {
      env: {
        ...process.env,
        CRASH_KIND: 'uncaught-timer',
        WITH_GUARD: '1',
        SINK_URL: `${server.url}/v1/logs`,
      },
      stdio: 'ignore',
    }).on('close', resolve),
  );
  const [request] = (await server.waitFor(before + 1)).slice(before);
  const received = request!.receivedAt;
  const nanos = (
    request!.body as { resourceLogs: { scopeLogs: { logRecords: { timeUnixNano: string }[] }[] }[] }
  ).resourceLogs[0]!.scopeLogs[0]!.logRecords[0]!.timeUnixNano;
  latencies.push(received - Number(BigInt(nanos) / 1_000_000n));
}
await server.close();
latencies.sort((a, b) => a - b);
const p50 = latencies[25]!;
const p95 = latencies[47]!;

const md = [
  '## @holdfast/crash-flush',
  '',
  'Command: `pnpm bench` (`packages/crash-flush/bench/run.ts`).',
  '',
  '| measure | holdfast | peer | ratio | goal |',
  '| --- | ---: | ---: | ---: | --- |',
  `| \`guard.log(record)\` per call | ${guardNs.toFixed(1)} ns | pino to a null destination: ${pinoNs.toFixed(1)} ns | ${(guardNs / pinoNs).toFixed(3)} | under 0.1: **${guardNs / pinoNs < 0.1 ? 'met' : 'missed'}** |`,
  `| \`installCrashGuard\` start-up | ${installMs.toFixed(2)} ms | — | — | under 20 ms: **${installMs < 20 ? 'met' : 'missed'}** |`,
  `| crash → received at a local HTTP sink (uncaught exception, 50 runs) | p50 ${p50.toFixed(1)} ms, p95 ${p95.toFixed(1)} ms | — | — | p50 under 50 ms: **${p50 < 50 ? 'met' : 'missed'}** |`,
  '',
  "Latency is measured from the report's own timestamp (taken when the crash is observed) to the",
  'moment the capture server has the request, in milliseconds of the wall clock. Supervisor',
  'pass-through of 200 MB of stderr is not measured yet.',
].join('\n');
mkdirSync(out, { recursive: true });
writeFileSync(`${out}crash-flush.md`, `${md}\n`);
writeFileSync(
  `${out}crash-flush.json`,
  `${JSON.stringify(
    {
      charts: [
        {
          title: '@holdfast/crash-flush: ns per log call',
          unit: 'ns',
          bars: [
            { label: 'guard.log', value: guardNs },
            { label: 'pino (null destination)', value: pinoNs },
          ],
        },
      ],
    },
    null,
    2,
  )}\n`,
);
process.stdout.write(`${md}\n`);
process.exit(0);
