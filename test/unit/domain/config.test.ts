import { describe, expect, it } from 'vitest';
import { DEFAULT_LADDER, DEFAULT_PLANS, DEFAULT_PRICE_BOOK, parseLadder, parsePlans, parsePriceBook, TallyError } from '../../../shared/domain/index.js';

/** The thrown error, checked to be config_invalid. */
function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(TallyError);
    expect((err as TallyError).code).toBe('config_invalid');
    return (err as Error).message;
  }
  throw new Error('expected config_invalid');
}

describe('parsePriceBook (PRICE_BOOK_JSON)', () => {
  it('reads the SPEC 12 format, exactly', () => {
    const book = parsePriceBook({ llm_token: { price_micros: 150000, per: 1000000 }, vm_hour: { price_micros: '9007199254740993', per: 1 } });
    expect(book.llm_token).toEqual({ priceMicros: 150_000n, per: 1_000_000n });
    expect(book.vm_hour).toEqual({ priceMicros: 9_007_199_254_740_993n, per: 1n });
  });

  it('replaces the defaults: a kind left out is unpriced', () => {
    expect(parsePriceBook({ llm_token: { price_micros: 1, per: 1 } }).vm_hour).toBeUndefined();
  });

  it('round-trips the defaults', () => {
    const json = {
      vm_hour: { price_micros: 2000000, per: 720 },
      llm_token: { price_micros: 150000, per: 1000000 },
      hero_os_hour: { price_micros: 20000, per: 1 },
    };
    expect(parsePriceBook(json)).toEqual(DEFAULT_PRICE_BOOK);
  });

  it.each<[unknown, RegExp]>([
    [[], /^value must be an object/],
    [{ gpu_hour: { price_micros: 1, per: 1 } }, /^gpu_hour is not a known field/],
    [{ other: { price_micros: 1, per: 1 } }, /^other is not a known field/],
    [{ vm_hour: 5 }, /^vm_hour must be an object/],
    [{ vm_hour: { price_micros: -1, per: 1 } }, /^vm_hour\.price_micros must be an integer >= 0/],
    [{ vm_hour: { price_micros: 0.5, per: 1 } }, /^vm_hour\.price_micros/],
    [{ vm_hour: { price_micros: 1, per: 0 } }, /^vm_hour\.per must be an integer >= 1/],
    [{ vm_hour: { price_micros: 1 } }, /^vm_hour\.per/],
    [{ vm_hour: { price_micros: 1, per: 1, price: 2 } }, /^vm_hour\.price is not a known field/],
  ])('refuses %j, naming the path', (json, message) => {
    expect(configError(() => parsePriceBook(json))).toMatch(message);
  });
});

describe('parseLadder (LADDER_JSON)', () => {
  it('reads the SPEC 12 example as the default ladder', () => {
    const json = [
      { tier: 'week', min_days: 7, multiplier: '1/2' },
      { tier: 'month', min_days: 30, multiplier: '0.25' },
    ];
    expect(parseLadder(json)).toEqual(DEFAULT_LADDER);
  });

  it('allows leaving a tier out, and an empty ladder (no discounts)', () => {
    expect(parseLadder([{ tier: 'month', min_days: 30, multiplier: '3/4' }]).steps).toHaveLength(1);
    expect(parseLadder([]).steps).toHaveLength(0);
  });

  it('allows multiplier 1 and equal multipliers', () => {
    expect(() =>
      parseLadder([
        { tier: 'week', min_days: 7, multiplier: '1' },
        { tier: 'month', min_days: 30, multiplier: '1/1' },
      ]),
    ).not.toThrow();
  });

  it.each<[unknown, RegExp]>([
    [{}, /^value must be an array/],
    [[{ tier: 'year', min_days: 365, multiplier: '1/8' }], /^\[0\]\.tier must be "week" or "month"/],
    [[{ tier: 'week', min_days: -1, multiplier: '1/2' }], /^\[0\]\.min_days must be an integer/],
    [[{ tier: 'week', min_days: 7.5, multiplier: '1/2' }], /^\[0\]\.min_days/],
    [[{ tier: 'week', min_days: 7, multiplier: 0.5 }], /^\[0\]\.multiplier must be a string/],
    [[{ tier: 'week', min_days: 7, multiplier: '0' }], /^\[0\]\.multiplier .*\(0, 1\]/],
    [[{ tier: 'week', min_days: 7, multiplier: '3/2' }], /^\[0\]\.multiplier/],
    [[{ tier: 'week', min_days: 7, multiplier: '1/0' }], /^\[0\]\.multiplier/],
    [[{ tier: 'week', min_days: 7 }], /^\[0\]\.multiplier/],
    [[{ tier: 'week', min_days: 7, multiplier: '1/2', extra: 1 }], /^\[0\]\.extra is not a known field/],
    [
      [
        { tier: 'week', min_days: 30, multiplier: '1/2' },
        { tier: 'month', min_days: 30, multiplier: '1/4' },
      ],
      /^\[1\]\.min_days must be greater than 30/,
    ],
    [
      [
        { tier: 'month', min_days: 7, multiplier: '1/2' },
        { tier: 'week', min_days: 30, multiplier: '1/4' },
      ],
      /^\[1\]\.tier must come after month/,
    ],
    [
      [
        { tier: 'week', min_days: 7, multiplier: '1/4' },
        { tier: 'month', min_days: 30, multiplier: '1/2' },
      ],
      /^\[1\]\.multiplier must not exceed the week multiplier/,
    ],
  ])('refuses %j, naming the path', (json, message) => {
    expect(configError(() => parseLadder(json))).toMatch(message);
  });
});

describe('parsePlans (PLANS_JSON)', () => {
  it('reads the SPEC 12 example as the default plans', () => {
    const json = [
      { id: 'basic', price_micros: 10000000, vm_count: 5, period_days: 30 },
      { id: 'pro', price_micros: 20000000, vm_count: 10, period_days: 30 },
    ];
    expect(parsePlans(json)).toEqual(DEFAULT_PLANS);
  });

  it.each<[unknown, RegExp]>([
    [{}, /^value must be an array/],
    [[], /must list at least one plan/],
    [[{ id: '', price_micros: 1, vm_count: 1, period_days: 1 }], /^\[0\]\.id must be/],
    [[{ id: 'a b', price_micros: 1, vm_count: 1, period_days: 1 }], /^\[0\]\.id/],
    [[{ id: 'a', price_micros: -5, vm_count: 1, period_days: 1 }], /^\[0\]\.price_micros/],
    [[{ id: 'a', price_micros: 1, vm_count: 0, period_days: 1 }], /^\[0\]\.vm_count must be an integer in 1\.\.10000/],
    [[{ id: 'a', price_micros: 1, vm_count: 1, period_days: 0 }], /^\[0\]\.period_days/],
    [[{ id: 'a', price_micros: 1, vm_count: 1 }], /^\[0\]\.period_days/],
    [
      [
        { id: 'a', price_micros: 1, vm_count: 1, period_days: 1 },
        { id: 'a', price_micros: 2, vm_count: 1, period_days: 1 },
      ],
      /^\[1\]\.id repeats "a"/,
    ],
  ])('refuses %j, naming the path', (json, message) => {
    expect(configError(() => parsePlans(json))).toMatch(message);
  });
});
