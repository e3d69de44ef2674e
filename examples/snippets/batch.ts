// The use snippet of packages/batch/README.md, made runnable and self-contained: it uses
// everything the README's block imports (snippets.test.ts checks that, and runs this file).
// Run from the repository root: node --import tsx examples/snippets/batch.ts

import { fetchAll } from '@holdfast/batch';

// Three containers; the inspect of the exited one fails, as in iLogtail's incident.
const containers = [
  { Id: 'web', State: 'running' },
  { Id: 'old-job', State: 'exited' },
  { Id: 'db', State: 'running' },
];
const docker = {
  inspect: async (id: string, { signal }: { signal: AbortSignal }) => {
    signal.throwIfAborted();
    if (id === 'old-job') throw new Error(`No such container: ${id}`);
    return { Id: id, LogPath: `/var/lib/docker/containers/${id}/${id}-json.log` };
  },
};

const result = await fetchAll(containers, (c, { signal }) => docker.inspect(c.Id, { signal }), {
  timeout: 2_000,
  deadline: 10_000,
  importance: (c) => (c.State === 'running' ? 'required' : 'optional'),
});
console.log(result.summary());
// The running containers' details, whatever the exited one did:
if (!result.fatal) for (const details of result.values) console.log(`tail ${details.LogPath}`);
