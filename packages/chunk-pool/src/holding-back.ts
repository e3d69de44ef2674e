/**
 * Which outputs hold the inputs back, and since when: the pool tells it who blocks the first
 * waiting append each time that can change, and it answers with the `holding-back` events to
 * emit (an output that starts, one that stops, one whose reason changed: both).
 *
 * @module
 */
import { wallClock } from '@holdfast/internal';
import type { HoldingBackEvent, HoldingBackReason } from './events.js';

/** One output holding the inputs back, as `stats()` shows it. */
export interface HoldingBack {
  readonly reason: HoldingBackReason;
  /** Wall-clock time (ms since the epoch) when it started. */
  readonly startedAt: number;
  /** How long so far, on the pool's clock. */
  readonly durationMs: number;
}

interface Hold {
  readonly reason: HoldingBackReason;
  readonly startedAt: number;
  /** The pool's clock when it started. */
  readonly since: number;
}

/** The outputs holding the inputs back now. */
export class HoldingBackTracker {
  readonly #holds = new Map<string, Hold>();

  /** How many outputs hold the inputs back. */
  get size(): number {
    return this.#holds.size;
  }

  /** Replaces the holders by `holders` (at `now` on the pool's clock): the events that says. */
  update(holders: ReadonlyMap<string, HoldingBackReason>, now: number): HoldingBackEvent[] {
    const events: HoldingBackEvent[] = [];
    for (const [output, hold] of this.#holds) {
      if (holders.get(output) === hold.reason) continue;
      this.#holds.delete(output);
      events.push({ output, state: 'ended', ...shown(hold, now) });
    }
    for (const [output, reason] of holders) {
      if (this.#holds.has(output)) continue;
      const hold = { reason, startedAt: wallClock.now(), since: now };
      this.#holds.set(output, hold);
      events.push({ output, state: 'started', ...shown(hold, now) });
    }
    return events;
  }

  /** `output`'s hold at `now`, if it holds the inputs back. */
  get(output: string, now: number): HoldingBack | undefined {
    const hold = this.#holds.get(output);
    return hold === undefined ? undefined : shown(hold, now);
  }

  /** The outputs holding the inputs back, in the order they started. */
  outputs(): string[] {
    return [...this.#holds.keys()];
  }
}

function shown(hold: Hold, now: number): HoldingBack {
  return { reason: hold.reason, startedAt: hold.startedAt, durationMs: now - hold.since };
}
