export * from './version.js';
export * from './errors.js';
export * from './clock.js';
export type {
  ChunkPoolOptions,
  OutputOptions,
  OutputWhenFull,
  RetryOptions,
  WhenFull,
} from './options.js';
export type { PoolRecord } from './record.js';
export type { ChunkInfo } from './chunk.js';
export { ChunkLease, type LeasedChunk } from './lease.js';
export type {
  ChunkPoolEvents,
  DroppedEvent,
  DeadLetterEvent,
  DropReason,
  HoldingBackEvent,
  HoldingBackReason,
  RecoveryReport,
  UnroutedChunk,
} from './events.js';
export type {
  ChunkPoolStats,
  OutputStats,
  OutputQuotaStats,
  OutputDropReason,
  HoldingBack,
  AccountStats,
  Volume,
} from './stats.js';
export type { BreakerState } from './retry-schedule.js';
export { ChunkPool, type AppendOutcome, type CallOptions } from './pool.js';
export type { RouteOutcome, SettledEvent } from './delivery-acks.js';
export type {
  ChunkStorage,
  ChunkHeader,
  RecoveredChunk,
  RecoveryOptions,
  RecoveryScan,
} from './storage/storage.js';
export { memoryStorage } from './storage/memory-storage.js';
export { fileStorage, type FileStorageOptions, type FsyncPolicy } from './storage/file-storage.js';
export {
  dropDeadLetters,
  listDeadLetters,
  readDeadLetter,
  replayDeadLetters,
  type DeadLetter,
  type DeadLetterSelection,
  type DeadLetterTotals,
  type ReplayOptions,
} from './dead-letters.js';
