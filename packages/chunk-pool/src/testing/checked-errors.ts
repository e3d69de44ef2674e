import { isChunkPoolError } from '../errors.js';
import type { ChunkPool } from '../pool.js';
import type { PoolSubject, SubjectLease } from './pool-model.js';

/** The longest `cause` chain followed. */
const MAX_CAUSES = 8;

/**
 * What is wrong with an error the pool gave its user, or `undefined`: the package's rule is that
 * every error is a `ChunkPoolError` with a string `code`, and that a storage failure
 * (`STORAGE_FULL`, `STORAGE_ERROR`) carries what failed as its `cause` — for a fault the
 * injector made (`injected`), that very error, under the code it maps to (`ENOSPC` →
 * `STORAGE_FULL`, `EIO` → `STORAGE_ERROR`).
 */
export function errorProblem(
  error: unknown,
  injected: (error: unknown) => boolean,
): string | undefined {
  if (!isChunkPoolError(error)) {
    return `${describe(error)} reached the user: every error must be a ChunkPoolError`;
  }
  if (typeof error.code !== 'string') return `a ChunkPoolError without a code: ${error.message}`;
  if (error.code !== 'STORAGE_FULL' && error.code !== 'STORAGE_ERROR') return undefined;
  if (error.cause === undefined) {
    return `${error.code} without the OS error as its cause (${error.message})`;
  }
  let cause: unknown = error.cause;
  for (let depth = 0; depth < MAX_CAUSES && cause !== undefined; depth++) {
    if (injected(cause)) {
      const full = osCode(cause) === 'ENOSPC';
      if (full === (error.code === 'STORAGE_FULL')) return undefined;
      return `${error.code} for an injected ${String(osCode(cause))} (${error.message})`;
    }
    cause = isChunkPoolError(cause) ? cause.cause : undefined;
  }
  return undefined;
}

function osCode(error: unknown): unknown {
  return typeof error === 'object' && error !== null
    ? (error as { code?: unknown }).code
    : undefined;
}

function describe(error: unknown): string {
  if (error instanceof Error) return `${error.name} "${error.message}"`;
  return typeof error;
}

/**
 * The pool as the model drives it, with every rejection (of the pool's calls and of its leases')
 * and every `storage-error` event checked by {@link errorProblem}. The model itself swallows
 * rejections, so the first problem is thrown from the next `stats()` call, which the model
 * makes after every step.
 */
export function checkedErrors(pool: ChunkPool, injected: (error: unknown) => boolean): PoolSubject {
  let problem: string | undefined;
  const check = (error: unknown): void => {
    problem ??= errorProblem(error, injected);
  };
  const checked = <T>(promise: Promise<T>): Promise<T> =>
    promise.then(
      (value) => value,
      (error: unknown) => {
        check(error);
        throw error;
      },
    );
  pool.on('storage-error', ({ error }) => check(error));
  const lease = (held: SubjectLease): SubjectLease => ({
    chunk: held.chunk,
    ack: () => checked(held.ack()),
    retry: (options) => checked(held.retry(options)),
    drop: (reason) => checked(held.drop(reason)),
  });
  return {
    append: (tag, record, options) => checked(pool.append(tag, record, options)),
    take: (output, options) => checked(pool.take(output, options)).then(lease),
    flush: () => checked(pool.flush()),
    close: () => checked(pool.close()),
    stats: () => {
      if (problem !== undefined) throw new Error(problem);
      return pool.stats();
    },
  };
}
