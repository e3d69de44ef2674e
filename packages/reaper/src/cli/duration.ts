/**
 * Parses a CLI duration with its unit: `500ms`, `2s`, `1m` (fractions allowed: `1.5s`). A bare
 * number is an error that says so: `--timeout 2` meant 2 ms to some and 2 s to others.
 */
export function parseDuration(flag: string, text: string | undefined): number {
  const given = (text ?? '').trim();
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(given);
  if (match === null) {
    const why = /^\d+(?:\.\d+)?$/.test(given)
      ? `a bare number has no unit: write ${given}ms or ${given}s`
      : 'expected a number with a unit: 500ms, 2s or 1m';
    throw new TypeError(
      `${flag} takes a duration such as 500ms, 2s or 1m, got \`${given}\`: ${why}`,
    );
  }
  const value = Number(match[1]);
  const unit = match[2];
  return unit === 'ms' ? value : unit === 's' ? value * 1_000 : value * 60_000;
}
