/**
 * The diagnostics channel on which a guard publishes every send it makes while the process runs:
 * how `@holdfast/crash-flush/otel` times deliveries without an option or a listener. Channels are
 * looked up by name (every copy of the package publishes on the same one); with no subscriber a
 * message is never built.
 *
 * @module
 */
import { channel } from 'node:diagnostics_channel';
import { performance } from 'node:perf_hooks';
import type { CrashKind } from '../report.js';

/**
 * The diagnostics channel a guard publishes each send made while the process runs on (a
 * `SendMessage`).
 */
export const SEND_CHANNEL = 'holdfast:crash-flush:send';
const sendChannel = channel(SEND_CHANNEL);

/** One send to the sink while the process runs: a capture, a worker's report, a resend. */
export interface SendMessage {
  readonly kind: CrashKind | 'resend';
  readonly outcome: 'sent' | 'failed';
  /** From the call of `sink.send` to its settling (or `sendTimeout`), in ms. */
  readonly durationMs: number;
}

export function publishSend(
  kind: SendMessage['kind'],
  outcome: SendMessage['outcome'],
  since: number,
) {
  if (sendChannel.hasSubscribers)
    sendChannel.publish({
      kind,
      outcome,
      durationMs: performance.now() - since,
    } satisfies SendMessage);
}
