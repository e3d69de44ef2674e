import { VirtualClock as SharedVirtualClock } from '@holdfast/internal';

/**
 * A `Clock` on virtual time, for tests: timers fire only when the test advances time, in deadline
 * order (then in the order they were set), so a batch with a 30-second deadline runs in
 * microseconds and never depends on how busy the machine is.
 *
 * **When to use:** pass it as `options.clock`, and make your simulated dependency use
 * `clock.sleep()` for its latency.
 *
 * @example
 * ```ts run
 * const clock = new VirtualClock();
 * const slow = (ms: number) => new Promise((resolve) => clock.setTimeout(() => resolve(ms), ms));
 * const result = await clock.runUntilSettled(fetchAll([10, 5_000], slow, { clock, timeout: 1_000 }));
 * result.values; // => [10]
 * ```
 */
export class VirtualClock extends SharedVirtualClock {}
