/**
 * The preload of `runCrashScenarios` (`node --import <dist/testing/crash-trigger.js> agent.js`):
 * once the agent is ready, it kills the agent the way `HOLDFAST_CRASH_KIND` names. Node built-ins
 * only, and no exports: it is loaded by path, never imported.
 *
 * Ready means, with `HOLDFAST_CRASH_READY`:
 * - `guard` (the default): a crash guard was installed in this thread (any copy of the package
 *   publishes on the `holdfast:crash-flush:guard-installed` diagnostics channel);
 * - `line`: the agent wrote a line `holdfast:ready` through `process.stdout`.
 *
 * The crash then happens on the next turn of the event loop (`setImmediate`), so the synchronous
 * rest of the agent's start-up runs first. Just before it, the kind is written synchronously to
 * `HOLDFAST_CRASH_TRIGGERED_FILE`, so the runner can tell "crashed as asked" from "never ready".
 *
 * @module
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { writeFileSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';

const kind = process.env.HOLDFAST_CRASH_KIND;
const ready = process.env.HOLDFAST_CRASH_READY ?? 'guard';
const triggeredFile = process.env.HOLDFAST_CRASH_TRIGGERED_FILE;
const CHANNEL = 'holdfast:crash-flush:guard-installed';
const READY_LINE = /(?:^|\n)holdfast:ready\r?(?:\n|$)/;

/** `process.exit(3)` twenty frames deep, as an agent's own code would call it. */
function exitDeep(depth: number): void {
  if (depth === 0) process.exit(3);
  exitDeep(depth - 1);
}

function crash(how: string): void {
  const error = new Error(`holdfast crash scenario: ${how}`);
  // A signal is delivered asynchronously: keep the agent alive until it arrives.
  const killWith = (signal: NodeJS.Signals) => {
    setInterval(() => {}, 1_000);
    process.kill(process.pid, signal);
  };
  switch (how) {
    case 'uncaught-sync':
      throw error;
    case 'uncaught-timer':
      setTimeout(() => {
        throw error;
      }, 0);
      return;
    case 'unhandled-rejection':
      // eslint-disable-next-line @typescript-eslint/no-floating-promises -- the unhandled rejection is the crash
      Promise.reject(error);
      return;
    case 'exit-3':
      exitDeep(20);
      return;
    case 'SIGTERM':
    case 'SIGINT':
    case 'SIGHUP':
    case 'SIGKILL':
      killWith(how);
      return;
    case 'abort':
      process.abort();
      return;
    case 'heap-out-of-memory': {
      // Run with a small --max-old-space-size: V8 dies with "FATAL ERROR: ... heap out of memory".
      const hog: number[][] = [];
      for (;;) hog.push(new Array<number>(100_000).fill(hog.length));
    }
    default:
      throw new TypeError(`holdfast crash trigger: unknown HOLDFAST_CRASH_KIND \`${how}\``);
  }
}

if (kind !== undefined && kind !== '' && isMainThread) {
  const how = kind;
  let armed = true;
  const originalWrite = process.stdout.write;
  const onGuard = () => fire();
  const fire = () => {
    if (!armed) return;
    armed = false;
    unsubscribe(CHANNEL, onGuard);
    if (process.stdout.write !== originalWrite) process.stdout.write = originalWrite;
    setImmediate(() => {
      if (triggeredFile !== undefined) writeFileSync(triggeredFile, how);
      crash(how);
    });
  };
  if (ready === 'line') {
    process.stdout.write = function (this: unknown, chunk: unknown, ...rest: unknown[]) {
      const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString();
      const written = Reflect.apply(originalWrite, process.stdout, [chunk, ...rest]) as boolean;
      if (READY_LINE.test(text)) fire();
      return written;
    } as typeof process.stdout.write;
  } else {
    subscribe(CHANNEL, onGuard);
  }
}
