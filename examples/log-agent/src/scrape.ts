/**
 * The demo's Prometheus scrape of the agent's metrics endpoint, parsed with a real text-format
 * parser (parse-prometheus-text-format, prom2json's output shape), reduced to the figures the
 * report puts beside what the agent and the backends said.
 */
import parsePrometheusTextFormat, { type PrometheusFamily } from 'parse-prometheus-text-format';

export interface ScrapedFigures {
  /** `holdfast_chunk_pool_delivered_records_total` by output. */
  readonly delivered: { readonly search: number; readonly archive: number };
  /** `holdfast_reaper_zombies_reaped_total`. */
  readonly zombiesReaped: number;
  /** `holdfast_crash_flush_reports_total{holdfast_crash_flush_report_outcome="sent"}`. */
  readonly crashReportsSent: number;
  /** Metric families in the scrape. */
  readonly families: number;
}

/** The sum of a family's samples whose labels include `match`; NaN when it is absent. */
function value(
  families: readonly PrometheusFamily[],
  name: string,
  match: Readonly<Record<string, string>> = {},
): number {
  const family = families.find((f) => f.name === name);
  if (family === undefined) return Number.NaN;
  return family.metrics
    .filter((m) => Object.entries(match).every(([k, v]) => m.labels?.[k] === v))
    .reduce((sum, m) => sum + Number(m.value), 0);
}

export async function scrapeAgent(url: string): Promise<ScrapedFigures> {
  const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  if (!response.ok) throw new Error(`scraping ${url}: HTTP ${response.status}`);
  const families = parsePrometheusTextFormat(await response.text());
  const delivered = (output: string) =>
    value(families, 'holdfast_chunk_pool_delivered_records_total', {
      holdfast_chunk_pool_output: output,
    });
  return {
    delivered: { search: delivered('search'), archive: delivered('archive') },
    zombiesReaped: value(families, 'holdfast_reaper_zombies_reaped_total'),
    crashReportsSent: value(families, 'holdfast_crash_flush_reports_total', {
      holdfast_crash_flush_report_outcome: 'sent',
    }),
    families: families.length,
  };
}
