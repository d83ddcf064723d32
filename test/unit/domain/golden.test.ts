import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_LADDER, DEFAULT_PRICE_BOOK, parseAccountLine, Quoter } from '../../../shared/domain/index.js';

/** The golden stream; golden.md shows the arithmetic behind every expected charge. */
const dir = new URL('./golden/', import.meta.url);
const read = (name: string) => readFileSync(new URL(name, dir), 'utf8').split('\n').slice(0, -1);
const NOW = Date.parse('2025-03-01T12:00:00.000Z');

describe('golden quote', () => {
  it('answers all 74 lines exactly as computed by hand', () => {
    const firstPaidAt = new Map<string, number>();
    read('accounts.ndjson').forEach((l, i) => {
      const account = parseAccountLine(l, i + 1);
      if (account?.firstPaidAt != null) firstPaidAt.set(account.accountId, account.firstPaidAt);
    });
    const quoter = new Quoter({ priceBook: DEFAULT_PRICE_BOOK, ladder: DEFAULT_LADDER, lateArrivalDays: 35, firstPaidAt });
    const answers = read('stream.ndjson').map((l) => quoter.quoteLine(l, NOW));
    const expected = read('expected.ndjson').map((l) => JSON.parse(l) as unknown);
    expect(answers).toHaveLength(74);
    expect(answers.filter((a) => 'charge_micros' in a)).toHaveLength(63);
    answers.forEach((answer, i) => expect({ line: i + 1, answer }).toEqual({ line: i + 1, answer: expected[i] }));
  });
});
