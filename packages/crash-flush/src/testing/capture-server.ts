import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the capture server received. */
export interface CapturedRequest {
  readonly path: string;
  /** `Date.now()` when the whole request had arrived. */
  readonly receivedAt: number;
  readonly headers: IncomingMessage['headers'];
  /** The body, parsed as JSON (or the raw text when it is not JSON). */
  readonly body: unknown;
}

/** A local sink endpoint for tests; see {@link startCaptureServer}. */
export interface CaptureServer extends AsyncDisposable {
  /** `http://127.0.0.1:<port>`; append any path (`/v1/logs`, `/crashes`). */
  readonly url: string;
  readonly requests: readonly CapturedRequest[];
  /** Resolves when `count` requests have arrived (checked as they arrive). */
  waitFor(count: number): Promise<readonly CapturedRequest[]>;
  /**
   * `'ok'` answers 200; `'down'` answers 503; `'hang'` never answers; `'redirect'` answers 302
   * (to `/moved`) and records nothing: a redirect is not a delivery.
   */
  mode: 'ok' | 'down' | 'hang' | 'redirect';
  close(): Promise<void>;
}

/**
 * A loopback HTTP server that records what reaches it: the sink end of a crash test.
 *
 * **When to use:** in an agent's own tests, as the URL of `otlpLogsSink` / `httpSink`, to check
 * that a crash is reported.
 *
 * @example
 * ```ts
 * await using server = await startCaptureServer();
 * // run the agent with OTLP_URL = `${server.url}/v1/logs`, make it crash, then:
 * const [request] = await server.waitFor(1);
 * ```
 */
export async function startCaptureServer(): Promise<CaptureServer> {
  const requests: CapturedRequest[] = [];
  const waiters: { count: number; resolve: (r: readonly CapturedRequest[]) => void }[] = [];
  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (part: Buffer) => parts.push(part));
    req.on('end', () => {
      if (capture.mode === 'hang') return;
      const receivedAt = Date.now();
      const text = Buffer.concat(parts).toString('utf8');
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // kept as text
      }
      if (capture.mode === 'ok')
        requests.push({ path: req.url ?? '/', receivedAt, headers: req.headers, body });
      if (capture.mode === 'redirect') res.writeHead(302, { location: '/moved' });
      else res.writeHead(capture.mode === 'ok' ? 200 : 503, { 'content-type': 'application/json' });
      res.end('{}');
      for (const waiter of [...waiters]) {
        if (requests.length >= waiter.count) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(requests);
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const close = async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  const capture: CaptureServer = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    mode: 'ok',
    waitFor: (count) =>
      requests.length >= count
        ? Promise.resolve(requests)
        : new Promise((resolve) => waiters.push({ count, resolve })),
    close,
    [Symbol.asyncDispose]: close,
  };
  return capture;
}
