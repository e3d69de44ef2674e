/**
 * The diagnostics channel on which `run()` publishes every ended run: how `@holdfast/reaper/otel`
 * counts runs by result without an option on each call. Channels are looked up by name (every
 * copy of the package publishes on the same one); with no subscriber a message is never built.
 * A message carries no command, argument or output: only the result's kind and the duration.
 *
 * @module
 */
import { channel } from 'node:diagnostics_channel';

export const RUN_END_CHANNEL = 'holdfast:reaper:run-end';
const runEnd = channel(RUN_END_CHANNEL);

/**
 * How a run ended, most telling first: killed with SIGKILL after `killGrace` (`escalated`),
 * past its `timeout`, cancelled by its signal, ended by a signal, or exited.
 */
export type RunResultKind = 'escalated' | 'timed_out' | 'cancelled' | 'signal' | 'exit';

/** Published when a run has ended. */
export interface RunEndMessage {
  readonly result: RunResultKind;
  readonly durationMs: number;
}

export function publishRunEnd(r: {
  readonly escalated: boolean;
  readonly timedOut: boolean;
  readonly cancelled: boolean;
  readonly signal: string | null;
  readonly durationMs: number;
}): void {
  if (!runEnd.hasSubscribers) return;
  const result: RunResultKind = r.escalated
    ? 'escalated'
    : r.timedOut
      ? 'timed_out'
      : r.cancelled
        ? 'cancelled'
        : r.signal !== null
          ? 'signal'
          : 'exit';
  runEnd.publish({ result, durationMs: r.durationMs } satisfies RunEndMessage);
}
