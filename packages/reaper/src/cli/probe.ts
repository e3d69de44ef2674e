#!/usr/bin/env node
/**
 * holdfast-probe: an HTTP health check for Docker HEALTHCHECK and Kubernetes exec probes, in one
 * Node process — no shell, no wget, no curl — with a hard deadline. Exit 0 healthy, 1 not (a usage
 * error too: Docker reserves 2).
 *
 *   holdfast-probe http://127.0.0.1:9411/health [--timeout 1s] [--status 200-299]
 */
import { setLongTimeout } from '@holdfast/internal';
import { httpProbe } from '../probe.js';
import { parseDuration, unknownFlag } from './duration.js';

const usage = 'usage: holdfast-probe <http(s)-url> [--timeout 1s] [--status 200-399]';

/** `200` or `200-299`: HTTP statuses (100–599), the low end first. */
function parseStatus(text: string | undefined): [number, number] {
  const match = /^(\d{3})(?:-(\d{3}))?$/.exec(text ?? '');
  const low = Number(match?.[1]);
  const high = match?.[2] === undefined ? low : Number(match[2]);
  if (match === null || low < 100 || high > 599 || low > high)
    throw new TypeError(
      `--status takes a status or a range of statuses from 100 to 599, low end first, such as 200 or 200-299; got \`${text ?? ''}\``,
    );
  return [low, high];
}

function main(argv: string[]): void {
  let url: string | undefined;
  let timeoutMs = 1_000;
  let status: [number, number] = [200, 399];
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i]!;
    if (arg === '--timeout') timeoutMs = parseDuration('--timeout', argv[++i]);
    else if (arg === '--status') status = parseStatus(argv[++i]);
    else if (arg === '--help' || arg === '-h') {
      process.stdout.write(`${usage}\n`);
      return;
    } else if (arg.startsWith('-')) throw unknownFlag(arg, ['--timeout', '--status', '--help']);
    else if (url === undefined) url = arg;
    else throw new TypeError(`unexpected argument \`${arg}\``);
  }
  if (url === undefined) throw new TypeError('missing the URL to probe');

  // The hard deadline: whatever happens (a DNS stall, a stuck socket), the process is gone soon
  // after the timeout, with exit code 1.
  const hard = setLongTimeout(() => {
    process.stderr.write(`holdfast-probe: ${url}: no answer within ${timeoutMs} ms\n`);
    process.exit(1);
  }, timeoutMs + 100).unref();

  const [low, high] = status;
  const controller = new AbortController();
  setLongTimeout(() => controller.abort(), timeoutMs).unref();
  httpProbe(url, { expectStatus: (s) => s >= low && s <= high })(controller.signal)
    .then((result) => {
      if (!result.ok) process.stderr.write(`holdfast-probe: ${url}: ${result.detail}\n`);
      process.exitCode = result.ok ? 0 : 1;
      hard.clear();
    })
    .catch((error: unknown) => {
      process.stderr.write(`holdfast-probe: ${url}: ${String(error)}\n`);
      process.exitCode = 1;
    });
}

try {
  main(process.argv.slice(2));
} catch (error) {
  // A usage error exits 1, not 2 as the other CLIs' (docs/conventions.md): Docker reserves a
  // HEALTHCHECK's exit code 2, and a probe that cannot run is not healthy.
  process.stderr.write(`holdfast-probe: ${(error as Error).message}\n${usage}\n`);
  process.exitCode = 1;
}
