/**
 * The diagnostics channels a batch publishes on: how `@holdfast/batch/otel` (or any other
 * subscriber) sees every batch of the process without an option on each call. Channels are looked
 * up by name, so every copy of the package publishes on the same ones. With no subscriber a
 * publish is never built: the hot path pays one `hasSubscribers` read per attempt and per item.
 *
 * The messages carry no item and no value (only counts, codes and durations), so a subscriber
 * cannot keep an item alive or leak its contents into metric attributes.
 *
 * @module
 */
import { channel } from 'node:diagnostics_channel';
import type { BatchStats } from '../outcome.js';

/** How one attempt ended: a value, a failure, its timeout, or the batch stopping it. */
export type AttemptResult = 'value' | 'error' | 'timeout' | 'stopped';

/** Published when an attempt has ended. */
export interface AttemptEndMessage {
  readonly result: AttemptResult;
  /** From the attempt's start (after any wait for a slot) to its end, in ms of the batch clock. */
  readonly durationMs: number;
}

/** Published when an item's outcome is settled. */
export interface OutcomeMessage {
  readonly status: 'fulfilled' | 'rejected' | 'skipped';
  /** The `BatchError` code of a rejected item (`TIMEOUT`, `FATAL`, …). */
  readonly code: string | undefined;
}

/** Why a batch was fatal: what declared the verdict. */
export type FatalReason = 'required-item' | 'breaker' | 'all-failed' | 'item-source';

/** Published when a batch has ended. */
export interface BatchEndMessage {
  readonly stats: BatchStats;
  readonly fatal: FatalReason | undefined;
}

export const ATTEMPT_END_CHANNEL = 'holdfast:batch:attempt-end';
export const OUTCOME_CHANNEL = 'holdfast:batch:outcome';
export const BATCH_END_CHANNEL = 'holdfast:batch:batch-end';

export const attemptEnd = channel(ATTEMPT_END_CHANNEL);
export const outcomeSettled = channel(OUTCOME_CHANNEL);
export const batchEnd = channel(BATCH_END_CHANNEL);
