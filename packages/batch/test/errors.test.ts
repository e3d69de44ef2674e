import { describe, expect, test } from 'vitest';
import {
  BatchError,
  CancelledError,
  DeadlineError,
  FatalError,
  TimeoutError,
  TransientError,
  fetchAll,
  isBatchError,
  isCancelledError,
  isDeadlineError,
  isFatalError,
  isTimeoutError,
  isTransientError,
} from '../src/index.js';

describe('errors', () => {
  test('each class has a stable code, a name, the item index and the cause', () => {
    const cause = new Error('socket hang up');
    const cases: [BatchError, string, string][] = [
      [new TimeoutError({ index: 3, attempts: 1, timeoutMs: 50 }), 'TIMEOUT', 'TimeoutError'],
      [new TransientError({ index: 3, attempts: 2, cause }), 'TRANSIENT', 'TransientError'],
      [new FatalError('x', { index: 3, attempts: 1, cause }), 'FATAL', 'FatalError'],
      [new DeadlineError({ index: 3, attempts: 0, deadlineMs: 10 }), 'DEADLINE', 'DeadlineError'],
      [
        new CancelledError({ index: 3, attempts: 0, by: 'caller', cause }),
        'CANCELLED',
        'CancelledError',
      ],
    ];
    for (const [error, code, name] of cases) {
      expect(error.code).toBe(code);
      expect(error.name).toBe(name);
      expect(error.index).toBe(3);
      expect(error).toBeInstanceOf(BatchError);
      expect(isBatchError(error)).toBe(true);
    }
    expect(new TransientError({ index: 0, attempts: 2, cause }).cause).toBe(cause);
    expect(new TransientError({ index: 0, attempts: 2, cause }).message).toMatch(
      /after 2 attempt\(s\): socket hang up/,
    );
  });

  test('a message names its item once, even when its cause names it too', async () => {
    const timeout = new TimeoutError({ index: 4, attempts: 2, timeoutMs: 50 });
    expect(new TransientError({ index: 4, attempts: 2, cause: timeout }).message).toBe(
      'item 4: failed after 2 attempt(s): attempt 2 timed out after 50 ms',
    );
    // Another item's error as the cause keeps its own name: it is not this item's.
    expect(new TransientError({ index: 5, attempts: 1, cause: timeout }).message).toBe(
      'item 5: failed after 1 attempt(s): item 4: attempt 2 timed out after 50 ms',
    );
    // A timeout classified fatal.
    const result = await fetchAll([0], () => new Promise<never>(() => {}), {
      timeout: 1,
      classify: () => 'fatal',
    });
    const error = (result.outcomes[0] as { error: Error }).error;
    expect(isFatalError(error) && error.message).toBe('item 0: attempt 1 timed out after 1 ms');
  });

  test('guards tell the kinds apart', () => {
    const timeout = new TimeoutError({ index: 0, attempts: 1, timeoutMs: 1 });
    expect(
      [isTimeoutError, isTransientError, isFatalError, isDeadlineError, isCancelledError].map((g) =>
        g(timeout),
      ),
    ).toEqual([true, false, false, false, false]);
    expect(isBatchError(new Error('plain'))).toBe(false);
    expect(isBatchError(null)).toBe(false);
  });

  test('guards recognise an error from another copy of the package (brand, not instanceof)', () => {
    // What a second copy (a CJS build next to the ESM one) produces: a different class with the
    // same registered brand.
    const foreign = Object.assign(new Error('from the other copy'), {
      code: 'TIMEOUT',
      [Symbol.for('holdfast.batch.error')]: true,
    });
    expect(foreign instanceof TimeoutError).toBe(false);
    expect(isTimeoutError(foreign)).toBe(true);
    expect(isFatalError(foreign)).toBe(false);
  });
});

test('`error.code` narrows a rejected outcome to its class (checked by `pnpm typecheck`)', async () => {
  const result = await fetchAll(
    [1],
    (_item, { signal }) =>
      new Promise<never>((_resolve, reject) => {
        signal.addEventListener('abort', () => reject(signal.reason as Error));
      }),
    { timeout: 1 },
  );
  const outcome = result.outcomes[0];
  if (outcome?.status !== 'rejected' || outcome.error.code !== 'TIMEOUT') {
    expect.unreachable('the attempt timed out');
    return;
  }
  // Without the narrowing, `outcome.error` is a BatchError, which has no `timeoutMs`: a type error.
  const timeout: TimeoutError = outcome.error;
  expect(timeout.timeoutMs).toBe(1);
});
