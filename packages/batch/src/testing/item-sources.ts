import fc from 'fast-check';
import { makeThrown, thrownShapeArbitrary, type ThrownShape } from './thrown-values.js';

/**
 * How the items reach the batch: an array, an async iterable, or an async iterable that, after
 * `after` items, hangs (a `next()` that never resolves) or throws an exotic value.
 */
export type SourceMode =
  | { readonly kind: 'array' }
  | { readonly kind: 'async' }
  | { readonly kind: 'hangs'; readonly after: number }
  | { readonly kind: 'throws'; readonly after: number; readonly thrown: ThrownShape };

/**
 * A source mode, mostly arrays.
 *
 * @example
 * ```ts run
 * import fc from 'fast-check';
 *
 * console.log(fc.sample(sourceModeArbitrary({ maxItems: 10 }), 3));
 * ```
 */
export function sourceModeArbitrary({ maxItems = 40 } = {}): fc.Arbitrary<SourceMode> {
  const after = fc.integer({ min: 0, max: maxItems });
  return fc.oneof(
    { weight: 4, arbitrary: fc.constant({ kind: 'array' } as const) },
    { weight: 1, arbitrary: fc.constant({ kind: 'async' } as const) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('hangs' as const), after }) },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('throws' as const),
        after,
        thrown: thrownShapeArbitrary(),
      }),
    },
  );
}

/** The items of a property run, delivered as `mode` says, with what the source did. */
export interface InstrumentedSource {
  readonly items: Iterable<number> | AsyncIterable<number>;
  /** Items the source has delivered so far. */
  readonly read: () => number;
  /** The value the source threw, once it did (`thrown` is set). */
  readonly failure: () => { readonly thrown: unknown } | undefined;
}

/**
 * Wraps `items` in the source `mode` describes.
 *
 * @example
 * ```ts run
 * const source = instrumentedSource([0, 1, 2], { kind: 'hangs', after: 2 });
 * ```
 */
export function instrumentedSource(items: readonly number[], mode: SourceMode): InstrumentedSource {
  let read = 0;
  let failure: { thrown: unknown } | undefined;
  if (mode.kind === 'array') return { items, read: () => items.length, failure: () => undefined };
  const stopAt = mode.kind === 'async' ? items.length : Math.min(mode.after, items.length);
  const iterable: AsyncIterable<number> = {
    [Symbol.asyncIterator]: () => ({
      next: () => {
        if (read < stopAt) return Promise.resolve({ done: false, value: items[read++]! });
        if (mode.kind === 'hangs' && stopAt < items.length) return new Promise(() => {});
        if (mode.kind === 'throws' && stopAt < items.length) {
          failure = { thrown: makeThrown(mode.thrown) };
          return Promise.reject(failure.thrown);
        }
        return Promise.resolve({ done: true, value: undefined });
      },
    }),
  };
  return { items: iterable, read: () => read, failure: () => failure };
}
