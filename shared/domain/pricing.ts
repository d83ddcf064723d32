/**
 * How a record is priced (SPEC 4): the one place that turns a valid record into micros.
 *
 *   raw    = cost_micros ?? quantity * price_micros / per
 *   charge = round_half_even(raw * multiplier(category, tier_at(occurred_at)))
 *
 * raw and the multiplier stay exact rationals; the only rounding is the final one.
 */
import { TallyError } from './errors.js';
import { multiplierFor, tierAt } from './ladder.js';
import { roundHalfEven, SCALE, type Micros } from './money.js';
import type { Ladder, PriceBook, Tier, UsageRecord } from './types.js';

export interface Charge {
  chargeMicros: Micros;
  /** The account's tier at the record's event time (reported for vm too, where it has no effect). */
  tier: Tier;
}

export function priceRecord(record: UsageRecord, firstPaidAt: number | null, book: PriceBook, ladder: Ladder): Charge {
  let num: bigint;
  let den: bigint;
  if (record.costMicros !== null) {
    num = record.costMicros;
    den = 1n;
  } else {
    const price = book[record.kind];
    // validateRecord dead-letters these; reaching here means the book changed in between.
    if (price === undefined) throw new TallyError('unpriced', `kind ${record.kind} has no price`);
    num = record.quantity * price.priceMicros;
    den = SCALE * price.per;
  }
  const tier = tierAt(firstPaidAt, record.occurredAt, ladder);
  const m = multiplierFor(record.appliesTo, tier, ladder);
  return { chargeMicros: roundHalfEven(num * m.num, den * m.den), tier };
}
