/**
 * `pnpm bench` for @holdfast/crash-flush, in one run: the cost of `guard.log(record)` against pino
 * writing the same record to a null destination; the added start-up time of
 * `installCrashGuard`; crash-to-received latency at a local HTTP sink for an uncaught exception
 * (p50/p95 over 50 runs); supervisor pass-through of a child writing 200 MiB to stderr, against
 * the same child run bare. Writes docs/benchmarks/crash-flush.md and .json. Uses the build in dist/.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
// The built package (self-reference through its exports map), as users run it.
import { installCrashGuard, supervise, type Sink } from '@holdfast/crash-flush';
import { startCaptureServer } from '@holdfast/crash-flush/testing';
import { spoolStartBench } from './spool-start.js';

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

// Supervisor pass-through: a child writes 200 MiB to stderr (3,200 buffers of 64 KiB, in lines of
// 128 bytes, honouring backpressure). Every variant ends in the same drain, in this process,
// counting bytes; each is timed from spawn until the child's output has all arrived.
const FLOOD_BYTES = 3_200 * 65_536;
const flood = [
  'const line = Buffer.alloc(128, 120); line[127] = 10;',
  'const block = Buffer.concat(Array(512).fill(line)); let i = 0;',
  "const go = () => { while (i < 3200) { i += 1; if (!process.stderr.write(block)) return void process.stderr.once('drain', go); } };",
  'go();',
].join(' ');
const floodArgs = ['-e', flood];
const cli = fileURLToPath(new URL('../dist/cli/supervise.js', import.meta.url));
const drained = (stream: NodeJS.ReadableStream) =>
  new Promise<number>((resolve) => {
    let bytes = 0;
    stream.on('data', (chunk: Buffer) => (bytes += chunk.length));
    stream.on('end', () => resolve(bytes));
  });
const timed = async (run: () => Promise<number>) => {
  const start = process.hrtime.bigint();
  const bytes = await run();
  if (bytes !== FLOOD_BYTES) throw new Error(`pass-through lost bytes: ${bytes} of ${FLOOD_BYTES}`);
  return Number(process.hrtime.bigint() - start) / 1e6;
};
const closed = (child: ChildProcess) => new Promise((resolve) => child.on('close', resolve));
const passThrough = {
  // The child's stderr is a pipe this process drains.
  bare: () =>
    timed(async () => {
      const child = spawn(process.execPath, floodArgs, { stdio: ['ignore', 'ignore', 'pipe'] });
      const [bytes] = await Promise.all([drained(child.stderr!), closed(child)]);
      return bytes;
    }),
  // supervise() in this process: the child's stderr through its tee (and tail) into the same drain.
  supervise: () =>
    timed(async () => {
      let bytes = 0;
      const drain = new Writable({
        write: (chunk: Buffer, _enc, done) => {
          bytes += chunk.length;
          done();
        },
      });
      await supervise({
        command: process.execPath,
        args: floodArgs,
        service: 'bench',
        sink: nullSink,
        tee: { stderr: drain },
      });
      return bytes;
    }),
  // Any supervisor process costs a pipe hop: `cat` is its floor.
  cat: () =>
    timed(async () => {
      const child = spawn(process.execPath, floodArgs, { stdio: ['ignore', 'ignore', 'pipe'] });
      const hop = spawn('cat', [], { stdio: [child.stderr!, 'pipe', 'ignore'] });
      child.stderr!.destroy(); // the pipe is cat's now; this process keeps no end of it
      const [bytes] = await Promise.all([drained(hop.stdout!), closed(child), closed(hop)]);
      return bytes;
    }),
  // The deployed shape: `holdfast-supervise -- node child`, its stderr drained here.
  cli: () =>
    timed(async () => {
      const child = spawn(
        process.execPath,
        [
          cli,
          '--service',
          'bench',
          '--http',
          'http://127.0.0.1:9/',
          '--',
          process.execPath,
          ...floodArgs,
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      const [bytes] = await Promise.all([drained(child.stderr!), closed(child)]);
      return bytes;
    }),
};
const ROUNDS = 5;
const runs: Record<keyof typeof passThrough, number[]> = {
  bare: [],
  supervise: [],
  cat: [],
  cli: [],
};
for (let round = 0; round < ROUNDS; round += 1) {
  // Interleaved, so that a noisy moment of the machine falls on every variant alike.
  for (const name of Object.keys(passThrough) as (keyof typeof passThrough)[])
    runs[name].push(await passThrough[name]());
}
const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const pass = {
  bare: median(runs.bare),
  supervise: median(runs.supervise),
  cat: median(runs.cat),
  cli: median(runs.cli),
};
const passRatio = pass.supervise / pass.bare;

// Start-up over a spool of 10,000 reports of 64 KB (bench/spool-start.ts).
const spoolStart = await spoolStartBench();
const mib = (bytes: number) => (bytes / 1_048_576).toFixed(1);
const overEmpty = (run: { peakRss: number }) => run.peakRss - spoolStart.empty.peakRss;
const spoolGoal = (run: { installMs: number; peakRss: number }) =>
  run.installMs < 50 && overEmpty(run) <= 64 * 1_048_576 ? 'met' : 'missed';

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
  `| supervisor pass-through, 200 MiB to stderr: \`supervise()\` (median of ${ROUNDS}) | ${pass.supervise.toFixed(0)} ms | the child bare: ${pass.bare.toFixed(0)} ms | ${passRatio.toFixed(2)} | within 1.2×: **${passRatio <= 1.2 ? 'met' : 'missed'}** |`,
  `| the same through a separate process: \`holdfast-supervise\` CLI (median of ${ROUNDS}) | ${pass.cli.toFixed(0)} ms | through \`cat\`: ${pass.cat.toFixed(0)} ms | ${(pass.cli / pass.cat).toFixed(2)} (${(pass.cli / pass.bare).toFixed(2)} of bare) | — (context) |`,
  `| start-up over 10,000 spooled reports of 64 KB, default bounds (${spoolStart.bounded.stats.evicted} oldest evicted, ${spoolStart.bounded.stats.recovered} sent) | \`installCrashGuard\` returns in ${spoolStart.bounded.installMs.toFixed(2)} ms; peak RSS while sending ${mib(spoolStart.bounded.peakRss)} MiB | empty spool: ${spoolStart.empty.installMs.toFixed(2)} ms, ${mib(spoolStart.empty.peakRss)} MiB | +${mib(overEmpty(spoolStart.bounded))} MiB | under 50 ms, within 64 MiB: **${spoolGoal(spoolStart.bounded)}** |`,
  `| the same with bounds that keep all 10,000 (all sent, ${(spoolStart.all.drainedMs / 1_000).toFixed(1)} s) | ${spoolStart.all.installMs.toFixed(2)} ms; peak RSS ${mib(spoolStart.all.peakRss)} MiB | — | +${mib(overEmpty(spoolStart.all))} MiB | under 50 ms, within 64 MiB: **${spoolGoal(spoolStart.all)}** |`,
  '',
  'Spool start-up: each start is a child process with an OTLP sink at a local capture server; RSS',
  'is sampled every 5 ms from before the install until the spool has been sent (after a forced',
  'GC), and the peak is compared with the peak of a start over an empty spool.',
  '',
  "Latency is measured from the report's own timestamp (taken when the crash is observed) to the",
  'moment the capture server has the request, in milliseconds of the wall clock.',
  '',
  'Pass-through: the child writes 200 MiB to stderr in 64 KiB buffers of 128-byte lines; every',
  'variant ends in the same drain in the bench process, timed from spawn until all bytes have',
  'arrived (a run that loses a byte fails the benchmark). `supervise()` runs in the bench process',
  'and tees into that drain (the goal: the cost of the tee and the bounded stderr tail). The CLI',
  'row adds what any supervisor process costs, a second pipe hop and a second Node start-up; a',
  'hop through `cat` is the floor of that, for comparison.',
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
        {
          title: '@holdfast/crash-flush: 200 MiB of child stderr passed through, ms (median)',
          unit: 'ms',
          bars: [
            { label: 'bare', value: pass.bare },
            { label: 'supervise()', value: pass.supervise },
            { label: 'through cat', value: pass.cat },
            { label: 'holdfast-supervise CLI', value: pass.cli },
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
