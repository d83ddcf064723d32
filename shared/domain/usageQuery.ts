import { TallyError } from './errors.js';
import { SCALE, toJsonMicros } from './money.js';
import { DAY_MS, parseRfc3339 } from './time.js';
import { HOUR_MS, unpackUsage, type UsageBucket } from './usage.js';

/*
 * The usage query of SPEC 13: `from`, `to`, `window`, `group_by` checked and defaulted,
 * then an account's buckets cut into rows. Pure: `now` comes in.
 */

export type UsageWindow = 'hour' | 'day';
export type UsageGroup = 'kind' | 'applies_to';

export interface UsageQuery {
  /** Window starts, epoch ms, `[from, to)`, each on a window boundary (the asked bounds, widened to whole windows). */
  from: number;
  to: number;
  window: UsageWindow;
  groupBy: UsageGroup | null;
}

/** Longest span a query may ask, by window. */
const MAX_SPAN_DAYS: Record<UsageWindow, number> = { day: 400, hour: 35 };
const DEFAULT_SPAN_MS = 30 * DAY_MS;
const UNIT: Record<UsageWindow, number> = { day: DAY_MS, hour: HOUR_MS };

const bad = (parameter: string, why: string): never => {
  throw new TallyError('invalid_query', `${parameter}: ${why}`);
};

function oneOf<T extends string>(parameter: string, value: unknown, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  return bad(parameter, `must be ${allowed.join(' or ')}`);
}

function instant(parameter: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const at = typeof value === 'string' ? parseRfc3339(value) : null;
  if (at === null) return bad(parameter, 'must be an RFC 3339 timestamp');
  return at;
}

/** The start of the window holding `at` (UTC); windows never split, so bounds widen to whole ones. */
const floorTo = (at: number, unit: number): number => at - (((at % unit) + unit) % unit);

/**
 * The earliest hour an hourly query may start at, as of `now`: hours older than the
 * late-arrival horizon (plus a day) are folded into days by the owner (hourFoldBefore), so
 * hourly rows are offered only where every hour is still kept (a day's margin for clocks).
 */
export function earliestHour(now: number, lateArrivalDays: number): number {
  const edge = now - lateArrivalDays * DAY_MS;
  return edge - (edge % DAY_MS);
}

/**
 * The query from raw parameters (strings from a URL or the CLI); refuses any it cannot
 * answer exactly with `invalid_query` naming the parameter. A bound inside a window widens
 * to it (`from` down to its window's start, `to` up to its window's end). Defaults: window
 * `day`, `to` the end of the current window, `from` 30 days before `to` (not before the
 * earliest hour kept).
 */
export function parseUsageQuery(raw: Record<string, unknown>, now: number, lateArrivalDays: number): UsageQuery {
  const window = oneOf<UsageWindow>('window', raw['window'], ['hour', 'day']) ?? 'day';
  const groupBy = oneOf<UsageGroup>('group_by', raw['group_by'], ['kind', 'applies_to']) ?? null;
  const unit = UNIT[window];
  const earliest = window === 'hour' ? earliestHour(now, lateArrivalDays) : -Infinity;
  const rawTo = instant('to', raw['to']);
  const rawFrom = instant('from', raw['from']);
  if (rawFrom !== undefined && rawTo !== undefined && rawFrom > rawTo) bad('from', 'must not be after to');
  // A bound inside a window widens to the whole window (rows are whole windows: the buckets
  // cannot split one); the answer's from/to say the span it covers.
  const to = rawTo === undefined ? floorTo(now, unit) + unit : rawTo === floorTo(rawTo, unit) ? rawTo : floorTo(rawTo, unit) + unit;
  const from = rawFrom === undefined ? Math.max(to - DEFAULT_SPAN_MS, earliest) : floorTo(rawFrom, unit);
  if (from > to) bad('from', 'must not be after to');
  if ((rawTo ?? to) - (rawFrom ?? from) > MAX_SPAN_DAYS[window] * DAY_MS)
    bad('from', `the span from..to must be at most ${MAX_SPAN_DAYS[window]} days for window=${window}`);
  if (from < earliest) bad('from', `hourly usage is kept from ${new Date(earliest).toISOString()}; ask window=day for older usage`);
  return { from, to, window, groupBy };
}

/** One row of the answer, before it is written as JSON (usageRowView). */
export interface UsageRow {
  start: number;
  /** The kind or applies_to of the row; null without group_by. */
  group: string | null;
  records: number;
  quantity: bigint;
  charged: bigint;
}

/**
 * The rows of a query over an account's buckets: one per non-empty window (and group), in
 * window order. Day buckets (folded hours) only ever fall in day windows: an hourly query
 * cannot reach back to them (parseUsageQuery).
 */
export function usageRows(buckets: Iterable<UsageBucket>, q: UsageQuery): UsageRow[] {
  const unit = UNIT[q.window];
  const rows = new Map<string, UsageRow>();
  for (const b of buckets) {
    if (b.day && q.window === 'hour') continue;
    const start = b.start - (b.start % unit);
    if (start < q.from || start >= q.to) continue;
    const group = q.groupBy === null ? null : q.groupBy === 'kind' ? b.kind : b.appliesTo;
    const key = `${start} ${group}`;
    const row = rows.get(key);
    if (row) {
      row.records += b.records;
      row.quantity += b.quantity;
      row.charged += b.charged;
    } else rows.set(key, { start, group, records: b.records, quantity: b.quantity, charged: b.charged });
  }
  return [...rows.values()].sort((x, y) => x.start - y.start || ((x.group ?? '') < (y.group ?? '') ? -1 : 1));
}

/** A quantity in 1e-6 units as its exact decimal text: `1500000` -> "1.5", `0` -> "0". */
export function formatQuantity(q: bigint): string {
  const whole = q / SCALE;
  const frac = (q % SCALE).toString().padStart(6, '0').replace(/0+$/, '');
  return frac === '' ? whole.toString() : `${whole}.${frac}`;
}

/** A row as the API and `tally usage` write it (SPEC 13). */
export function usageRowView(row: UsageRow, groupBy: UsageGroup | null) {
  return {
    start: new Date(row.start).toISOString(),
    ...(groupBy === null ? {} : { [groupBy]: row.group }),
    records: row.records,
    quantity: formatQuantity(row.quantity),
    charged_micros: toJsonMicros(row.charged),
  };
}

/** The answer of SPEC 13 for one account: the query as understood, and the rows of its rollups (AccountDoc.usage). */
export function usageAnswer(accountId: string, usage: string | undefined, q: UsageQuery) {
  return {
    account_id: accountId,
    window: q.window,
    from: new Date(q.from).toISOString(),
    to: new Date(q.to).toISOString(),
    rows: usageRows(unpackUsage(usage), q).map((row) => usageRowView(row, q.groupBy)),
  };
}
