/** The discount ladder (SPEC 5): tenure since first payment -> tier -> exact multiplier. */
import { arrayAt, intAt, invalid, join, objectAt } from './configJson.js';
import { parseRatio, ratio, type Ratio } from './money.js';
import { DAY_MS } from './time.js';
import type { Category, Ladder, LadderStep, Tier } from './types.js';

export type { Ladder, Tier } from './types.js';

const ONE: Ratio = Object.freeze(ratio(1n, 1n));
const STEP_TIERS = ['week', 'month'] as const;
const MAX_DAYS = 36_500;

/** The seed's D-21 table: week x1/2 from 7 days, month x1/4 from 30 days. */
export const DEFAULT_LADDER: Ladder = Object.freeze({
  steps: Object.freeze<LadderStep[]>([
    { tier: 'week', minDays: 7, multiplier: ratio(1n, 2n) },
    { tier: 'month', minDays: 30, multiplier: ratio(1n, 4n) },
  ]),
});

function parseStep(x: unknown, path: string): LadderStep {
  const doc = objectAt(x, path, ['tier', 'min_days', 'multiplier']);
  const tier = doc['tier'];
  if (tier !== 'week' && tier !== 'month') invalid(join(path, 'tier'), 'must be "week" or "month"');
  const minDays = intAt(doc['min_days'], join(path, 'min_days'), 0, MAX_DAYS);
  const text = doc['multiplier'];
  // A JSON number would already be a float; only text can carry an exact multiplier.
  const multiplier = typeof text === 'string' ? parseRatio(text) : null;
  if (multiplier === null || multiplier.num === 0n || multiplier.num > multiplier.den) {
    invalid(join(path, 'multiplier'), 'must be a string "num/den" or decimal in (0, 1]');
  }
  return { tier, minDays, multiplier };
}

/**
 * Validates LADDER_JSON, `[{"tier", "min_days", "multiplier"}, ...]`. Tiers come in
 * ladder order (week before month; either may be left out), thresholds strictly increase,
 * and multipliers never increase: a longer tenure can never cost more.
 */
export function parseLadder(json: unknown): Ladder {
  const steps = arrayAt(json, '').map((x, i) => parseStep(x, join('', i)));
  steps.forEach((step, i) => {
    const prev = steps[i - 1];
    if (prev === undefined) return;
    const path = join('', i);
    if (STEP_TIERS.indexOf(step.tier) <= STEP_TIERS.indexOf(prev.tier)) {
      invalid(join(path, 'tier'), `must come after ${prev.tier} (order: ${STEP_TIERS.join(', ')})`);
    }
    if (step.minDays <= prev.minDays) invalid(join(path, 'min_days'), `must be greater than ${prev.minDays}`);
    if (step.multiplier.num * prev.multiplier.den > prev.multiplier.num * step.multiplier.den) {
      invalid(join(path, 'multiplier'), `must not exceed the ${prev.tier} multiplier`);
    }
  });
  return Object.freeze({ steps: Object.freeze(steps) });
}

/**
 * The tier at `occurredAt`: tenure is whole days since `firstPaidAt` (floor), so a tier
 * starts exactly at first payment + minDays x 24 h. Never paid, or an event before the
 * first payment, is `none`.
 */
export function tierAt(firstPaidAt: number | null, occurredAt: number, ladder: Ladder): Tier {
  if (firstPaidAt === null) return 'none';
  const tenure = Math.floor((occurredAt - firstPaidAt) / DAY_MS);
  let tier: Tier = 'none';
  for (const step of ladder.steps) {
    if (tenure >= step.minDays) tier = step.tier;
  }
  return tier;
}

/** The multiplier for a category at a tier; `vm` is the cost-recovery floor, never discounted. */
export function multiplierFor(category: Category, tier: Tier, ladder: Ladder): Ratio {
  if (category === 'vm' || tier === 'none') return ONE;
  return ladder.steps.find((step) => step.tier === tier)?.multiplier ?? ONE;
}

/**
 * The ladder step after `tier` and the instant it starts for an account first paid at
 * `firstPaidAt` (first payment + minDays x 24 h, as tierAt counts it); null at the top of
 * the ladder or before any payment. What the account page shows as "next tier".
 */
export function nextTier(tier: Tier, firstPaidAt: number | null, ladder: Ladder): { tier: Tier; startsAt: number } | null {
  if (firstPaidAt === null) return null;
  const current = ladder.steps.findIndex((step) => step.tier === tier);
  const next = ladder.steps[current + 1];
  return next === undefined ? null : { tier: next.tier, startsAt: firstPaidAt + next.minDays * DAY_MS };
}
