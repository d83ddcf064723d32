import { describe, expect, it } from 'vitest';
import { CATEGORIES, DEFAULT_LADDER, multiplierFor, parseLadder, tierAt, type Category, type Tier } from '../../../shared/domain/index.js';
import { DAY, NOW } from './helpers.js';

const PAID = NOW - 100 * DAY;

describe('tierAt: whole days since first_paid_at, on the default ladder', () => {
  it.each<[string, number | null, number, Tier]>([
    ['never paid', null, NOW, 'none'],
    ['the instant of first payment', PAID, PAID, 'none'],
    ['before first payment', PAID, PAID - 1, 'none'],
    ['a day before first payment', PAID, PAID - DAY, 'none'],
    ['6 days', PAID, PAID + 6 * DAY, 'none'],
    ['1 ms before 7 days', PAID, PAID + 7 * DAY - 1, 'none'],
    ['exactly 7 days', PAID, PAID + 7 * DAY, 'week'],
    ['8 days', PAID, PAID + 8 * DAY, 'week'],
    ['29 days', PAID, PAID + 29 * DAY, 'week'],
    ['1 ms before 30 days', PAID, PAID + 30 * DAY - 1, 'week'],
    ['exactly 30 days', PAID, PAID + 30 * DAY, 'month'],
    ['a year', PAID, PAID + 365 * DAY, 'month'],
  ])('%s -> %s', (_why, firstPaidAt, occurredAt, tier) => {
    expect(tierAt(firstPaidAt, occurredAt, DEFAULT_LADDER)).toBe(tier);
  });

  it('follows configured thresholds', () => {
    const ladder = parseLadder([
      { tier: 'week', min_days: 0, multiplier: '9/10' },
      { tier: 'month', min_days: 3, multiplier: '1/2' },
    ]);
    expect(tierAt(PAID, PAID - 1, ladder)).toBe('none');
    expect(tierAt(PAID, PAID, ladder)).toBe('week');
    expect(tierAt(PAID, PAID + 3 * DAY - 1, ladder)).toBe('week');
    expect(tierAt(PAID, PAID + 3 * DAY, ladder)).toBe('month');
  });

  it('skips a tier the ladder leaves out', () => {
    const ladder = parseLadder([{ tier: 'month', min_days: 30, multiplier: '1/4' }]);
    expect(tierAt(PAID, PAID + 10 * DAY, ladder)).toBe('none');
    expect(tierAt(PAID, PAID + 30 * DAY, ladder)).toBe('month');
  });
});

describe('multiplierFor: every category at every tier', () => {
  it.each<[Category, Tier, string]>([
    ['hero_os_hourly', 'none', '1/1'],
    ['hero_os_hourly', 'week', '1/2'],
    ['hero_os_hourly', 'month', '1/4'],
    ['llm', 'none', '1/1'],
    ['llm', 'week', '1/2'],
    ['llm', 'month', '1/4'],
    ['vm', 'none', '1/1'],
    ['vm', 'week', '1/1'],
    ['vm', 'month', '1/1'],
  ])('%s at %s is x%s', (category, tier, want) => {
    const m = multiplierFor(category, tier, DEFAULT_LADDER);
    expect(`${m.num}/${m.den}`).toBe(want);
  });

  it('is x1 for a tier the ladder does not have', () => {
    const ladder = parseLadder([{ tier: 'month', min_days: 30, multiplier: '1/4' }]);
    for (const category of CATEGORIES) expect(multiplierFor(category, 'week', ladder)).toEqual({ num: 1n, den: 1n });
  });
});
