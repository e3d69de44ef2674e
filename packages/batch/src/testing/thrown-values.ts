import fc from 'fast-check';

/** The shapes of thrown value that break naive error handling (`String(e)`, `e.message`, …). */
export type ThrownShape =
  | 'error'
  | 'null-prototype'
  | 'throwing-toString'
  | 'throwing-message'
  | 'throwing-name'
  | 'throwing-stack'
  | 'proxy'
  | 'null'
  | 'undefined'
  | 'symbol'
  | 'string';

const throws = () => {
  throw new Error('a getter of the thrown value throws');
};

/**
 * A fresh thrown value of the given shape.
 *
 * @example
 * ```ts run
 * const value = makeThrown('null-prototype'); // String(value) would throw
 * ```
 */
export function makeThrown(shape: ThrownShape): unknown {
  switch (shape) {
    case 'error':
      return new Error('a plain error');
    case 'null-prototype':
      return Object.create(null) as unknown;
    case 'throwing-toString':
      return { toString: throws };
    case 'throwing-message':
      return Object.defineProperty(new Error(), 'message', { get: throws });
    case 'throwing-name':
      return Object.defineProperty(new Error('x'), 'name', { get: throws });
    case 'throwing-stack':
      return Object.defineProperty(new Error('x'), 'stack', { get: throws });
    case 'proxy':
      return new Proxy({}, { get: throws, getPrototypeOf: throws, has: throws, ownKeys: throws });
    case 'null':
      return null;
    case 'undefined':
      return undefined;
    case 'symbol':
      return Symbol('thrown');
    case 'string':
      return 'a thrown string';
  }
}

/**
 * A shape of exotic thrown value, for faults that throw.
 *
 * @example
 * ```ts run
 * import fc from 'fast-check';
 *
 * console.log(fc.sample(thrownShapeArbitrary(), 3));
 * ```
 */
export function thrownShapeArbitrary(): fc.Arbitrary<ThrownShape> {
  return fc.constantFrom<ThrownShape>(
    'error',
    'null-prototype',
    'throwing-toString',
    'throwing-message',
    'throwing-name',
    'throwing-stack',
    'proxy',
    'null',
    'undefined',
    'symbol',
    'string',
  );
}
