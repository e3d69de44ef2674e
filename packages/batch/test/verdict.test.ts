/**
 * The default verdict of a batch in which every required item failed: fatal (a daemon that is
 * completely down is not "no containers"), unless the user opts out; below a small minimum of
 * required items it is not judged.
 */
import { describe, expect, test } from 'vitest';
import { fetchAll, fetchEach, isFatalError } from '../src/index.js';

const refused = () =>
  Promise.reject(
    Object.assign(new Error('connect ECONNREFUSED /var/run/docker.sock'), { code: 'ECONNREFUSED' }),
  );
const ids = (n: number) => Array.from({ length: n }, (_, i) => i);

describe('every required item failed', () => {
  test('50 of 50 refused, no breaker: fatal by default', async () => {
    const result = await fetchAll(ids(50), refused);
    expect(isFatalError(result.fatal)).toBe(true);
    expect(result.fatal?.message).toBe('every required item failed (50 of 50)');
    expect((result.fatal?.cause as Error).message).toMatch(/ECONNREFUSED/);
    expect(result.summary()).toMatch(/verdict FATAL: every required item failed/);
  });

  test('the same with fetchEach: fatal() once the stream ended', async () => {
    const stream = fetchEach(ids(10), refused);
    for await (const outcome of stream) expect(outcome.status).toBe('rejected');
    expect(stream.fatal()?.message).toBe('every required item failed (10 of 10)');
  });

  test('opting out: allFailedIsFatal: false', async () => {
    expect((await fetchAll(ids(50), refused, { allFailedIsFatal: false })).fatal).toBeUndefined();
  });

  test('below the minimum (3 by default, or minItems) it is not judged', async () => {
    expect((await fetchAll(ids(2), refused)).fatal).toBeUndefined();
    const one = await fetchAll(ids(1), refused, { allFailedIsFatal: { minItems: 1 } });
    expect(one.fatal?.message).toBe('every required item failed (1 of 1)');
  });

  test('one success, skips, optional items or a caller abort keep it ok', async () => {
    expect((await fetchAll(ids(5), (i) => (i === 4 ? i : refused()))).fatal).toBeUndefined();
    const skipped = await fetchAll(ids(5), refused, { classify: () => 'skip' });
    expect(skipped.fatal).toBeUndefined();
    const optional = await fetchAll(ids(5), refused, { importance: () => 'optional' });
    expect(optional.fatal).toBeUndefined();
    const aborted = await fetchAll(ids(5), refused, { signal: AbortSignal.abort() });
    expect(aborted.fatal).toBeUndefined();
  });

  test('the option is validated', async () => {
    await expect(fetchAll([1], (n) => n, { allFailedIsFatal: 'yes' as never })).rejects.toThrow(
      /allFailedIsFatal: expected a boolean or \{ minItems \}, got "yes" \(string\)/,
    );
    await expect(fetchAll([1], (n) => n, { allFailedIsFatal: { minItems: 0 } })).rejects.toThrow(
      /^allFailedIsFatal.minItems: expected an integer ≥ 1, got 0 \(number\)/,
    );
  });
});
