import { describe, expect, it } from 'vitest';
import { DAY_MS, DEFAULT_LADDER, nextTier, parseLadder, tierAt } from '../../../shared/domain/index.js';

const PAID = Date.parse('2026-01-01T12:00:00Z');

describe('nextTier (the account page\'s "next tier from")', () => {
  it('names the following step and the instant tierAt starts returning it', () => {
    expect(nextTier('none', PAID, DEFAULT_LADDER)).toEqual({ tier: 'week', startsAt: PAID + 7 * DAY_MS });
    expect(nextTier('week', PAID, DEFAULT_LADDER)).toEqual({ tier: 'month', startsAt: PAID + 30 * DAY_MS });
    for (const tier of ['none', 'week'] as const) {
      const next = nextTier(tier, PAID, DEFAULT_LADDER)!;
      expect(tierAt(PAID, next.startsAt - 1, DEFAULT_LADDER)).toBe(tier);
      expect(tierAt(PAID, next.startsAt, DEFAULT_LADDER)).toBe(next.tier);
    }
  });

  it('is null at the top of the ladder and before any payment', () => {
    expect(nextTier('month', PAID, DEFAULT_LADDER)).toBeNull();
    expect(nextTier('none', null, DEFAULT_LADDER)).toBeNull();
    expect(nextTier('week', PAID, parseLadder([{ tier: 'week', min_days: 7, multiplier: '1/2' }]))).toBeNull();
  });
});
