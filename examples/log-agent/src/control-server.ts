/**
 * The demo's control channel, on loopback: the agent posts its counters here and asks what the
 * scenario wants it to do next. It never goes down — it stands for the demo's own wiring, not
 * for the network the agent ships logs over.
 *
 *   POST /agent/stats     the agent's latest counters ({@link AgentStats})
 *   GET  /agent/command   the next command, given once (`{ "command": "throw" | "exhaust-heap" | null }`)
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AgentStats } from './agent/agent-stats.js';

/** What the scenario can ask of the agent: both are bugs it is made to have on cue. */
export type AgentCommand = 'throw' | 'exhaust-heap';

export interface ControlServer {
  readonly url: string;
  /** The latest counters of each agent process that reported, by pid, oldest first. */
  agents(): readonly AgentStats[];
  latest(): AgentStats | undefined;
  /** Stats reports received so far (to wait for one made after a given moment). */
  received(): number;
  /** Queues a command; the next agent that asks gets it, and nobody after. */
  send(command: AgentCommand): void;
  close(): Promise<void>;
}

export async function startControlServer(): Promise<ControlServer> {
  const byPid = new Map<number, AgentStats>();
  let latest: AgentStats | undefined;
  let received = 0;
  let pending: AgentCommand | undefined;

  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (part: Buffer) => parts.push(part));
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/agent/stats') {
        latest = JSON.parse(Buffer.concat(parts).toString('utf8')) as AgentStats;
        received += 1;
        byPid.set(latest.pid, latest);
        res.writeHead(204).end();
      } else if (req.method === 'GET' && req.url === '/agent/command') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ command: pending ?? null }));
        pending = undefined;
      } else {
        res.writeHead(404).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));

  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    agents: () => [...byPid.values()],
    latest: () => latest,
    received: () => received,
    send: (command) => {
      pending = command;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
