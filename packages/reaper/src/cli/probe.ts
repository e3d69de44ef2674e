#!/usr/bin/env node
/**
 * holdfast-probe: an HTTP health check for Docker HEALTHCHECK and Kubernetes exec probes, in one
 * Node process — no shell, no wget, no curl — with a hard deadline. Exit 0 healthy, 1 not.
 *
 *   holdfast-probe http://127.0.0.1:9411/health [--timeout 1s] [--status 200-299]
 */
import { httpProbe } from '../probe.js';
import { parseDuration } from './duration.js';

const usage = 'usage: holdfast-probe <http(s)-url> [--timeout 1s] [--status 200-399]';

function main(argv: string[]): void {
  let url: string | undefined;
  let timeoutMs = 1_000;
  let status: [number, number] = [200, 399];
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i]!;
    if (arg === '--timeout') timeoutMs = parseDuration(argv[++i] ?? '');
    else if (arg === '--status') {
      const [low, high] = (argv[++i] ?? '').split('-').map(Number);
      if (low === undefined || Number.isNaN(low))
        throw new TypeError(`Expected --status like 200 or 200-299, got \`${argv[i]}\``);
      status = [low, high === undefined || Number.isNaN(high) ? low : high];
    } else if (arg === '--help' || arg === '-h') {
      process.stdout.write(`${usage}\n`);
      return;
    } else if (url === undefined) url = arg;
    else throw new TypeError(`unexpected argument \`${arg}\`\n${usage}`);
  }
  if (url === undefined) throw new TypeError(usage);

  // The hard deadline: whatever happens (a DNS stall, a stuck socket), the process is gone soon
  // after the timeout, with exit code 1.
  const hard = setTimeout(() => {
    process.stderr.write(`holdfast-probe: ${url}: no answer within ${timeoutMs} ms\n`);
    process.exit(1);
  }, timeoutMs + 100);
  hard.unref();

  const [low, high] = status;
  httpProbe(url, { expectStatus: (s) => s >= low && s <= high })(AbortSignal.timeout(timeoutMs))
    .then((result) => {
      if (!result.ok) process.stderr.write(`holdfast-probe: ${url}: ${result.detail}\n`);
      process.exitCode = result.ok ? 0 : 1;
      clearTimeout(hard);
    })
    .catch((error: unknown) => {
      process.stderr.write(`holdfast-probe: ${url}: ${String(error)}\n`);
      process.exitCode = 1;
    });
}

try {
  main(process.argv.slice(2));
} catch (error) {
  process.stderr.write(`holdfast-probe: ${(error as Error).message}\n`);
  process.exitCode = 1;
}
