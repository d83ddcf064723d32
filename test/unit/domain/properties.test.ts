import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_LADDER, DEFAULT_PRICE_BOOK, formatQuoteLine, priceRecord, Quoter, type QuoteLine, type UsageRecord } from '../../../shared/domain/index.js';
import { arbFirstPaidAt, arbLadder, arbLine, arbRecord } from './arbitraries.js';
import { DAY, NOW } from './helpers.js';

const PAID = new Map([
  ['a', NOW - 40 * DAY],
  ['b', NOW - 10 * DAY],
]);
const paidAt = (account: string) => PAID.get(account) ?? null;

/** Splits xs at the given cut points (any order, duplicates allowed). */
function split<T>(xs: readonly T[], cuts: number[]): T[][] {
  const points = [...new Set(cuts.map((c) => c % (xs.length + 1)))].sort((x, y) => x - y);
  return [0, ...points].map((start, i) => xs.slice(start, points[i] ?? xs.length));
}

/** Charges summed per account, each record priced on its own (as a shard owner does). */
function totalsOf(records: readonly UsageRecord[]): Map<string, bigint> {
  const totals = new Map<string, bigint>();
  for (const r of records)
    totals.set(r.accountId, (totals.get(r.accountId) ?? 0n) + priceRecord(r, paidAt(r.accountId), DEFAULT_PRICE_BOOK, DEFAULT_LADDER).chargeMicros);
  return totals;
}

function addTotals(into: Map<string, bigint>, from: Map<string, bigint>): Map<string, bigint> {
  for (const [account, micros] of from) into.set(account, (into.get(account) ?? 0n) + micros);
  return into;
}

function quote(lines: readonly string[]): QuoteLine[] {
  const quoter = new Quoter({ priceBook: DEFAULT_PRICE_BOOK, ladder: DEFAULT_LADDER, lateArrivalDays: 35, firstPaidAt: PAID });
  return lines.map((l) => quoter.quoteLine(l, NOW));
}

function charged(answers: readonly QuoteLine[]): bigint {
  return answers.reduce((sum, a) => ('charge_micros' in a ? sum + BigInt(a.charge_micros) : sum), 0n);
}

describe('properties', () => {
  it('batch invariance: any split of a stream into batches gives the same totals', () => {
    fc.assert(
      fc.property(fc.array(arbRecord, { maxLength: 60 }), fc.array(fc.nat(), { maxLength: 8 }), (records, cuts) => {
        const whole = totalsOf(records);
        const batched = split(records, cuts).map(totalsOf).reduce(addTotals, new Map<string, bigint>());
        expect(batched).toEqual(whole);
      }),
    );
  });

  it('batch invariance through the quoter: a stream fed in pieces charges the same', () => {
    fc.assert(
      fc.property(fc.array(arbLine, { maxLength: 40 }), fc.array(fc.nat(), { maxLength: 6 }), (lines, cuts) => {
        const quoter = new Quoter({ priceBook: DEFAULT_PRICE_BOOK, ladder: DEFAULT_LADDER, lateArrivalDays: 35, firstPaidAt: PAID });
        const pieces = split(lines, cuts).flatMap((batch) => batch.map((l) => quoter.quoteLine(l, NOW)));
        expect(pieces).toEqual(quote(lines));
      }),
    );
  });

  it('multiplier monotonicity: month <= week <= none, and a longer tenure never costs more, on any ladder', () => {
    fc.assert(
      fc.property(arbRecord, arbLadder, arbFirstPaidAt, fc.nat(60 * DAY), (record, ladder, firstPaidAt, earlier) => {
        const at = (paid: number | null) => priceRecord(record, paid, DEFAULT_PRICE_BOOK, ladder).chargeMicros;
        const never = at(null);
        const shorter = at(firstPaidAt);
        const longer = at(firstPaidAt === null ? null : firstPaidAt - earlier);
        expect(shorter <= never).toBe(true);
        expect(longer <= shorter).toBe(true);
      }),
    );
    fc.assert(
      fc.property(arbRecord, (record) => {
        const at = (days: number) => priceRecord(record, record.occurredAt - days * DAY, DEFAULT_PRICE_BOOK, DEFAULT_LADDER);
        const [none, week, month] = [at(0), at(7), at(30)];
        expect([none.tier, week.tier, month.tier]).toEqual(['none', 'week', 'month']);
        expect(month.chargeMicros <= week.chargeMicros && week.chargeMicros <= none.chargeMicros).toBe(true);
      }),
    );
  });

  it('vm is untouched by any ladder at any tenure', () => {
    fc.assert(
      fc.property(arbRecord, arbLadder, arbFirstPaidAt, (record, ladder, firstPaidAt) => {
        const vm: UsageRecord = { ...record, appliesTo: 'vm' };
        const base = priceRecord(vm, null, DEFAULT_PRICE_BOOK, DEFAULT_LADDER).chargeMicros;
        expect(priceRecord(vm, firstPaidAt, DEFAULT_PRICE_BOOK, ladder).chargeMicros).toBe(base);
      }),
    );
  });

  it('dedup idempotence: re-sending any lines, anywhere after their first send, charges nothing more', () => {
    fc.assert(
      fc.property(fc.array(arbLine, { minLength: 1, maxLength: 40 }), fc.array(fc.tuple(fc.nat(), fc.nat()), { maxLength: 20 }), (lines, picks) => {
        // each line followed by the re-sends scheduled after it
        const resends = lines.map(() => [] as string[]);
        for (const [which, after] of picks) {
          const original = which % lines.length;
          resends[original + (after % (lines.length - original))]?.push(lines[original] ?? '');
        }
        const withRepeats = lines.flatMap((l, i) => [l, ...(resends[i] ?? [])]);
        const answers = quote(withRepeats);
        expect(charged(answers)).toBe(charged(quote(lines)));
        expect(answers.filter((a) => 'charge_micros' in a)).toEqual(quote(lines).filter((a) => 'charge_micros' in a));
      }),
    );
  });

  it('formatQuoteLine writes exactly what JSON.stringify would', () => {
    fc.assert(
      fc.property(fc.array(arbLine, { maxLength: 20 }), fc.bigInt(0n, 2n ** 64n), (lines, micros) => {
        const big = { id: 'x', account_id: 'y', charge_micros: micros.toString(), tier: 'month' as const };
        for (const answer of [...quote([...lines, ...lines]), big]) {
          expect(formatQuoteLine(answer)).toBe(JSON.stringify(answer));
        }
      }),
    );
  });

  it('quote(s ++ s) is quote(s) followed by s answered as duplicates or the same dead code', () => {
    fc.assert(
      fc.property(fc.array(arbLine, { maxLength: 40 }), (lines) => {
        const once = quote(lines);
        const twice = quote([...lines, ...lines]);
        expect(twice.slice(0, lines.length)).toEqual(once);
        const expected = once.map((a) => ('charge_micros' in a ? { duplicate: a.id } : a));
        expect(twice.slice(lines.length)).toEqual(expected);
        expect(charged(twice)).toBe(charged(once));
      }),
    );
  });
});
