import { describe, expect, it } from 'vitest';
import {
  DEFAULT_LADDER,
  DEFAULT_PRICE_BOOK,
  parsePriceBook,
  priceRecord,
  TallyError,
  type Category,
  type Kind,
  type UsageRecord,
} from '../../../shared/domain/index.js';
import { DAY, NOW } from './helpers.js';

const WEEK_PAID = NOW - 10 * DAY;
const MONTH_PAID = NOW - 40 * DAY;

function rec(kind: Kind, quantity: bigint, appliesTo: Category, costMicros: bigint | null = null): UsageRecord {
  return { id: 'r', accountId: 'a', kind, quantity, appliesTo, occurredAt: NOW, costMicros, meta: null };
}

const charge = (r: UsageRecord, firstPaidAt: number | null) => priceRecord(r, firstPaidAt, DEFAULT_PRICE_BOOK, DEFAULT_LADDER).chargeMicros;

describe('priceRecord: raw = quantity * price / per, one half-even rounding after the multiplier', () => {
  it.each<[string, UsageRecord, number | null, bigint]>([
    // llm_token: 150000 micros per 1e6 tokens = 0.15 micro a token
    ['1000 tokens, none: 150', rec('llm_token', 1000_000000n, 'llm'), null, 150n],
    ['1000 tokens, week: 75', rec('llm_token', 1000_000000n, 'llm'), WEEK_PAID, 75n],
    ['1000 tokens, month: 37.5 -> 38', rec('llm_token', 1000_000000n, 'llm'), MONTH_PAID, 38n],
    ['10 tokens: 1.5 -> 2', rec('llm_token', 10_000000n, 'llm'), null, 2n],
    ['30 tokens: 4.5 -> 4', rec('llm_token', 30_000000n, 'llm'), null, 4n],
    ['10 tokens, week: 0.75 -> 1', rec('llm_token', 10_000000n, 'llm'), WEEK_PAID, 1n],
    // vm_hour: 2000000 micros per 720 hours
    ['1 vm hour: 2777.7.. -> 2778', rec('vm_hour', 1_000000n, 'vm'), null, 2778n],
    ['1 vm hour at month tier: vm is never discounted', rec('vm_hour', 1_000000n, 'vm'), MONTH_PAID, 2778n],
    ['720 vm hours: exactly 2 USD', rec('vm_hour', 720_000000n, 'vm'), MONTH_PAID, 2_000_000n],
    ['0.00018 vm hour: 0.5 -> 0', rec('vm_hour', 180n, 'vm'), null, 0n],
    ['0.00054 vm hour: 1.5 -> 2', rec('vm_hour', 540n, 'vm'), null, 2n],
    // hero_os_hour: 20000 micros an hour
    ['0.3 hero hour: 6000 (no 0.1 * 3 drift)', rec('hero_os_hour', 300_000n, 'hero_os_hourly'), null, 6000n],
    ['0.000025 hero hour: 0.5 -> 0', rec('hero_os_hour', 25n, 'hero_os_hourly'), null, 0n],
    ['0.000075 hero hour: 1.5 -> 2', rec('hero_os_hour', 75n, 'hero_os_hourly'), null, 2n],
    ['0.00015 hero hour, week: 3 * 1/2 = 1.5 -> 2', rec('hero_os_hour', 150n, 'hero_os_hourly'), WEEK_PAID, 2n],
    ['0.00025 hero hour, week: 5 * 1/2 = 2.5 -> 2', rec('hero_os_hour', 250n, 'hero_os_hourly'), WEEK_PAID, 2n],
    // kind and category are independent: a kind charged under another category
    ['vm_hour under llm is discounted', rec('vm_hour', 720_000000n, 'llm'), WEEK_PAID, 1_000_000n],
    ['llm_token under vm is not', rec('llm_token', 1000_000000n, 'vm'), MONTH_PAID, 150n],
    // cost_micros bypasses the book
    ['cost 3, week: 1.5 -> 2', rec('other', 0n, 'hero_os_hourly', 3n), WEEK_PAID, 2n],
    ['cost 5, week: 2.5 -> 2', rec('other', 0n, 'llm', 5n), WEEK_PAID, 2n],
    ['cost 6, month: 1.5 -> 2', rec('other', 0n, 'llm', 6n), MONTH_PAID, 2n],
    ['cost 10, month: 2.5 -> 2', rec('other', 0n, 'llm', 10n), MONTH_PAID, 2n],
    ['cost 7, month: 1.75 -> 2', rec('other', 0n, 'llm', 7n), MONTH_PAID, 2n],
    ['cost 999 on vm, month: 999', rec('vm_hour', 5_000000n, 'vm', 999n), MONTH_PAID, 999n],
    ['cost wins over the book', rec('llm_token', 1000_000000n, 'llm', 1_000_000n), null, 1_000_000n],
    ['zero quantity is free', rec('llm_token', 0n, 'llm'), null, 0n],
  ])('%s', (_why, record, firstPaidAt, want) => {
    expect(charge(record, firstPaidAt)).toBe(want);
  });

  it('reports the tier at event time, for vm too', () => {
    expect(priceRecord(rec('vm_hour', 1n, 'vm'), MONTH_PAID, DEFAULT_PRICE_BOOK, DEFAULT_LADDER).tier).toBe('month');
    expect(priceRecord(rec('llm_token', 1n, 'llm'), WEEK_PAID, DEFAULT_PRICE_BOOK, DEFAULT_LADDER).tier).toBe('week');
  });

  it('stays exact beyond 2^53 micros', () => {
    const book = parsePriceBook({ vm_hour: { price_micros: '9000000000000000000', per: 1 } });
    const r = rec('vm_hour', 3_000000n, 'vm');
    expect(priceRecord(r, null, book, DEFAULT_LADDER).chargeMicros).toBe(27_000_000_000_000_000_000n);
  });

  it('throws unpriced when the book has no price for the kind', () => {
    const book = parsePriceBook({});
    expect(() => priceRecord(rec('llm_token', 1n, 'llm'), null, book, DEFAULT_LADDER)).toThrow(TallyError);
  });
});

describe('priceRecord over a batch', () => {
  it('rounds each record on its own', () => {
    const records = [
      { ...rec('llm_token', 10_000000n, 'llm'), accountId: 'a' },
      { ...rec('llm_token', 10_000000n, 'llm'), accountId: 'a' },
      { ...rec('vm_hour', 1_000000n, 'vm'), accountId: 'b' },
    ];
    const paid = new Map([['a', WEEK_PAID]]);
    const charges = records.map((r) => priceRecord(r, paid.get(r.accountId) ?? null, DEFAULT_PRICE_BOOK, DEFAULT_LADDER).chargeMicros);
    // 10 tokens at week: 0.75 -> 1, each record rounded on its own
    expect(charges).toEqual([1n, 1n, 2778n]);
  });
});
