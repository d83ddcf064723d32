import { describe, expect, it } from 'vitest';
import { DEFAULT_LADDER, DEFAULT_PRICE_BOOK, validateRecord } from '../../../shared/domain/index.js';
import { expectedDeadLetter, fuzzInputs } from '../../chaos/fuzz.js';

const now = Date.parse('2026-12-02T08:00:00Z');
const o = { seed: 5, now, priceBook: DEFAULT_PRICE_BOOK, ladder: DEFAULT_LADDER, lateArrivalDays: 35 };

describe('chaos fuzz inputs', () => {
  const inputs = [...fuzzInputs(3000, o)];

  it('are all bad inputs: refused by validation, or a charge to an account already at the bottom of Int64', () => {
    expect(inputs).toHaveLength(3000);
    for (const f of inputs) {
      const v = validateRecord(f, { now, lateArrivalDays: 35, priceBook: DEFAULT_PRICE_BOOK });
      expect(v.ok ? 'amount_out_of_range' : v.code).toBe(f.code);
      expect(expectedDeadLetter(f, now + 3 * 3_600_000, o)).toBe(f.code);
    }
  });

  it('cover every family and many codes', () => {
    expect(new Set(inputs.map((f) => f.family))).toEqual(
      new Set(['random_bytes', 'truncation', 'wrong_type', 'huge_number', 'unicode', 'deep_nesting', 'wrong_subject', 'cloudevents', 'rule', 'out_of_range']),
    );
    expect(new Set(inputs.map((f) => f.code)).size).toBeGreaterThanOrEqual(12);
    expect(inputs.some((f) => f.code === 'amount_out_of_range')).toBe(true);
  });

  it('are the same for the same seed', () => {
    const again = [...fuzzInputs(200, o)];
    expect(again.map((f) => Buffer.from(f.payload).toString('hex'))).toEqual(inputs.slice(0, 200).map((f) => Buffer.from(f.payload).toString('hex')));
  });
});
