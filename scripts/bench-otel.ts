/**
 * What the benchmarks of `fetchAll` and `tryAppend` need to measure the `otel` entries: a meter
 * provider of the mode a scenario process is run with (`HOLDFAST_BENCH_OTEL`), and the rows that
 * compare the modes. `none`: no otel entry loaded; `noop`: the entry installed against the API's
 * global provider with nothing registered (the no-op); `sdk`: against a real SDK MeterProvider
 * with a reader, collected once at the end.
 */
import { execFileSync } from 'node:child_process';
import { metrics, type MeterProvider } from '@opentelemetry/api';
import { MeterProvider as SdkMeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';

export type OtelMode = 'none' | 'noop' | 'sdk';
export const OTEL_MODES: readonly OtelMode[] = ['none', 'noop', 'sdk'];

class PullReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

/** The scenario's provider, or `undefined` for `none`; `finish()` collects once (sdk). */
export function benchMeterProvider(): {
  mode: OtelMode;
  meterProvider: MeterProvider | undefined;
  finish(): Promise<void>;
} {
  const mode = (process.env.HOLDFAST_BENCH_OTEL ?? 'none') as OtelMode;
  if (mode === 'none') return { mode, meterProvider: undefined, finish: async () => {} };
  if (mode === 'noop')
    return { mode, meterProvider: metrics.getMeterProvider(), finish: async () => {} };
  const reader = new PullReader();
  const meterProvider = new SdkMeterProvider({ readers: [reader] });
  return {
    mode,
    meterProvider,
    finish: async () => {
      await reader.collect();
      await meterProvider.shutdown();
    },
  };
}

/**
 * Runs `args` (a scenario printing one JSON line with `key`, lower is better) once per mode,
 * the modes taking turns `rounds` times, and keeps each mode's best.
 */
export function bestPerMode<R extends Record<string, number>>(
  args: readonly string[],
  key: keyof R,
  rounds: number,
): Record<OtelMode, R> {
  const best: Partial<Record<OtelMode, R>> = {};
  for (let round = 0; round < rounds; round++)
    for (const mode of OTEL_MODES) {
      const out = execFileSync(process.execPath, ['--import', 'tsx', ...args], {
        encoding: 'utf8',
        env: { ...process.env, HOLDFAST_BENCH_OTEL: mode },
      });
      const result = JSON.parse(out.trim().split('\n').at(-1)!) as R;
      const kept = best[mode];
      if (kept === undefined || result[key]! < kept[key]!) best[mode] = result;
    }
  return best as Record<OtelMode, R>;
}

export const MODE_LABELS: Record<OtelMode, string> = {
  none: 'without the otel entry',
  noop: 'otel entry installed, no-op meter (no MeterProvider registered)',
  sdk: 'otel entry installed, SDK MeterProvider',
};
