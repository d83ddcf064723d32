import { describe, expect, it } from 'vitest';
import { DAY_MS, DEFAULT_PRICE_BOOK, RedriveTally, decideSend, reassessDeadLetter, type PriceBook } from '../../../shared/domain/index.js';

const ARRIVED = Date.parse('2026-01-10T12:00:00Z');
const WITHOUT_LLM: PriceBook = { ...DEFAULT_PRICE_BOOK, llm_token: undefined };
const record = (over: Record<string, unknown> = {}) =>
  JSON.stringify({
    id: 'r-1',
    account_id: 'acct-1',
    kind: 'llm_token',
    quantity: 1000,
    applies_to: 'llm',
    occurred_at: new Date(ARRIVED - 2 * DAY_MS).toISOString(),
    ...over,
  });
const dl = (payload: string, code = 'unpriced') => ({ code, subject: 'usage.acct-1', payload, arrivedAt: ARRIVED });
const ctx = { lateArrivalDays: 35, priceBook: DEFAULT_PRICE_BOOK };

describe('reassessDeadLetter', () => {
  it('an unpriced record passes once its kind has a price', () => {
    expect(reassessDeadLetter(dl(record()), { ...ctx, priceBook: WITHOUT_LLM })).toEqual({ ok: false, code: 'unpriced' });
    expect(reassessDeadLetter(dl(record()), ctx)).toMatchObject({ ok: true, record: { id: 'r-1', accountId: 'acct-1' } });
  });

  it('judges lateness from first arrival: 2 days late on arrival is accepted whenever the re-drive runs', () => {
    // The dead letter's own timestamp is all it sees: no clock read, so a re-drive 40 days on changes nothing.
    expect(reassessDeadLetter(dl(record()), ctx).ok).toBe(true);
    const late = record({ occurred_at: new Date(ARRIVED - 36 * DAY_MS).toISOString() });
    expect(reassessDeadLetter(dl(late, 'too_late'), ctx)).toEqual({ ok: false, code: 'too_late' });
    expect(reassessDeadLetter(dl(late, 'too_late'), { ...ctx, lateArrivalDays: 40 }).ok).toBe(true);
  });

  it('a record still wrong keeps its current code; malformed_json is never re-driven', () => {
    expect(reassessDeadLetter(dl(record({ applies_to: 'gpu' }), 'invalid_applies_to'), ctx)).toEqual({ ok: false, code: 'invalid_applies_to' });
    // Even bytes that would parse now stay dead under their code.
    expect(reassessDeadLetter(dl(record(), 'malformed_json'), ctx)).toEqual({ ok: false, code: 'malformed_json' });
    expect(reassessDeadLetter(dl('{"id":', 'malformed_json'), ctx)).toEqual({ ok: false, code: 'malformed_json' });
  });
});

describe('decideSend', () => {
  it('sends a record no run has settled and no committed job carried', () => {
    expect(decideSend({ done: false, jobs: [] }, new Set())).toBe('send');
    // An earlier job not committed (a crash before it ran, or still queued): sent again; the owner's dedup keeps it to one charge.
    expect(decideSend({ done: false, jobs: ['rd-a-0-0'] }, new Set())).toBe('send');
  });

  it('never sends a record a run settled, or one a committed job carried (even past the dedup horizon)', () => {
    expect(decideSend({ done: true, jobs: [] }, new Set())).toBe('settled');
    expect(decideSend({ done: false, jobs: ['rd-a-0-0', 'rd-b-1-0'] }, new Set(['rd-b-1-0']))).toBe('settled');
  });
});

describe('RedriveTally', () => {
  it('counts the report of issue 20', () => {
    const t = new RedriveTally('rd-1', false);
    t.selected(4);
    t.charged(1500n, 2);
    t.duplicate();
    t.dead('invalid_applies_to');
    expect(t.report).toEqual({
      run_id: 'rd-1',
      dry_run: false,
      selected: 4,
      charged: 2,
      charged_micros: 1500n,
      duplicates: 1,
      still_dead: { invalid_applies_to: 1 },
    });
  });
});
