// The use snippet of packages/reaper/README.md, verbatim (snippets.test.ts checks it and runs it).
// Run: node --import tsx examples/snippets/reaper.ts

import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { httpProbe, installReaper, run, waitUntilHealthy } from '@holdfast/reaper';

await using reaper = installReaper(); // PID 1 or subreaper: adopted zombies are reaped

// A check that hangs and has a grandchild: at the deadline the whole group is killed.
const r = await run('sh', ['-c', 'sleep 30 & sleep 30'], { timeout: 200 });
console.log(`check: timedOut ${r.timedOut}, signal ${r.signal}`);

// A dependency on loopback; the wait returns a verdict, it never kills anything.
const backend = createServer((_, response) => response.end('ok')).listen(0, '127.0.0.1');
await once(backend, 'listening');
const { port } = backend.address() as AddressInfo;
const ready = await waitUntilHealthy(httpProbe(`http://127.0.0.1:${port}/health`), {
  timeoutMs: 5_000,
});
console.log(`backend: healthy ${ready.healthy} after ${ready.attempts} attempt(s)`);
console.log(`reaper: ${reaper.stats().zombiesNow} zombies now`);
backend.close();
