import { describe, expect, it } from 'vitest';
import { DEFAULT_LADDER, DEFAULT_PRICE_BOOK, parseAccountLine, Quoter, TallyError } from '../../../shared/domain/index.js';
import { DAY, NOW, line, v1 } from './helpers.js';

const quoter = (firstPaidAt = new Map<string, number>()) =>
  new Quoter({ priceBook: DEFAULT_PRICE_BOOK, ladder: DEFAULT_LADDER, lateArrivalDays: 35, firstPaidAt });

describe('Quoter.quoteLine: the SPEC 13 answer shapes', () => {
  it('charges a valid record with its tier', () => {
    const q = quoter(new Map([['acct-1', NOW - 10 * DAY]]));
    expect(q.quoteLine(line(v1()), NOW)).toEqual({ id: 'rec-1', account_id: 'acct-1', charge_micros: 75, tier: 'week' });
  });

  it('answers a repeated id as a duplicate, even with other content', () => {
    const q = quoter();
    q.quoteLine(line(v1()), NOW);
    expect(q.quoteLine(line(v1({ quantity: 5 })), NOW)).toEqual({ duplicate: 'rec-1' });
  });

  it('keys repeats by (account_id, id): the same id on two accounts is two records (issue 16)', () => {
    const q = quoter();
    const other = (id: string) => line(v1({ id, account_id: 'acct-2' }), 'usage.acct-2');
    expect(q.quoteLine(line(v1()), NOW)).toMatchObject({ id: 'rec-1', account_id: 'acct-1', charge_micros: 150 });
    expect(q.quoteLine(other('rec-1'), NOW)).toMatchObject({ id: 'rec-1', account_id: 'acct-2', charge_micros: 150 });
    expect(q.quoteLine(other('rec-1'), NOW)).toEqual({ duplicate: 'rec-1' });
    expect(q.quoteLine(line(v1()), NOW)).toEqual({ duplicate: 'rec-1' });
  });

  it('charges a record whose id spells a ledger key: quote knows no ledger', () => {
    const q = quoter();
    expect(q.quoteLine(line(v1({ id: 'payment:pay-x' })), NOW)).toMatchObject({ id: 'payment:pay-x', charge_micros: 150 });
    expect(q.quoteLine(line(v1({ id: 'plan:acct-1:1' })), NOW)).toMatchObject({ id: 'plan:acct-1:1', charge_micros: 150 });
  });

  it('checks the rules before the id: a broken repeat is dead, not a duplicate', () => {
    const q = quoter();
    q.quoteLine(line(v1()), NOW);
    expect(q.quoteLine(line(v1({ quantity: -1 })), NOW)).toEqual({ dead: 'invalid_quantity' });
  });

  it('does not remember a dead record, so a later valid one with its id is charged', () => {
    const q = quoter();
    expect(q.quoteLine(line(v1({ kind: 'other' })), NOW)).toEqual({ dead: 'unpriced' });
    expect(q.quoteLine(line(v1()), NOW)).toMatchObject({ id: 'rec-1', charge_micros: 150 });
  });

  it('writes charges beyond 2^53 as decimal strings', () => {
    const q = quoter();
    const answer = q.quoteLine(line(v1({ cost_micros: '9007199254740993', applies_to: 'vm' })), NOW);
    expect(answer).toMatchObject({ charge_micros: '9007199254740993' });
  });

  it.each([
    ['not JSON', 'nope'],
    ['blank', ''],
    ['a JSON array', '[]'],
    ['no subject', JSON.stringify({ payload: '{}' })],
    ['an empty subject (replay skips it too: one parser)', JSON.stringify({ subject: '', payload: v1() })],
    ['a payload that is an object, not a string', JSON.stringify({ subject: 'usage.acct-1', payload: v1() })],
  ])('answers a line that is %s as malformed_json', (_why, text) => {
    expect(quoter().quoteLine(text, NOW)).toEqual({ dead: 'malformed_json' });
  });

  it('passes the record rules through as dead codes', () => {
    expect(quoter().quoteLine(line(v1(), 'usage.acct-2'), NOW)).toEqual({ dead: 'subject_mismatch' });
  });

  it('ignores headers and other fields of a stream line', () => {
    const text = JSON.stringify({ subject: 'usage.acct-1', payload: JSON.stringify(v1()), headers: { 'Nats-Msg-Id': 'x' }, seq: 3 });
    expect(quoter().quoteLine(text, NOW)).toMatchObject({ id: 'rec-1' });
  });

  it('judges future and late records against the now it is given', () => {
    const q = quoter();
    expect(q.quoteLine(line(v1({ id: 'a' })), NOW - 2 * DAY)).toEqual({ dead: 'occurred_in_future' });
    expect(q.quoteLine(line(v1({ id: 'b' })), NOW + 40 * DAY)).toEqual({ dead: 'too_late' });
  });
});

describe('parseAccountLine (--accounts FILE)', () => {
  it.each([
    ['{"account_id":"a","first_paid_at":"2025-01-01T00:00:00Z"}', { accountId: 'a', firstPaidAt: Date.UTC(2025, 0, 1) }],
    ['{"account_id":"a","first_paid_at":1735689600000}', { accountId: 'a', firstPaidAt: 1_735_689_600_000 }],
    ['{"account_id":"a","first_paid_at":null}', { accountId: 'a', firstPaidAt: null }],
    ['{"account_id":"a"}', { accountId: 'a', firstPaidAt: null }],
    ['{"account_id":"a","first_paid_at":null,"balance_micros":5,"discount_tier":"none"}', { accountId: 'a', firstPaidAt: null }],
    ['   ', null],
  ])('%s', (text, want) => {
    expect(parseAccountLine(text, 1)).toEqual(want);
  });

  it.each([
    ['nope', /accounts line 7: is not JSON/],
    ['{"first_paid_at":null}', /accounts line 7: needs a string account_id/],
    ['{"account_id":"a","first_paid_at":"yesterday"}', /accounts line 7: first_paid_at/],
    ['{"account_id":"a","first_paid_at":1.5}', /accounts line 7: first_paid_at/],
  ])('refuses %s with the line number', (text, message) => {
    expect(() => parseAccountLine(text, 7)).toThrow(TallyError);
    expect(() => parseAccountLine(text, 7)).toThrow(message);
  });
});
