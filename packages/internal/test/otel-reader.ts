/**
 * Test support for the `otel` entries: a real `@opentelemetry/sdk-metrics` MeterProvider with a
 * pull reader, and the collected metrics flattened to what the tests and the docs compare
 * (name, unit, type, attribute keys, and each data point's value).
 */
import { MeterProvider, MetricReader, DataPointType } from '@opentelemetry/sdk-metrics';
import type { Attributes } from '@opentelemetry/api';

/** A reader that exports only when `collect()` is called. */
export class PullReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

export interface CollectedPoint {
  readonly attributes: Attributes;
  /** A sum's or gauge's value; a histogram's count. */
  readonly value: number;
  /** A histogram's sum. */
  readonly sum?: number;
}

export interface CollectedMetric {
  readonly name: string;
  readonly unit: string;
  readonly description: string;
  readonly kind: 'counter' | 'histogram' | 'gauge' | 'updowncounter';
  /** Every attribute key any data point carried, sorted. */
  readonly attributeKeys: readonly string[];
  readonly points: readonly CollectedPoint[];
}

/** A provider and its reader; `collect()` gives the metrics by name. */
export function testMeterProvider(): {
  meterProvider: MeterProvider;
  collect(): Promise<Map<string, CollectedMetric>>;
} {
  const reader = new PullReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  return {
    meterProvider,
    async collect() {
      const { resourceMetrics, errors } = await reader.collect();
      if (errors.length > 0) throw new AggregateError(errors, 'collection failed');
      const out = new Map<string, CollectedMetric>();
      for (const scope of resourceMetrics.scopeMetrics)
        for (const metric of scope.metrics) {
          const keys = new Set<string>();
          const points: CollectedPoint[] = [];
          for (const point of metric.dataPoints) {
            for (const key of Object.keys(point.attributes)) keys.add(key);
            const v = point.value as number | { count: number; sum?: number };
            points.push(
              typeof v === 'number'
                ? { attributes: point.attributes, value: v }
                : {
                    attributes: point.attributes,
                    value: v.count,
                    ...(v.sum === undefined ? {} : { sum: v.sum }),
                  },
            );
          }
          const kind =
            metric.dataPointType === DataPointType.HISTOGRAM ||
            metric.dataPointType === DataPointType.EXPONENTIAL_HISTOGRAM
              ? 'histogram'
              : metric.dataPointType === DataPointType.GAUGE
                ? 'gauge'
                : metric.dataPointType === DataPointType.SUM && metric.isMonotonic
                  ? 'counter'
                  : 'updowncounter';
          out.set(metric.descriptor.name, {
            name: metric.descriptor.name,
            unit: metric.descriptor.unit,
            description: metric.descriptor.description,
            kind,
            attributeKeys: [...keys].sort(),
            points,
          });
        }
      return out;
    },
  };
}

/** The sum of a metric's points whose attributes include `match`. */
export function total(
  metrics: Map<string, CollectedMetric>,
  name: string,
  match: Attributes = {},
): number {
  const metric = metrics.get(name);
  if (metric === undefined) throw new Error(`no metric ${name}`);
  return metric.points
    .filter((p) => Object.entries(match).every(([k, v]) => p.attributes[k] === v))
    .reduce((sum, p) => sum + p.value, 0);
}
