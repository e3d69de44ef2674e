/**
 * The two Docker Engine API calls a log agent makes for discovery, over the daemon's unix socket.
 * Both take the signal that `@holdfast/batch` hands to each attempt, so a timeout or the batch
 * deadline stops the request itself, not just the wait for it.
 */
import { request } from 'node:http';

export interface ContainerSummary {
  readonly Id: string;
  readonly Names: readonly string[];
  readonly State: string;
}

export interface ContainerDetails {
  readonly Id: string;
  readonly Name: string;
  readonly LogPath: string;
  readonly State: { readonly Running: boolean };
}

/** An error answer of the daemon (the request itself went through). */
export class DockerApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(`docker API answered ${status}: ${message}`);
    this.name = 'DockerApiError';
  }
}

function getJson<T>(socketPath: string, path: string, signal?: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const req = request({ socketPath, path, method: 'GET', signal }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (part: Buffer) => parts.push(part));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(parts).toString('utf8');
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) resolve(JSON.parse(text) as T);
        else reject(new DockerApiError(status, text));
      });
    });
    req.on('error', reject);
    req.end();
  });
}

export function listContainers(socketPath: string, signal?: AbortSignal) {
  return getJson<ContainerSummary[]>(socketPath, '/containers/json?all=1', signal);
}

export function inspectContainer(socketPath: string, id: string, signal?: AbortSignal) {
  return getJson<ContainerDetails>(socketPath, `/containers/${id}/json`, signal);
}

/** Whether a Docker daemon answers on this socket (`GET /_ping` → 200). */
export function dockerAnswers(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ socketPath, path: '/_ping', signal: AbortSignal.timeout(500) }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.end();
  });
}
