// What every holdfast package needs, written once. Never published: each package's build inlines
// what it imports from here (tsup `noExternal`), and `pnpm check:packages` fails if a published
// file still names this package.
export { monotonicClock, wallClock, type Clock, type TimerHandle } from './clock.js';
export { describeValue } from './describe-value.js';
export {
  MAX_TIMER_MS,
  globalTimers,
  setLongTimeout,
  type LongTimer,
  type TimerFunctions,
} from './long-timer.js';
export {
  callOptions,
  countOption,
  durationOption,
  invalidOption,
  nearestName,
  parseDurationFlag,
  rejectUnknownKeys,
  signalOption,
  type OptionError,
} from './options.js';
export {
  RETRY_KEYS,
  resolveRetry,
  retryDelay,
  type RetryOptions,
  type RetryPolicy,
} from './retry.js';
export { seededRandom } from './seeded-random.js';
export { VirtualClock } from './virtual-clock.js';
export { WaiterQueue, type WaiterQueueOptions } from './waiter-queue.js';
