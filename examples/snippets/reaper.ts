// The use snippet of packages/reaper/README.md, made runnable and self-contained: it uses
// everything the README's block imports (snippets.test.ts checks that, and runs this file).
// Run from the repository root: node --import tsx examples/snippets/reaper.ts

import { EventEmitter, once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { httpProbe, installReaper, run, startHealthCheck } from '@holdfast/reaper';

await using reaper = installReaper(); // PID 1 or subreaper: adopted zombies are reaped

// A check that hangs and has a grandchild: at the deadline the whole group is killed.
const r = await run('sh', ['-c', 'sleep 30 & sleep 30'], { timeout: 200 });
console.log(`check: timedOut ${r.timedOut}, signal ${r.signal}`);

// A dependency on loopback, watched without a shell; a state change is reported, never acted on.
const backend = createServer((_, response) => response.end('ok')).listen(0, '127.0.0.1');
await once(backend, 'listening');
const { port } = backend.address() as AddressInfo;
const states = new EventEmitter();
const check = startHealthCheck({
  probe: httpProbe(`http://127.0.0.1:${port}/health`),
  interval: 100,
  onChange: (state) => {
    console.log(`backend: ${state}`);
    states.emit(state);
  },
});
await once(states, 'healthy');
await check.stop();
console.log(`reaper: ${reaper.stats().zombiesNow} zombies now`);
backend.close();
