/** What a user's probe resolved with, made into a {@link ProbeResult}. */
import type { ProbeResult } from '../probe.js';
import { show } from './validate.js';

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
