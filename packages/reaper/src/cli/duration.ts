/** Parses a CLI duration: `1s`, `500ms`, `2m`, or a bare number of milliseconds. */
export function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (match === null)
    throw new TypeError(`Expected a duration such as 1s, 500ms or 2m, got \`${text}\``);
  const value = Number(match[1]);
  const unit = match[2] ?? 'ms';
  return unit === 'ms' ? value : unit === 's' ? value * 1_000 : value * 60_000;
}
