import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DAY_MS,
  HOUR_MS,
  RecentUsage,
  TallyError,
  entryUsageOf,
  foldUsage,
  formatQuantity,
  hourFoldBefore,
  packEntryUsage,
  parseUsageQuery,
  unpackRecent,
  unpackUsage,
  usageRows,
  usageRowView,
  type UsageBucket,
} from '../../../shared/domain/index.js';

const T = Date.parse('2026-03-01T00:00:00Z');
const bucket = (over: Partial<UsageBucket> = {}): UsageBucket => ({
  start: T,
  day: false,
  kind: 'llm_token',
  appliesTo: 'llm',
  records: 1,
  quantity: 1_500_000n,
  charged: 225n,
  ...over,
});

const arbBucket = fc.record({
  start: fc.integer({ min: 0, max: 24 * 400 }).map((h) => T - h * HOUR_MS),
  day: fc.constant(false),
  kind: fc.constantFrom('vm_hour', 'llm_token', 'hero_os_hour', 'other' as const),
  appliesTo: fc.constantFrom('hero_os_hourly', 'llm', 'vm' as const),
  records: fc.integer({ min: 1, max: 1000 }),
  quantity: fc.bigInt({ min: 0n, max: 2n ** 63n - 1n }),
  charged: fc.bigInt({ min: 0n, max: 2n ** 63n - 1n }),
});

/** The refusal's parameter, as the message names it first. */
function refusal(raw: Record<string, unknown>, now = T): string {
  try {
    parseUsageQuery(raw, now, 35);
  } catch (err) {
    expect(err).toBeInstanceOf(TallyError);
    expect((err as TallyError).code).toBe('invalid_query');
    expect((err as TallyError).status).toBe(400);
    return (err as TallyError).message.split(':')[0]!;
  }
  throw new Error('accepted');
}

describe('usage rollups: codecs and folds', () => {
  it("an entry's buckets read back by account, exactly (quantities and charges up to Int64 and beyond)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/), fc.array(arbBucket, { minLength: 1, maxLength: 5 })), { maxLength: 6 }),
        (groups) => {
          const unique = new Map(groups);
          const parsed = entryUsageOf({ usage: packEntryUsage(unique) });
          expect(parsed).toEqual(unique);
        },
      ),
    );
    expect(entryUsageOf({ usage: '' }).size).toBe(0);
    expect(entryUsageOf({}).size).toBe(0);
  });

  it('folding keeps every record, quantity and micro, whatever the order and the edges, in one bucket per key', () => {
    const sorted = (text: string) =>
      unpackUsage(text).sort((x, y) => x.start - y.start || Number(x.day) - Number(y.day) || (x.kind + x.appliesTo < y.kind + y.appliesTo ? -1 : 1));
    fc.assert(
      fc.property(fc.array(arbBucket, { maxLength: 40 }), fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 500 }), (buckets, cut, ago) => {
        const edge = hourFoldBefore(T - ago * HOUR_MS, 35);
        const once = foldUsage(undefined, buckets, edge);
        // Half at an earlier edge (a day before), the rest one bucket at a time at this one: the incremental path.
        let twice = foldUsage(undefined, buckets.slice(0, cut), edge - DAY_MS);
        for (const b of buckets.slice(cut)) twice = foldUsage(twice, [b], edge);
        if (cut >= buckets.length) twice = foldUsage(twice, [], edge);
        expect(sorted(twice)).toEqual(sorted(once));
        const folded = unpackUsage(once);
        const total = (bs: UsageBucket[], f: (b: UsageBucket) => bigint) => bs.reduce((n, b) => n + f(b), 0n);
        expect(total(folded, (b) => b.charged)).toBe(total(buckets, (b) => b.charged));
        expect(total(folded, (b) => b.quantity)).toBe(total(buckets, (b) => b.quantity));
        expect(total(folded, (b) => BigInt(b.records))).toBe(total(buckets, (b) => BigInt(b.records)));
        for (const b of folded) expect(b.day).toBe(b.start < edge);
      }),
    );
  });

  it('folds the hours of days older than the late-arrival horizon plus a day into day buckets (UTC)', () => {
    const at = Date.parse('2026-03-10T05:00:00Z');
    expect(new Date(hourFoldBefore(at, 35)).toISOString()).toBe('2026-02-02T00:00:00.000Z');
    const old = Date.parse('2026-02-01T23:00:00Z');
    const kept = Date.parse('2026-02-02T00:00:00Z');
    const text = foldUsage(undefined, [bucket({ start: old }), bucket({ start: old - HOUR_MS }), bucket({ start: kept })], hourFoldBefore(at, 35));
    expect(unpackUsage(text)).toEqual([
      bucket({ start: Date.parse('2026-02-01T00:00:00Z'), day: true, records: 2, quantity: 3_000_000n, charged: 450n }),
      bucket({ start: kept }),
    ]);
  });

  it('updates a held bucket in place and appends a new one while the edge stays, and sorts when it moves', () => {
    const edge = Date.parse('2026-02-01T00:00:00Z');
    const first = foldUsage(undefined, [bucket({ start: T }), bucket({ start: T - HOUR_MS, kind: 'vm_hour' })], edge);
    expect(first.split('\n')).toEqual([
      `f${edge / DAY_MS}`,
      `h${(T - HOUR_MS) / HOUR_MS} vm_hour llm 1 1500000 225`,
      `h${T / HOUR_MS} llm_token llm 1 1500000 225`,
    ]);
    const second = foldUsage(first, [bucket({ start: T, charged: 5n }), bucket({ start: T - 2 * HOUR_MS })], edge);
    expect(second.split('\n').slice(1)).toEqual([
      `h${(T - HOUR_MS) / HOUR_MS} vm_hour llm 1 1500000 225`,
      `h${T / HOUR_MS} llm_token llm 2 3000000 230`,
      `h${(T - 2 * HOUR_MS) / HOUR_MS} llm_token llm 1 1500000 225`,
    ]);
    // The edge moves past every hour: each folded into its day (T starts a day; the others end the one before), sorted, under the new header.
    const later = T + 40 * DAY_MS;
    expect(foldUsage(second, [], later).split('\n')).toEqual([
      `f${later / DAY_MS}`,
      `d${T / DAY_MS - 1} llm_token llm 1 1500000 225`,
      `d${T / DAY_MS - 1} vm_hour llm 1 1500000 225`,
      `d${T / DAY_MS} llm_token llm 2 3000000 230`,
    ]);
  });

  it("keeps a shard's charges per hour and kind over its latest 49 hours", () => {
    const recent = new RecentUsage();
    recent.add([bucket({ start: T - 60 * HOUR_MS }), bucket({ start: T - 2 * HOUR_MS }), bucket({ start: T - 2 * HOUR_MS, appliesTo: 'vm' })], T);
    expect(unpackRecent(recent.pack())).toEqual([{ start: T - 2 * HOUR_MS, kind: 'llm_token', charged: 450n }]);
    recent.add([bucket({ start: T + 47 * HOUR_MS, kind: 'vm_hour' })], T + 47 * HOUR_MS);
    expect(unpackRecent(recent.pack()).map((h) => h.kind)).toEqual(['vm_hour']);
    const rebuilt = RecentUsage.of([{ usage: foldUsage(undefined, [bucket({ start: T - HOUR_MS })], 0), updated_at: new Date(T) }]);
    expect(unpackRecent(rebuilt.pack())).toEqual([{ start: T - HOUR_MS, kind: 'llm_token', charged: 225n }]);
  });
});

describe('usage query (SPEC 13)', () => {
  it('defaults to the last 30 days by day, ending with the current day', () => {
    const now = Date.parse('2026-03-01T13:20:00Z');
    expect(parseUsageQuery({}, now, 35)).toEqual({
      from: Date.parse('2026-01-31T00:00:00Z'),
      to: Date.parse('2026-03-02T00:00:00Z'),
      window: 'day',
      groupBy: null,
    });
    expect(parseUsageQuery({ window: 'hour', group_by: 'applies_to' }, now, 35)).toEqual({
      from: Date.parse('2026-01-30T14:00:00Z'),
      to: Date.parse('2026-03-01T14:00:00Z'),
      window: 'hour',
      groupBy: 'applies_to',
    });
  });

  it('widens a bound inside a window to the whole window, and says so in the query it answers', () => {
    const T = Date.parse('2026-02-10T12:00:00Z');
    const day = parseUsageQuery({ from: '2026-02-01T01:00:00Z', to: '2026-02-03T00:00:00.001Z' }, T, 35);
    expect([day.from, day.to]).toEqual([Date.parse('2026-02-01T00:00:00Z'), Date.parse('2026-02-04T00:00:00Z')]);
    const hour = parseUsageQuery({ window: 'hour', from: '2026-02-09T20:30:00+01:00', to: '2026-02-09T21:00:00Z' }, T, 35);
    expect([hour.from, hour.to]).toEqual([Date.parse('2026-02-09T19:00:00Z'), Date.parse('2026-02-09T21:00:00Z')]);
    // Both bounds in one window: that window.
    const one = parseUsageQuery({ window: 'hour', from: '2026-02-09T10:10:00Z', to: '2026-02-09T10:50:00Z' }, T, 35);
    expect([one.from, one.to]).toEqual([Date.parse('2026-02-09T10:00:00Z'), Date.parse('2026-02-09T11:00:00Z')]);
    expect(usageRows([bucket({ start: Date.parse('2026-02-09T10:00:00Z') }), bucket({ start: Date.parse('2026-02-09T11:00:00Z') })], one)).toHaveLength(1);
  });

  it('refuses what it cannot answer exactly with invalid_query naming the parameter', () => {
    expect(refusal({ window: 'week' })).toBe('window');
    expect(refusal({ window: ['day', 'hour'] })).toBe('window');
    expect(refusal({ group_by: 'tier' })).toBe('group_by');
    expect(refusal({ from: 'yesterday' })).toBe('from');
    expect(refusal({ to: '2026-02-30T00:00:00Z' })).toBe('to');
    expect(refusal({ from: '2026-02-02T00:00:00Z', to: '2026-02-01T00:00:00Z' })).toBe('from');
    expect(refusal({ from: '2025-01-01T00:00:00Z', to: '2026-02-06T00:00:00Z' })).toBe('from');
    expect(refusal({ window: 'hour', from: '2026-02-01T00:00:00Z', to: '2026-03-08T01:00:00Z' }, Date.parse('2026-03-02T00:00:00Z'))).toBe('from');
    // Hours older than the horizon are folded into days: an hourly query cannot reach them.
    expect(refusal({ window: 'hour', from: '2026-01-20T00:00:00Z', to: '2026-01-21T00:00:00Z' })).toBe('from');
  });

  it('accepts exactly 400 days by day and 35 by hour, offsets that land on a boundary, and from = to (no rows)', () => {
    expect(parseUsageQuery({ from: '2025-01-01T00:00:00Z', to: '2026-02-05T00:00:00Z' }, T, 35).to).toBe(Date.parse('2026-02-05T00:00:00Z'));
    expect(parseUsageQuery({ window: 'hour', from: '2026-01-26T00:00:00Z', to: '2026-03-02T00:00:00Z' }, T, 35).window).toBe('hour');
    expect(parseUsageQuery({ window: 'hour', from: '2026-02-10T02:00:00+02:00', to: '2026-02-10T00:00:00Z' }, T, 35).from).toBe(
      Date.parse('2026-02-10T00:00:00Z'),
    );
    expect(usageRows([bucket()], parseUsageQuery({ from: '2026-03-01T00:00:00Z', to: '2026-03-01T00:00:00Z' }, T, 35))).toEqual([]);
  });

  it('cuts buckets into windows [from, to) by UTC hour or day, grouped by nothing, kind or applies_to', () => {
    const day2 = Date.parse('2024-02-29T23:00:00Z');
    const buckets = [
      bucket({ start: Date.parse('2024-02-28T23:00:00Z') }),
      bucket({ start: day2 }),
      bucket({ start: day2, kind: 'vm_hour', appliesTo: 'vm', records: 2, quantity: 2_000_000n, charged: 10n }),
      bucket({ start: Date.parse('2024-03-01T00:00:00Z'), charged: 1n }),
      bucket({ start: Date.parse('2024-01-15T00:00:00Z'), day: true, records: 7, charged: 70n }),
    ];
    const q = (raw: Record<string, unknown>) => parseUsageQuery(raw, Date.parse('2024-03-02T00:00:00Z'), 35);
    const leapDay = usageRows(buckets, q({ from: '2024-02-29T00:00:00Z', to: '2024-03-01T00:00:00Z' }));
    expect(leapDay).toEqual([{ start: Date.parse('2024-02-29T00:00:00Z'), group: null, records: 3, quantity: 3_500_000n, charged: 235n }]);
    const byKind = usageRows(buckets, q({ from: '2024-01-01T00:00:00Z', to: '2024-03-02T00:00:00Z', group_by: 'kind' })).map((r) => usageRowView(r, 'kind'));
    expect(byKind).toEqual([
      { start: '2024-01-15T00:00:00.000Z', kind: 'llm_token', records: 7, quantity: '1.5', charged_micros: 70 },
      { start: '2024-02-28T00:00:00.000Z', kind: 'llm_token', records: 1, quantity: '1.5', charged_micros: 225 },
      { start: '2024-02-29T00:00:00.000Z', kind: 'llm_token', records: 1, quantity: '1.5', charged_micros: 225 },
      { start: '2024-02-29T00:00:00.000Z', kind: 'vm_hour', records: 2, quantity: '2', charged_micros: 10 },
      { start: '2024-03-01T00:00:00.000Z', kind: 'llm_token', records: 1, quantity: '1.5', charged_micros: 1 },
    ]);
    const hourly = usageRows(buckets, q({ window: 'hour', from: '2024-02-29T23:00:00Z', to: '2024-03-01T00:00:00Z', group_by: 'applies_to' }));
    expect(hourly.map((r) => [r.group, r.charged])).toEqual([
      ['llm', 225n],
      ['vm', 10n],
    ]);
  });

  it('writes quantities as exact decimals and charges beyond 2^53 as decimal strings', () => {
    expect(formatQuantity(0n)).toBe('0');
    expect(formatQuantity(1n)).toBe('0.000001');
    expect(formatQuantity(12_340_000n)).toBe('12.34');
    expect(formatQuantity(2n ** 64n)).toBe('18446744073709.551616');
    expect(usageRowView({ start: 0, group: null, records: 1, quantity: 0n, charged: 2n ** 60n }, null).charged_micros).toBe('1152921504606846976');
  });
});
