/**
 * One agent start-up for bench/spool-start.ts: installs the guard over SPOOL_DIR with an OTLP sink
 * at SINK_URL, samples RSS every 5 ms from before the install until the spool has been sent, and
 * prints one JSON line. Run with --expose-gc (the baseline is taken after a forced GC).
 */
import { performance } from 'node:perf_hooks';
import { installCrashGuard, otlpLogsSink } from '../src/index.js';

(globalThis as { gc?: () => void }).gc?.();
const baseRss = process.memoryUsage().rss;
let peakRss = baseRss;
const samples: number[] = [];
const sampler = setInterval(() => {
  const rss = process.memoryUsage().rss;
  samples.push(rss);
  peakRss = Math.max(peakRss, rss);
}, 5);
const t0 = performance.now();
const guard = installCrashGuard({
  service: 'bench',
  sink: otlpLogsSink({ url: process.env.SINK_URL! }),
  spoolDir: process.env.SPOOL_DIR!,
  ...(process.env.MAX_SPOOLED === undefined
    ? {}
    : { maxSpooledReports: Number(process.env.MAX_SPOOLED) }),
  ...(process.env.MAX_SPOOL_BYTES === undefined
    ? {}
    : { maxSpoolBytes: Number(process.env.MAX_SPOOL_BYTES) }),
});
const installMs = performance.now() - t0;
await guard.flush();
const drainedMs = performance.now() - t0;
clearInterval(sampler);
process.stdout.write(
  `${JSON.stringify({ installMs, drainedMs, baseRss, peakRss, samples: samples.length, stats: guard.stats() })}\n`,
);
await guard.uninstall();
