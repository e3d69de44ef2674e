/**
 * The memory budget's accounts (src/budget.ts) on their own: an account is never overdrawn, the
 * pool's memory is the sum of every account, and a reserve exists only for a configured output.
 */
import { describe, expect, test } from 'vitest';
import { Account, MemoryBudget } from '../src/budget.js';

describe('Account', () => {
  test('charges only what fits, up to its limit exactly; a release makes room again', () => {
    const account = new Account(100);
    expect(account.tryCharge(60)).toBe(true);
    expect(account.tryCharge(41)).toBe(false);
    expect(account.bytes).toBe(60);
    expect(account.tryCharge(40)).toBe(true);
    expect(account.fits(0)).toBe(true);
    expect(account.fits(1)).toBe(false);
    account.release(30);
    expect([account.bytes, account.fits(30), account.fits(31)]).toEqual([70, true, false]);
  });

  test('counts the chunks it holds apart from their bytes', () => {
    const account = new Account(10);
    account.addChunk();
    account.addChunk();
    account.removeChunk();
    expect([account.chunks, account.bytes]).toEqual([1, 0]);
  });
});

describe('MemoryBudget', () => {
  test('its memory is the inputs’ share plus every output’s reserve', () => {
    const budget = new MemoryBudget(1_000, ['search', 'archive'], 200);
    expect(budget.input.limit).toBe(1_000);
    budget.input.tryCharge(300);
    budget.reserve('search').tryCharge(150);
    budget.reserve('archive').tryCharge(50);
    expect(budget.bytesUp).toBe(500);
    expect(budget.reserve('search')).not.toBe(budget.reserve('archive'));
    expect(budget.reserve('archive').limit).toBe(200);
  });

  test('an output that was not configured has no reserve: asking for one is a bug, named', () => {
    const budget = new MemoryBudget(1_000, ['search'], 200);
    expect(() => budget.reserve('otlp')).toThrow('no reserve for output otlp');
  });
});
