import { describe, expect, it } from 'vitest';
import { DEAD_LETTER_CODES, DEFAULT_LADDER, DEFAULT_PRICE_BOOK, Quoter, parseRecordedLine } from '../../../shared/domain/index.js';
import { StreamGenerator, decimalText, firstPaidLines, type GenerateOptions } from '../../../services/cli/load/generate.js';
import { recordKeys } from '../../../services/cli/load/recordKeys.js';

const NOW = Date.parse('2026-11-25T12:00:00Z');
const DAY = 86_400_000;
const text = (o: GenerateOptions): string[] => [...new StreamGenerator(o).lines()].map((l) => JSON.stringify(l));
const quote = (lines: string[]) => {
  const quoter = new Quoter({ priceBook: DEFAULT_PRICE_BOOK, ladder: DEFAULT_LADDER, lateArrivalDays: 35 });
  return lines.map((l) => quoter.quoteLine(l, NOW));
};

describe('tally generate: the synthetic stream', () => {
  it('is the same bytes for the same seed and options, different for another seed', () => {
    const o = { records: 2000, accounts: 50, seed: 7, now: NOW, badRate: 0.05, dupRate: 0.05 };
    expect(text(o)).toEqual(text(o));
    expect(text({ ...o, seed: 8 })).not.toEqual(text(o));
  });

  it('writes recorded-format lines whose payloads are valid records by default', () => {
    const lines = text({ records: 3000, accounts: 100, seed: 1, now: NOW });
    expect(lines).toHaveLength(3000);
    for (const l of lines) {
      const m = parseRecordedLine(l);
      expect(m).not.toBeNull();
      expect(Object.keys(JSON.parse(l) as object)).toEqual(['subject', 'payload']);
      expect(m!.subject).toMatch(/^usage\.acct-\d+$/);
    }
    const answers = quote(lines);
    expect(answers.filter((a) => !('charge_micros' in a))).toEqual([]);
  });

  it('produces every dead-letter code at a bad rate > 0, and repeats ids at a dup rate > 0', () => {
    const answers = quote(text({ records: 2000, accounts: 20, seed: 3, now: NOW, badRate: 0.1, dupRate: 0.1 }));
    const codes = new Set(answers.flatMap((a) => ('dead' in a ? [a.dead] : [])));
    expect([...codes].sort()).toEqual([...DEAD_LETTER_CODES].sort());
    const dups = answers.filter((a) => 'duplicate' in a).length;
    expect(dups).toBeGreaterThan(120);
    expect(dups).toBeLessThan(280);
  });

  it('covers every kind, every applies_to (absent too), CloudEvents, cost_micros, decimals and late records', () => {
    const payloads = [...new StreamGenerator({ records: 5000, accounts: 100, seed: 5, now: NOW }).lines()].map(
      (l) => JSON.parse(l.payload) as Record<string, unknown>,
    );
    const fields = payloads.map((p) => ('specversion' in p ? { ...(p['data'] as Record<string, unknown>), occurred_at: p['time'] } : p));
    expect(new Set(fields.map((f) => f['kind']))).toEqual(new Set(['llm_token', 'vm_hour', 'hero_os_hour', 'other']));
    expect(new Set(fields.map((f) => f['applies_to']))).toEqual(new Set([undefined, 'hero_os_hourly', 'llm', 'vm']));
    expect(payloads.some((p) => 'specversion' in p)).toBe(true);
    expect(fields.some((f) => typeof f['cost_micros'] === 'number' && f['kind'] !== 'other')).toBe(true);
    expect(fields.some((f) => !Number.isInteger(f['quantity']))).toBe(true);
    const ages = fields.map((f) => (NOW - Date.parse(f['occurred_at'] as string)) / DAY);
    // Late records reach into every tier band of the default ladder (<7, 7..30, >=30 days) and stay inside the horizon.
    expect(ages.some((a) => a > 1 && a < 7) && ages.some((a) => a >= 7 && a < 30) && ages.some((a) => a >= 30)).toBe(true);
    expect(Math.max(...ages)).toBeLessThan(35);
    expect(Math.min(...ages)).toBeGreaterThanOrEqual(0);
  });

  it('skews account popularity: the heaviest account gets far more than the average', () => {
    const counts = new Map<string, number>();
    for (const l of new StreamGenerator({ records: 20_000, accounts: 1000, seed: 2, now: NOW }).lines())
      counts.set(l.subject, (counts.get(l.subject) ?? 0) + 1);
    const sorted = [...counts.values()].sort((a, b) => b - a);
    expect(sorted[0]!).toBeGreaterThan(20 * (20_000 / 1000));
    expect(counts.size).toBeGreaterThan(900);
  });

  it('spreads arrivals over the span in order, so --speed has gaps to follow', () => {
    const times = [...new StreamGenerator({ records: 1000, accounts: 10, seed: 4, now: NOW, spanSeconds: 100 }).lines()].map(
      (l) => recordKeys(l.payload).occurredAt!,
    );
    expect(Math.max(...times)).toBeLessThanOrEqual(NOW);
    expect(Math.min(...times.filter((t) => NOW - t < 200_000))).toBeGreaterThanOrEqual(NOW - 105_000);
  });

  it('writes decimals exactly and an accounts file for quote', () => {
    expect(decimalText(0)).toBe('0');
    expect(decimalText(1_500_000)).toBe('1.5');
    expect(decimalText(123)).toBe('0.000123');
    expect(decimalText(24_000_000)).toBe('24');
    const rows = [...firstPaidLines(6, 1, NOW)].map((l) => JSON.parse(l) as { account_id: string; first_paid_at: string });
    expect(rows.map((r) => r.account_id)).toEqual(['acct-0', 'acct-2', 'acct-4']);
  });
});
