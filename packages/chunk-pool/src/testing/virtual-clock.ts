import { VirtualClock as SharedVirtualClock } from '@holdfast/internal';

/**
 * A `Clock` on virtual time, for tests: timers fire only when the test advances time, in deadline
 * order (then in the order they were set), so a 30-second lease timeout passes in microseconds and
 * never depends on how busy the machine is.
 *
 * **When to use:** pass it as `options.clock`, and make simulated outputs use
 * `clock.sleep()` for its latency.
 *
 * @example
 * ```ts
 * const clock = new VirtualClock();
 * const pool = await ChunkPool.open({ outputs: ['otlp'], clock, leaseTimeout: 5_000 });
 * const lease = await clock.runUntilSettled(pool.take('otlp'));
 * ```
 */
export class VirtualClock extends SharedVirtualClock {}
