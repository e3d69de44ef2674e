/**
 * Crash-time sending that is synchronous and bounded: a worker thread owns the network; the main
 * thread posts the request and blocks on `Atomics.wait` until the worker says it was delivered,
 * or until the budget is spent. The worker is started at install (a crash is no time to boot a
 * thread) and unref'd, so it never keeps the process alive.
 */
import { Worker } from 'node:worker_threads';

/** The worker's code, evaluated as CommonJS so it needs no file next to the build. */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const http = require('node:http');
const https = require('node:https');
parentPort.on('message', ({ url, headers, body, state, timeoutMs }) => {
  const flag = new Int32Array(state);
  let done = false;
  const finish = (ok) => {
    if (done) return;
    done = true;
    Atomics.store(flag, 0, ok ? 1 : 2);
    Atomics.notify(flag, 0);
  };
  try {
    const target = new URL(url);
    const request = target.protocol === 'https:' ? https.request : http.request;
    const req = request(target, {
      method: 'POST',
      agent: false,
      // An Infinity budget waits for the sink: no socket timeout at all (Infinity is no valid one).
      ...(Number.isFinite(timeoutMs) ? { timeout: Math.max(1, Math.ceil(timeoutMs)) } : {}),
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers },
    }, (res) => {
      res.resume();
      res.on('end', () => finish(res.statusCode >= 200 && res.statusCode < 300));
      res.on('error', () => finish(false));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => finish(false));
    req.end(body);
  } catch {
    finish(false);
  }
});
`;

export class SyncSender {
  readonly #worker: Worker;

  constructor() {
    this.#worker = new Worker(WORKER_SOURCE, { eval: true });
    this.#worker.unref();
    // A worker that fails to start must not become an uncaught error of the agent.
    this.#worker.on('error', () => undefined);
  }

  /** POSTs `body`; blocks the calling thread at most `budgetMs`. True when a 2xx was received. */
  post(
    url: string,
    headers: Readonly<Record<string, string>>,
    body: string,
    budgetMs: number,
  ): boolean {
    if (!(budgetMs > 0)) return false;
    const state = new SharedArrayBuffer(4);
    const flag = new Int32Array(state);
    this.#worker.postMessage({ url, headers, body, state, timeoutMs: budgetMs });
    // A 2xx only (a 3xx is not a delivery). Atomics.wait takes Infinity: it waits for the worker.
    Atomics.wait(flag, 0, 0, budgetMs);
    return Atomics.load(flag, 0) === 1;
  }

  async close(): Promise<void> {
    await this.#worker.terminate();
  }
}
