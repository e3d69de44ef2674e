/** What a user's probe resolved with, made into a {@link ProbeResult}. */
import type { ProbeResult } from '../probe.js';
import { show } from './validate.js';

/**
 * How long a probe has to settle after its signal aborted (at its deadline, on stop or abort)
 * before it is abandoned as a failed run. A probe that stops when asked is waited for, so runs
 * never overlap (commandProbe needs its killGrace, 1 s, plus the drain); one that ignores its
 * signal costs only this.
 */
export const ABANDON_AFTER_ABORT_MS = 2_000;

/**
 * A user's probe may resolve with anything: anything but `{ ok: boolean, … }` is a failed run
 * whose detail says what it got. Never throws, whatever the value's getters do.
 */
export function asProbeResult(value: unknown, started: number): ProbeResult {
  const durationMs = performance.now() - started;
  try {
    const result = value as Partial<Record<keyof ProbeResult, unknown>> | null | undefined;
    if (typeof result?.ok === 'boolean') {
      return {
        ok: result.ok,
        detail: typeof result.detail === 'string' ? result.detail : '',
        durationMs: typeof result.durationMs === 'number' ? result.durationMs : durationMs,
      };
    }
  } catch {
    // a result whose getters throw: not a result
  }
  return { ok: false, detail: `the probe resolved with ${show(value)}`, durationMs };
}
