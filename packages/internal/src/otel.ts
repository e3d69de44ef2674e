/**
 * What every package's `otel` entry shares: the one options shape (`meter` or `meterProvider`,
 * the global provider by default), and a guarded meter. A separate entry of `@holdfast/internal`
 * because it imports `@opentelemetry/api`: a package's main entry must never load it.
 *
 * Invariant: every call into OpenTelemetry (creating an instrument, `add`, `record`, `observe`,
 * a provider's `getMeter`) goes through a {@link GuardedMeter}, so an SDK, an exporter or a view
 * that throws costs only that measurement: it is counted in `meterErrors` and never unwinds into
 * the package, whose hot paths call these instruments.
 *
 * @module
 */
import {
  createNoopMeter,
  metrics,
  type Attributes,
  type BatchObservableCallback,
  type Meter,
  type MeterProvider,
  type Observable,
} from '@opentelemetry/api';
import { invalidOption, rejectUnknownKeys } from './options.js';

/** Where measurements go: one of the two, or neither for the global `MeterProvider`. */
export interface MeterOptions {
  /** A meter to create the instruments on. */
  readonly meter?: Meter;
  /** A provider to get the package's meter from. @default the global `metrics.getMeterProvider()` */
  readonly meterProvider?: MeterProvider;
}

/** What every `instrument…()` returns. */
export interface Instrumentation {
  /** Stops observing: observable callbacks removed, listeners and subscriptions taken off. */
  stop(): void;
  /** Measurements that OpenTelemetry refused by throwing (each cost only itself). */
  stats(): { readonly meterErrors: number };
}

/** The options object of an `instrument…()` call, checked: unknown keys, `meter`/`meterProvider`. */
export function checkMeterOptions<O extends MeterOptions>(
  options: O | undefined,
  extraKeys: readonly string[],
): O {
  if (options === undefined) return {} as O;
  if (typeof options !== 'object' || options === null)
    throw invalidOption('options', 'an object', options);
  rejectUnknownKeys(options, ['meter', 'meterProvider', ...extraKeys], 'options');
  const { meter, meterProvider } = options;
  if (meter !== undefined && !hasMethod(meter, 'createCounter'))
    throw invalidOption('meter', 'an OpenTelemetry Meter (with createCounter())', meter);
  if (meterProvider !== undefined && !hasMethod(meterProvider, 'getMeter'))
    throw invalidOption(
      'meterProvider',
      'an OpenTelemetry MeterProvider (with getMeter())',
      meterProvider,
    );
  if (meter !== undefined && meterProvider !== undefined)
    throw invalidOption('meterProvider', 'to be unset when `meter` is given', meterProvider);
  return options;
}

function hasMethod(value: unknown, name: string): boolean {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as Record<string, unknown>)[name] === 'function'
  );
}

/**
 * Whether `meter` is the API's no-op meter: this copy's, or another copy's. A process often holds
 * two copies of `@opentelemetry/api` — its CommonJS build beside its ES module build (an agent that
 * `require`s the API while this package imports it), or another version a dependency installed —
 * and each has its own no-op meter object. Compared by identity alone, another copy's no-op was
 * taken for a real meter: the package then listened and recorded every measurement into nothing
 * (`fetchAll` 1.2–1.3× slower). Another copy's is recognised by its class: the same name, and
 * the same methods on its prototype, as this copy's no-op meter (the API ships it unminified; a
 * bundle that renamed it only costs the listening, as before).
 */
function isApiNoopMeter(meter: Meter): boolean {
  const noop = createNoopMeter();
  if (meter === noop) return true;
  const prototype: unknown = Object.getPrototypeOf(meter);
  const noopPrototype = Object.getPrototypeOf(noop) as object;
  if (typeof prototype !== 'object' || prototype === null) return false;
  return (
    (prototype as { constructor?: { name?: unknown } }).constructor?.name ===
      noopPrototype.constructor.name &&
    sameKeys(Object.getOwnPropertyNames(prototype), Object.getOwnPropertyNames(noopPrototype))
  );
}

function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((key) => b.includes(key));
}

/** A counter or histogram whose measurements never throw. */
export interface GuardedRecorder {
  record(value: number, attributes?: Attributes): void;
}

/** The description of one instrument: its stable name, unit and what it measures. */
export interface InstrumentSpec {
  readonly name: string;
  readonly unit: string;
  readonly description: string;
}

type Kind = 'counter' | 'histogram' | 'observableCounter' | 'observableGauge' | 'upDownCounter';

/**
 * The meter of one `instrument…()` call, with every call guarded. Instruments that could not be
 * created record nothing; the error is counted.
 */
export class GuardedMeter {
  meterErrors = 0;
  /**
   * The API's no-op meter (no MeterProvider registered when the meter was got: the API has no
   * proxy for meters, so it stays a no-op), from any copy of the API ({@link isApiNoopMeter}).
   * Then nothing needs to listen or subscribe at all.
   */
  readonly isNoop: boolean;
  readonly #meter: Meter | undefined;
  readonly #observables: Observable[] = [];
  readonly #callbacks: BatchObservableCallback[] = [];

  constructor(options: MeterOptions, scope: { readonly name: string; readonly version: string }) {
    this.#meter = this.#guard(
      () =>
        options.meter ??
        (options.meterProvider ?? metrics.getMeterProvider()).getMeter(scope.name, scope.version),
    );
    const meter = this.#meter;
    this.isNoop = meter === undefined || this.#guard(() => isApiNoopMeter(meter)) === true;
  }

  /** Runs `f`; a throw is counted and gives `undefined`. */
  #guard<R>(f: () => R): R | undefined {
    try {
      return f();
    } catch {
      this.meterErrors += 1;
      return undefined;
    }
  }

  #create(kind: Kind, spec: InstrumentSpec): unknown {
    const meter = this.#meter;
    if (meter === undefined) return undefined;
    const { name, unit, description } = spec;
    return this.#guard(() => {
      const o = { unit, description };
      switch (kind) {
        case 'counter':
          return meter.createCounter(name, o);
        case 'upDownCounter':
          return meter.createUpDownCounter(name, o);
        case 'histogram':
          return meter.createHistogram(name, o);
        case 'observableCounter':
          return meter.createObservableCounter(name, o);
        case 'observableGauge':
          return meter.createObservableGauge(name, o);
      }
    });
  }

  /** A monotonic counter fed by the package's events. */
  counter(spec: InstrumentSpec): GuardedRecorder {
    const counter = this.#create('counter', spec) as { add(v: number, a?: Attributes): void };
    return this.#recorder(counter === undefined ? undefined : (v, a) => counter.add(v, a));
  }

  /** A histogram (durations in seconds). */
  histogram(spec: InstrumentSpec): GuardedRecorder {
    const histogram = this.#create('histogram', spec) as {
      record(v: number, a?: Attributes): void;
    };
    return this.#recorder(histogram === undefined ? undefined : (v, a) => histogram.record(v, a));
  }

  #recorder(call: ((value: number, attributes?: Attributes) => void) | undefined) {
    if (call === undefined) return { record() {} };
    return {
      record: (value: number, attributes?: Attributes) => {
        try {
          call(value, attributes);
        } catch {
          this.meterErrors += 1;
        }
      },
    };
  }

  /** An observable counter: a cumulative count read from `stats()` at each collection. */
  observableCounter(spec: InstrumentSpec): Observable | undefined {
    return this.#observable('observableCounter', spec);
  }

  /** An observable gauge: a level read at each collection. */
  observableGauge(spec: InstrumentSpec): Observable | undefined {
    return this.#observable('observableGauge', spec);
  }

  #observable(kind: Kind, spec: InstrumentSpec): Observable | undefined {
    const instrument = this.#create(kind, spec) as Observable | undefined;
    if (instrument !== undefined) this.#observables.push(instrument);
    return instrument;
  }

  /**
   * Observes every observable instrument created so far in one callback, which reads the
   * package's `stats()` once per collection. `observe(instrument, value, attributes)` is guarded
   * and skips instruments that could not be created; a throwing `read` is counted.
   */
  observeAll(read: (observe: Observe) => void): void {
    const meter = this.#meter;
    if (meter === undefined || this.#observables.length === 0) return;
    const callback: BatchObservableCallback = (result) => {
      const observe: Observe = (instrument, value, attributes) => {
        if (instrument === undefined) return;
        try {
          result.observe(instrument, value, attributes);
        } catch {
          this.meterErrors += 1;
        }
      };
      try {
        read(observe);
      } catch {
        this.meterErrors += 1;
      }
    };
    // Kept even if adding it threw: removing a callback that was never added is harmless.
    this.#callbacks.push(callback);
    this.#guard(() => meter.addBatchObservableCallback(callback, this.#observables));
  }

  /** Removes the observable callbacks. */
  stop(): void {
    const meter = this.#meter;
    if (meter === undefined) return;
    for (const callback of this.#callbacks.splice(0))
      this.#guard(() => meter.removeBatchObservableCallback(callback, this.#observables));
  }
}

/** Observes one observable instrument in a batch callback. */
export type Observe = (
  instrument: Observable | undefined,
  value: number,
  attributes?: Attributes,
) => void;

/** Milliseconds (the packages' unit) to seconds (OpenTelemetry's unit for durations). */
export function seconds(ms: number): number {
  return ms / 1_000;
}
