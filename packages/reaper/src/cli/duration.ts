import { nearestName, parseDurationFlag } from '@holdfast/internal';

/**
 * Parses a CLI duration with its unit: `500ms`, `2s`, `1m`, `1h` (fractions allowed: `1.5s`). A
 * bare number is an error that says so: `--timeout 2` meant 2 ms to some and 2 s to others.
 */
export function parseDuration(flag: string, text: string | undefined): number {
  return parseDurationFlag(text ?? '', flag);
}

/** The usage error for a flag the CLI does not know, naming the nearest one it does. */
export function unknownFlag(flag: string, known: readonly string[]): TypeError {
  const nearest = nearestName(
    flag.replace(/^-+/, ''),
    known.map((k) => k.replace(/^-+/, '')),
  );
  return new TypeError(
    `unknown flag \`${flag}\`${nearest === undefined ? '' : ` (did you mean --${nearest}?)`}`,
  );
}
