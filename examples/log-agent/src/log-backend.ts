/**
 * A log backend of the demo, on loopback: what the agent ships its records to, what its probes
 * check and where crash reports land. It can be taken down (the listening socket closes and every
 * connection is cut, like a network outage) and brought back on the same port.
 *
 *   POST /logs/{output}   a JSON array of records `{ id, ... }`; 200 when stored
 *   POST /v1/logs         OTLP/HTTP JSON logs: crash reports from the guard and the supervisor
 *   GET  /health          200 while up
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface CrashReportReceived {
  /** The OTLP log record's attributes, flattened to a plain object. */
  readonly attributes: Record<string, unknown>;
  readonly body: string;
  readonly resource: Record<string, unknown>;
}

export interface LogBackend {
  readonly url: string;
  /** Distinct record ids received per output (at-least-once delivery may send a record twice). */
  delivered(output: string): number;
  /** Records received more than once per output: retries after an outage. */
  duplicates(output: string): number;
  /** Every record received per output, duplicates included. */
  received(output: string): number;
  crashReports(): readonly CrashReportReceived[];
  isUp(): boolean;
  /** A network outage: the port stops answering and open connections are cut. */
  takeDown(): Promise<void>;
  bringBack(): Promise<void>;
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const parts: Buffer[] = [];
  for await (const part of req) parts.push(part as Buffer);
  return Buffer.concat(parts).toString('utf8');
}

type OtlpValue = {
  stringValue?: string;
  intValue?: string | number;
  boolValue?: boolean;
  doubleValue?: number;
};
type OtlpAttribute = { key: string; value: OtlpValue };

function flatten(attributes: readonly OtlpAttribute[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const { key, value } of attributes ?? []) {
    out[key] = value.stringValue ?? value.intValue ?? value.boolValue ?? value.doubleValue;
  }
  return out;
}

export async function startLogBackend(): Promise<LogBackend> {
  const seen = new Map<string, Set<string>>();
  const dupes = new Map<string, number>();
  const reports: CrashReportReceived[] = [];
  let up = false;
  let port = 0;
  const sockets = new Set<Socket>();

  const handle = async (req: IncomingMessage): Promise<[number, unknown]> => {
    const path = new URL(req.url ?? '/', 'http://backend').pathname;
    if (req.method === 'GET' && path === '/health') return [200, { ok: true }];
    const body = await readBody(req);
    const output = /^\/logs\/([\w-]+)$/.exec(path)?.[1];
    if (req.method === 'POST' && output !== undefined) {
      const records = JSON.parse(body) as { id: string }[];
      const ids = seen.get(output) ?? new Set<string>();
      seen.set(output, ids);
      for (const { id } of records) {
        if (ids.has(id)) dupes.set(output, (dupes.get(output) ?? 0) + 1);
        ids.add(id);
      }
      return [200, { stored: records.length }];
    }
    if (req.method === 'POST' && path === '/v1/logs') {
      const payload = JSON.parse(body) as {
        resourceLogs?: {
          resource?: { attributes?: OtlpAttribute[] };
          scopeLogs?: { logRecords?: { body?: OtlpValue; attributes?: OtlpAttribute[] }[] }[];
        }[];
      };
      for (const resourceLog of payload.resourceLogs ?? []) {
        for (const scopeLog of resourceLog.scopeLogs ?? []) {
          for (const record of scopeLog.logRecords ?? []) {
            reports.push({
              attributes: flatten(record.attributes),
              body: record.body?.stringValue ?? '',
              resource: flatten(resourceLog.resource?.attributes),
            });
          }
        }
      }
      return [200, { partialSuccess: {} }];
    }
    return [404, { message: `no such route: ${req.method} ${path}` }];
  };

  const respond = (req: IncomingMessage, res: ServerResponse) => {
    handle(req).then(
      ([status, body]) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(body === undefined ? undefined : JSON.stringify(body));
      },
      (error: unknown) => {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ message: String(error) }));
      },
    );
  };

  let server: Server = createServer();
  const listen = async () => {
    server = createServer(respond);
    server.on('connection', (socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    port = (server.address() as AddressInfo).port;
    up = true;
  };
  const stop = async () => {
    up = false;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of sockets) socket.destroy();
    await closed;
  };

  await listen();

  return {
    url: `http://127.0.0.1:${port}`,
    delivered: (output) => seen.get(output)?.size ?? 0,
    duplicates: (output) => dupes.get(output) ?? 0,
    received: (output) => (seen.get(output)?.size ?? 0) + (dupes.get(output) ?? 0),
    crashReports: () => reports,
    isUp: () => up,
    takeDown: stop,
    bringBack: listen,
    close: async () => {
      if (up) await stop();
    },
  };
}
