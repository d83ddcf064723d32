/** fast-check generators for the domain's properties. */
import fc from 'fast-check';
import { CATEGORIES, parseLadder, type Ladder, type UsageRecord } from '../../../shared/domain/index.js';
import { DAY, NOW, iso, line } from './helpers.js';

/** Any valid ladder: a subset of week/month, increasing thresholds, non-increasing multipliers. */
export const arbLadder: fc.Arbitrary<Ladder> = fc
  .record({
    week: fc.boolean(),
    month: fc.boolean(),
    weekDays: fc.integer({ min: 0, max: 60 }),
    gap: fc.integer({ min: 1, max: 60 }),
    weekDen: fc.integer({ min: 1, max: 1000 }),
    weekNum: fc.integer({ min: 1, max: 1000 }),
    monthShrink: fc.integer({ min: 1, max: 1000 }),
  })
  .map(({ week, month, weekDays, gap, weekDen, weekNum, monthShrink }) => {
    const num = Math.min(weekNum, weekDen);
    const steps = [];
    if (week) steps.push({ tier: 'week', min_days: weekDays, multiplier: `${num}/${weekDen}` });
    // month's multiplier is week's scaled by a factor in (0, 1], so it never exceeds it
    if (month) steps.push({ tier: 'month', min_days: weekDays + gap, multiplier: `${num}/${weekDen * monthShrink}` });
    return parseLadder(steps);
  });

export const arbFirstPaidAt = fc.option(fc.integer({ min: NOW - 90 * DAY, max: NOW }), { nil: null });

export const arbRecord: fc.Arbitrary<UsageRecord> = fc.record({
  id: fc.stringMatching(/^[a-z0-9]{1,8}$/),
  accountId: fc.constantFrom('a', 'b', 'c'),
  kind: fc.constantFrom('vm_hour' as const, 'llm_token' as const, 'hero_os_hour' as const),
  quantity: fc.bigInt(0n, 10n ** 15n),
  appliesTo: fc.constantFrom(...CATEGORIES),
  occurredAt: fc.integer({ min: NOW - 30 * DAY, max: NOW }),
  costMicros: fc.option(fc.bigInt(0n, 10n ** 12n), { nil: null }),
  meta: fc.constant(null),
});

/** Quantity text with up to 6 decimals, built as text so the test itself uses no float. */
const arbQuantityText = fc
  .tuple(fc.integer({ min: 0, max: 100_000 }), fc.integer({ min: 0, max: 999_999 }))
  .map(([whole, micro]) => `${whole}.${String(micro).padStart(6, '0')}`);

/**
 * A recorded-stream line: mostly valid records whose ids come from a small pool (so
 * repeats happen), some dead ones, some lines that are not JSON at all.
 */
export const arbLine: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc
      .record({
        id: fc.constantFrom('r1', 'r2', 'r3', 'r4', 'r5', 'r6', 'r7', 'r8'),
        account: fc.constantFrom('a', 'b'),
        kind: fc.constantFrom('vm_hour', 'llm_token', 'hero_os_hour'),
        quantity: arbQuantityText,
        appliesTo: fc.constantFrom(...CATEGORIES),
        age: fc.integer({ min: 0, max: 30 * DAY }),
      })
      .map((r) => {
        const payload = `{"id":"${r.id}","account_id":"${r.account}","kind":"${r.kind}","quantity":${r.quantity},"applies_to":"${r.appliesTo}","occurred_at":"${iso(NOW - r.age)}"}`;
        return line(payload, `usage.${r.account}`);
      }),
  },
  { weight: 1, arbitrary: fc.constantFrom('r1', 'r9').map((id) => line({ id, account_id: 'a', kind: 'other' }, 'usage.a')) },
  { weight: 1, arbitrary: fc.string({ maxLength: 20 }) },
);

/**
 * A valid recorded-stream line (SPEC 13) of one of `accounts`, with an id from `ids` (a pool
 * small enough that ids recur, within and across accounts), any kind (`other` and some others
 * priced by the producer), a quantity of up to six places, up to 34 days old (late records).
 */
export function arbStreamLine(accounts: readonly string[], ids: readonly string[]): fc.Arbitrary<string> {
  return fc
    .record({
      id: fc.constantFrom(...ids),
      account: fc.constantFrom(...accounts),
      kind: fc.constantFrom('vm_hour', 'llm_token', 'hero_os_hour', 'other'),
      quantity: fc.integer({ min: 0, max: 50_000_000 }).map((q) => q / 1000),
      appliesTo: fc.constantFrom(...CATEGORIES),
      cost: fc.option(fc.integer({ min: 0, max: 10_000_000 }), { nil: undefined }),
      age: fc.integer({ min: 0, max: 34 * DAY }),
    })
    .map((r) =>
      line(
        {
          id: r.id,
          account_id: r.account,
          kind: r.kind,
          quantity: r.quantity,
          applies_to: r.appliesTo,
          occurred_at: iso(NOW - r.age),
          // `other` needs a producer's price; the others carry one sometimes.
          ...(r.cost === undefined && r.kind !== 'other' ? {} : { cost_micros: r.cost ?? 1 }),
        },
        `usage.${r.account}`,
      ),
    );
}
