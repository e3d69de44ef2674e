/**
 * Every package's `otel` entry emits exactly the metrics its docs page lists: the same names,
 * instruments, units and attribute keys, no more, no fewer. Each package is run on a real SDK
 * MeterProvider (test/otel/scenarios.ts) and what it collected is compared with the page's table.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { compareWithDocs, docMetricRows } from './doc-table.js';
import {
  batchScenario,
  chunkPoolScenario,
  crashFlushScenario,
  reaperScenario,
  type Collected,
} from './scenarios.js';

const page = (name: string) =>
  readFileSync(fileURLToPath(new URL(`../../docs/${name}.md`, import.meta.url)), 'utf8');

describe('OpenTelemetry metrics: the code emits exactly what the docs list', () => {
  const cases: [string, () => Promise<Collected>][] = [
    ['batch', batchScenario],
    ['chunk-pool', chunkPoolScenario],
    ['crash-flush', crashFlushScenario],
    ['reaper', reaperScenario],
  ];
  for (const [name, scenario] of cases)
    test(`${name}: docs/${name}.md`, async () => {
      const markdown = page(name);
      expect(docMetricRows(markdown).length).toBeGreaterThan(5);
      expect(compareWithDocs(markdown, await scenario())).toEqual([]);
    }, 60_000);

  test('control: a row removed, a metric renamed, a unit or an attribute changed are each found', async () => {
    const markdown = page('batch');
    const collected = await batchScenario();
    const lines = markdown.split('\n');
    const without = lines.filter((l) => !l.startsWith('| `holdfast.batch.hedges`')).join('\n');
    expect(compareWithDocs(without, collected)).toEqual([
      '+ holdfast.batch.hedges counter {hedge} []',
    ]);

    const renamed = new Map(collected);
    const retries = renamed.get('holdfast.batch.retries')!;
    renamed.delete('holdfast.batch.retries');
    renamed.set('holdfast.batch.retry', { ...retries, name: 'holdfast.batch.retry' });
    expect(compareWithDocs(markdown, renamed)).toEqual([
      '+ holdfast.batch.retry counter {retry} []',
      '- holdfast.batch.retries counter {retry} []',
    ]);

    const otherUnit = markdown.replace(
      /(\| `holdfast\.batch\.duration` +\| histogram +\| )`s`/,
      '$1`ms`',
    );
    expect(compareWithDocs(otherUnit, collected)).toHaveLength(2);
    const lessAttributes = markdown.replace(
      /`error\.type`, `holdfast\.batch\.outcome`/,
      '`holdfast.batch.outcome`',
    );
    expect(compareWithDocs(lessAttributes, collected)).toEqual([
      '+ holdfast.batch.items counter {item} [error.type, holdfast.batch.outcome]',
      '- holdfast.batch.items counter {item} [holdfast.batch.outcome]',
    ]);
  }, 60_000);
});
