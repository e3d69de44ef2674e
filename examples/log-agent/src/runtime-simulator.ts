/**
 * A container runtime that behaves like the one in the iLogtail incident: it serves the two Docker
 * Engine endpoints a log agent uses for discovery on a unix socket, with hundreds of containers of
 * which a third have exited — and the inspects of exited containers either hang or fail.
 *
 *   GET /containers/json?all=1      → the listing
 *   GET /containers/{id}/json       → one container's details
 *
 * The demo starts it when no real Docker daemon answers on /var/run/docker.sock.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export interface SimulatedContainer {
  readonly id: string;
  readonly name: string;
  readonly running: boolean;
  /** What an inspect of this container does: answer, never answer, or fail. */
  readonly inspect: 'ok' | 'hang' | 'error';
}

export interface RuntimeSimulator {
  readonly socketPath: string;
  readonly containers: readonly SimulatedContainer[];
  /** Inspect requests that were left hanging (the agent must time them out, not wait). */
  hangingInspects(): number;
  close(): Promise<void>;
}

export interface SimulatorOptions {
  readonly socketPath: string;
  /** How many containers the runtime knows; a third of them have exited. */
  readonly containers: number;
}

/**
 * Builds the container set: every third container has exited; exited containers alternate
 * between an inspect that hangs and one that fails, and the LAST container of the listing is an
 * exited one whose inspect fails — exactly the case that switched iLogtail's discovery off.
 */
export function simulatedContainers(count: number): SimulatedContainer[] {
  const containers: SimulatedContainer[] = [];
  for (let i = 0; i < count; i += 1) {
    const running = i % 3 !== 2 && i !== count - 1;
    const inspect = running ? 'ok' : i === count - 1 || i % 2 === 0 ? 'error' : 'hang';
    containers.push({
      id: randomBytes(32).toString('hex'),
      name: running ? `app-${i}` : `job-${i}`,
      running,
      inspect,
    });
  }
  return containers;
}

export async function startRuntimeSimulator(options: SimulatorOptions): Promise<RuntimeSimulator> {
  const containers = simulatedContainers(options.containers);
  const byId = new Map(containers.map((c) => [c.id, c]));
  const sockets = new Set<Socket>();
  let hanging = 0;

  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://docker');
    if (req.method === 'GET' && url.pathname === '/containers/json') {
      const all = url.searchParams.get('all') === '1' || url.searchParams.get('all') === 'true';
      const listed = containers.filter((c) => all || c.running);
      json(
        res,
        200,
        listed.map((c) => ({
          Id: c.id,
          Names: [`/${c.name}`],
          Image: 'registry.local/app:1',
          State: c.running ? 'running' : 'exited',
          Status: c.running ? 'Up 2 hours' : 'Exited (0) 3 days ago',
          Labels: { 'io.holdfast.demo': 'true' },
        })),
      );
      return;
    }
    const inspect = /^\/containers\/([0-9a-f]{64})\/json$/.exec(url.pathname);
    const container = inspect?.[1] === undefined ? undefined : byId.get(inspect[1]);
    if (req.method === 'GET' && container !== undefined) {
      if (container.inspect === 'hang') {
        // Never answered; the socket is destroyed when the simulator closes.
        hanging += 1;
        return;
      }
      if (container.inspect === 'error') {
        json(res, 500, { message: `container ${container.id.slice(0, 12)}: state is gone` });
        return;
      }
      json(res, 200, {
        Id: container.id,
        Name: `/${container.name}`,
        State: { Status: 'running', Running: true, Pid: 1000 + byId.size, ExitCode: 0 },
        Config: { Image: 'registry.local/app:1', Labels: { 'io.holdfast.demo': 'true' } },
        LogPath: `/var/lib/docker/containers/${container.id}/${container.id}-json.log`,
      });
      return;
    }
    json(res, 404, { message: `no such route: ${req.method} ${url.pathname}` });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.socketPath, () => {
      server.off('error', reject);
      resolve();
    });
  });

  return {
    socketPath: options.socketPath,
    containers,
    hangingInspects: () => hanging,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
