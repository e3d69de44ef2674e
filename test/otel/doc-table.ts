/**
 * The metrics table of a docs page, parsed, and compared with what the code collected: every row
 * whose first cell is a `holdfast.` metric name, as `name | instrument | unit | attributes | …`.
 */
import type { Collected } from './scenarios.js';

export interface MetricRow {
  readonly name: string;
  /** `counter`, `histogram` or `gauge` (the doc's "observable counter" is a counter). */
  readonly kind: string;
  readonly unit: string;
  readonly attributeKeys: readonly string[];
}

const code = (cell: string) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);

export function docMetricRows(markdown: string): MetricRow[] {
  const rows: MetricRow[] = [];
  for (const line of markdown.split('\n')) {
    if (!line.startsWith('| `holdfast.')) continue;
    const cells = line
      .split('|')
      .slice(1, -1)
      .map((c) => c.trim());
    const [name, instrument, unit, attributes] = cells;
    rows.push({
      name: code(name!)[0]!,
      kind: instrument!.replace(/^observable /, ''),
      unit: code(unit!)[0] ?? unit!,
      attributeKeys: code(attributes!).sort(),
    });
  }
  return rows;
}

const render = (row: MetricRow) =>
  `${row.name} ${row.kind} ${row.unit} [${row.attributeKeys.join(', ')}]`;

/** What the docs list and the code did not emit (`-`), and what the code emitted unlisted (`+`). */
export function compareWithDocs(markdown: string, collected: Collected): string[] {
  const documented = new Set(docMetricRows(markdown).map(render));
  const emitted = new Set(
    [...collected.values()].map((m) =>
      render({ name: m.name, kind: m.kind, unit: m.unit, attributeKeys: m.attributeKeys }),
    ),
  );
  return [
    ...[...documented].filter((row) => !emitted.has(row)).map((row) => `- ${row}`),
    ...[...emitted].filter((row) => !documented.has(row)).map((row) => `+ ${row}`),
  ].sort();
}
