/**
 * The rate limit by fingerprint, shared by the guard and the supervisor: within `window`, the
 * first `fullReports` reports of a fingerprint pass; later ones are only counted, and the count
 * rides on the next report that passes (or, for the supervisor, on a summary at the end).
 *
 * With a state file (in the spool folder), the counts survive restarts: an agent in a crash loop
 * sends one full report per window. The file is read back like any other: an entry that is not
 * well-formed is dropped, never trusted. Windows are measured on the wall clock, the only one
 * that survives a restart; a clock that stepped back starts a new window.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

interface Window {
  since: number;
  full: number;
  suppressed: number;
}

/** Fingerprints kept: a process reporting ever-new errors does not grow the file without bound. */
const MAX_FINGERPRINTS = 1_000;

const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

export class RateLimit {
  readonly #windows = new Map<string, Window>();

  constructor(
    readonly window: number,
    readonly fullReports: number,
    readonly stateFile?: string,
  ) {
    if (stateFile !== undefined) this.#load(stateFile);
  }

  /** Whether a report of `fingerprint` passes now, and how many were counted since the last. */
  admit(fingerprint: string, now = Date.now()): { pass: true; carried: number } | { pass: false } {
    const window = this.#windows.get(fingerprint);
    let result: { pass: true; carried: number } | { pass: false };
    if (window === undefined || now < window.since || now - window.since > this.window) {
      result = { pass: true, carried: window?.suppressed ?? 0 };
      this.#windows.delete(fingerprint); // re-inserted last: the map stays oldest first
      this.#windows.set(fingerprint, { since: now, full: 1, suppressed: 0 });
    } else if (window.full < this.fullReports) {
      window.full += 1;
      result = { pass: true, carried: window.suppressed };
      window.suppressed = 0;
    } else {
      window.suppressed += 1;
      result = { pass: false };
    }
    while (this.#windows.size > MAX_FINGERPRINTS)
      this.#windows.delete(this.#windows.keys().next().value as string);
    this.#save();
    return result;
  }

  /** Fingerprints with reports counted and not yet carried (the supervisor's closing summary). */
  uncarried(): { fingerprint: string; suppressed: number }[] {
    return [...this.#windows]
      .filter(([, w]) => w.suppressed > 0)
      .map(([fingerprint, w]) => ({ fingerprint, suppressed: w.suppressed }));
  }

  #load(path: string): void {
    let entries: unknown;
    try {
      entries = JSON.parse(readFileSync(path, 'utf8')) as unknown;
    } catch {
      return; // missing or torn: start counting afresh
    }
    if (!Array.isArray(entries)) return;
    for (const entry of entries.slice(-MAX_FINGERPRINTS) as unknown[]) {
      if (!Array.isArray(entry) || typeof entry[0] !== 'string') continue;
      const w = entry[1] as Partial<Window> | null;
      if (typeof w !== 'object' || w === null) continue;
      if (!Number.isFinite(w.since) || !isCount(w.full) || !isCount(w.suppressed)) continue;
      this.#windows.set(entry[0], { since: w.since!, full: w.full, suppressed: w.suppressed });
    }
  }

  #save(): void {
    if (this.stateFile === undefined) return;
    try {
      mkdirSync(dirname(this.stateFile), { recursive: true, mode: 0o700 });
      writeFileSync(this.stateFile, JSON.stringify([...this.#windows]), { mode: 0o600 });
    } catch {
      // A full or read-only disk costs the rate limit, never the report.
    }
  }
}
