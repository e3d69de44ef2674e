// The use snippet of packages/crash-flush/README.md, made runnable and self-contained: it uses
// everything the README's block imports (snippets.test.ts checks that, and runs this file).
// Run from the repository root: node --import tsx examples/snippets/crash-flush.ts

import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { installCrashGuard, kubernetesMetadata, otlpLogsSink } from '@holdfast/crash-flush';

// A stand-in OTLP collector on loopback that prints what it receives.
const collector = createServer((request, response) => {
  let bytes = 0;
  request.on('data', (chunk: Buffer) => (bytes += chunk.length));
  request.on('end', () => {
    console.log(`collector: ${request.method} ${request.url}, ${bytes} bytes`);
    response.end('{}');
  });
}).listen(0, '127.0.0.1');
await once(collector, 'listening');
const { port } = collector.address() as AddressInfo;
const spoolDir = mkdtempSync(join(tmpdir(), 'log-agent-spool-'));

const guard = installCrashGuard({
  service: 'log-agent',
  sink: otlpLogsSink({ url: `http://127.0.0.1:${port}/v1/logs` }),
  metadata: kubernetesMetadata,
  spoolDir,
});
guard.log({ msg: 'started' }); // the last records ride along in a crash report
guard.capture(new Error('disk full')); // a non-fatal error: reported now, the agent goes on
await guard.flush();
console.log(guard.stats());

await guard.uninstall();
collector.close();
rmSync(spoolDir, { recursive: true });
