import { toJsonMicros } from './money.js';
import { DAY_MS } from './time.js';
import type { Category, Kind } from './types.js';

/*
 * Usage rollups (SPEC 13 "Usage", docs/decisions/010-usage-rollups.md): what an account was
 * charged, cut by the hour of occurred_at, kind and applies_to. The owner derives them from
 * the records a usage entry charged and folds them with the entry's deltas, so the rows of
 * an account always sum to the usage charges of its ledger. Pure: text codecs and folds.
 */

export const HOUR_MS = 3_600_000;

/** One rollup bucket: the charged records of one window, kind and applies_to. */
export interface UsageBucket {
  /** Window start (epoch ms, UTC): an hour, or a whole day once older hours are folded. */
  start: number;
  day: boolean;
  kind: Kind;
  appliesTo: Category;
  records: number;
  /** Quantity in 1e-6 units, as UsageRecord.quantity. */
  quantity: bigint;
  /** Micros charged, >= 0. */
  charged: bigint;
}

const keyOf = (b: Pick<UsageBucket, 'start' | 'day' | 'kind' | 'appliesTo'>): string =>
  `${b.day ? 'd' : 'h'}${b.day ? b.start / DAY_MS : b.start / HOUR_MS} ${b.kind} ${b.appliesTo}`;

const lineOf = (b: UsageBucket): string => `${keyOf(b)} ${b.records} ${b.quantity} ${b.charged}`;

/** A bucket from `lineOf`'s text, split on spaces (`parts[offset]` is the window). */
function bucketOf(parts: string[], offset: number): UsageBucket {
  const window = parts[offset]!;
  const day = window.charCodeAt(0) === 100; // 'd'
  return {
    start: Number(window.slice(1)) * (day ? DAY_MS : HOUR_MS),
    day,
    kind: parts[offset + 1] as Kind,
    appliesTo: parts[offset + 2] as Category,
    records: Number(parts[offset + 3]),
    quantity: BigInt(parts[offset + 4]!),
    charged: BigInt(parts[offset + 5]!),
  };
}

/** Adds `b` into the bucket of the same key in `into` (a copy when new). */
function addBucket(into: Map<string, UsageBucket>, b: UsageBucket): void {
  const key = keyOf(b);
  const held = into.get(key);
  if (held === undefined) into.set(key, { ...b });
  else {
    held.records += b.records;
    held.quantity += b.quantity;
    held.charged += b.charged;
  }
}

/** Accumulates the charged records of one account, by hour, kind and applies_to (planUsage, one per account). */
export class UsageTally {
  private readonly buckets = new Map<string, UsageBucket>();

  add(occurredAt: number, kind: Kind, appliesTo: Category, quantity: bigint, charged: bigint): void {
    addBucket(this.buckets, { start: occurredAt - (occurredAt % HOUR_MS), day: false, kind, appliesTo, records: 1, quantity, charged });
  }

  get values(): UsageBucket[] {
    return [...this.buckets.values()];
  }
}

/**
 * A usage entry's buckets as stored (ShardLogDoc.usage): one line per account and bucket,
 * `<account> h<hour> <kind> <applies_to> <records> <quantity> <charged>`.
 */
export function packEntryUsage(byAccount: Iterable<[string, readonly UsageBucket[]]>): string {
  const lines: string[] = [];
  for (const [account, buckets] of byAccount) for (const b of buckets) lines.push(`${account} ${lineOf(b)}`);
  return lines.join('\n');
}

const parsedEntries = new WeakMap<object, Map<string, UsageBucket[]>>();

/** The buckets of a usage entry by account (parsed once per entry object); none in a fold entry or a fence. */
export function entryUsageOf(entry: { usage?: string }): Map<string, UsageBucket[]> {
  let parsed = parsedEntries.get(entry);
  if (parsed === undefined) {
    parsed = new Map();
    if (entry.usage) {
      for (const line of entry.usage.split('\n')) {
        const parts = line.split(' ');
        const list = parsed.get(parts[0]!);
        const bucket = bucketOf(parts, 1);
        if (list) list.push(bucket);
        else parsed.set(parts[0]!, [bucket]);
      }
    }
    parsedEntries.set(entry, parsed);
  }
  return parsed;
}

/** An account's buckets from their text (AccountDoc.usage, `foldUsage`; absent or '' = none). */
export function unpackUsage(text: string | undefined): UsageBucket[] {
  if (!text) return [];
  const buckets: UsageBucket[] = [];
  for (const line of text.split('\n')) if (line.charCodeAt(0) !== 102) buckets.push(bucketOf(line.split(' '), 0)); // not the 'f' header
  return buckets;
}

/** The header line of an account's rollups: the fold edge they were last folded at (a day index). */
const header = (foldBefore: number): string => `f${foldBefore / DAY_MS}`;

/** `b`, a day bucket if its hour starts before `foldBefore`. */
const folded = (b: UsageBucket, foldBefore: number): UsageBucket =>
  !b.day && b.start < foldBefore ? { ...b, start: b.start - (b.start % DAY_MS), day: true } : b;

/**
 * An account's rollups after folding `add` in: hours that start before `foldBefore` (a day
 * start) become day buckets, so the text stays bounded by days, not by hours, once usage is
 * older than the late-arrival horizon. The text starts with the edge it was folded at
 * (`f<day>`). While the edge stays where it was (the same day), new buckets are appended and
 * held ones updated in place: the cost is a search of the text per bucket, not a parse of
 * every bucket, which matters for an account charged in every batch with thousands of
 * buckets. When the edge moves (once a day per account), every bucket is read, old hours
 * folded, and the lines sorted. Either way the text is a function of the account's folds in
 * log order, so a rebuild from the log writes the text the live owner wrote.
 */
export function foldUsage(text: string | undefined, add: readonly UsageBucket[], foldBefore: number): string {
  const head = header(foldBefore);
  if (text !== undefined && (text === head || text.startsWith(`${head}\n`))) {
    if (add.length === 0) return text;
    // Two hours of one old day fold into one key: merged first, so each key is looked up once.
    const merged = new Map<string, UsageBucket>();
    for (const b of add) addBucket(merged, folded(b, foldBefore));
    const edits: { at: number; end: number; line: string }[] = [];
    const appended: string[] = [];
    for (const [key, b] of merged) {
      const at = text.indexOf(`\n${key} `);
      if (at < 0) {
        appended.push(`\n${lineOf(b)}`);
        continue;
      }
      const next = text.indexOf('\n', at + 1);
      const end = next < 0 ? text.length : next;
      const held = bucketOf(text.slice(at + 1, end).split(' '), 0);
      edits.push({
        at: at + 1,
        end,
        line: lineOf({ ...held, records: held.records + b.records, quantity: held.quantity + b.quantity, charged: held.charged + b.charged }),
      });
    }
    // One join: a new flat string (slices and concatenations would keep every earlier text alive).
    const pieces: string[] = [];
    let from = 0;
    for (const e of edits.sort((x, y) => x.at - y.at)) {
      pieces.push(text.slice(from, e.at), e.line);
      from = e.end;
    }
    pieces.push(text.slice(from), ...appended);
    return pieces.join('');
  }
  const buckets = new Map<string, UsageBucket>();
  for (const b of unpackUsage(text)) addBucket(buckets, folded(b, foldBefore));
  for (const b of add) addBucket(buckets, folded(b, foldBefore));
  const lines = [...buckets.values()]
    .sort((x, y) => x.start - y.start || Number(x.day) - Number(y.day) || cmp(x.kind, y.kind) || cmp(x.appliesTo, y.appliesTo))
    .map(lineOf);
  return [head, ...lines].join('\n');
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Where hours are folded into days as of `at`: the start of the day `lateArrivalDays` + 1 days before it. */
export function hourFoldBefore(at: number, lateArrivalDays: number): number {
  const edge = at - (lateArrivalDays + 1) * DAY_MS;
  return edge - (((edge % DAY_MS) + DAY_MS) % DAY_MS);
}

/** Hours of charges a shard keeps across its accounts for the operator's chart (48 h shown, one more for the hour under way). */
export const RECENT_HOURS = 49;

/** A shard's charges per hour and kind across all its accounts (the operator's chart, from the read model). */
export interface RecentHour {
  start: number;
  kind: Kind;
  charged: bigint;
}

/**
 * A shard's charges per hour and kind over its latest RECENT_HOURS, kept by the owner
 * beside the projections: what the operator's chart sums over shards without reading any
 * account. Hours count from the latest entry folded (`at`), so a rebuild from the
 * projections (`of`) holds what the live owner held.
 */
export class RecentUsage {
  private readonly hours = new Map<string, RecentHour>();
  private latest = 0;

  /**
   * From the projections' rollups, as of the latest change among them. Only accounts changed
   * within the kept hours (plus one, for records up to 5 minutes ahead) can hold a recent
   * hour: a bucket is written by an entry no earlier than its hour. The others are not parsed,
   * so a takeover pays for the recently active accounts only.
   */
  static of(docs: Iterable<{ usage?: string; updated_at: Date }>): RecentUsage {
    const recent = new RecentUsage();
    const active: { usage: string; at: number }[] = [];
    for (const doc of docs) if (doc.usage) active.push({ usage: doc.usage, at: doc.updated_at.getTime() });
    for (const doc of active) recent.latest = Math.max(recent.latest, doc.at);
    for (const doc of active) if (doc.at >= recent.since - HOUR_MS) recent.add(unpackUsage(doc.usage), recent.latest);
    return recent;
  }

  /** Folds an entry's buckets for one account; `at` is the entry's time. */
  add(buckets: readonly UsageBucket[], at: number): void {
    if (at > this.latest) {
      this.latest = at;
      for (const [key, hour] of this.hours) if (hour.start < this.since) this.hours.delete(key);
    }
    for (const b of buckets) {
      if (b.day || b.start < this.since) continue;
      const key = `${b.start} ${b.kind}`;
      const hour = this.hours.get(key);
      if (hour) hour.charged += b.charged;
      else this.hours.set(key, { start: b.start, kind: b.kind, charged: b.charged });
    }
  }

  private get since(): number {
    return this.latest - (this.latest % HOUR_MS) - (RECENT_HOURS - 1) * HOUR_MS;
  }

  /** As the read model stores it: `<hour> <kind> <charged>` per line. */
  pack(): string {
    return Array.from(this.hours.values(), (h) => `${h.start / HOUR_MS} ${h.kind} ${h.charged}`).join('\n');
  }
}

/** The hours of a packed RecentUsage. */
export function unpackRecent(text: string | null | undefined): RecentHour[] {
  if (!text) return [];
  return text.split('\n').map((line) => {
    const [hour, kind, charged] = line.split(' ');
    return { start: Number(hour) * HOUR_MS, kind: kind as Kind, charged: BigInt(charged!) };
  });
}

/** Hours the operator's chart shows, ending with the current one. */
const CHART_HOURS = 48;

/**
 * The operator's chart: every shard's recent hours summed per hour and kind, shaped as the
 * usage answer grouped by kind (SPEC 13) over the 48 hours ending with the current one.
 */
export function recentAnswer(hours: Iterable<RecentHour>, now: number) {
  const to = now - (now % HOUR_MS) + HOUR_MS;
  const from = to - CHART_HOURS * HOUR_MS;
  const sums = new Map<string, RecentHour>();
  for (const h of hours) {
    if (h.start < from || h.start >= to) continue;
    const key = `${h.start} ${h.kind}`;
    const held = sums.get(key);
    if (held) held.charged += h.charged;
    else sums.set(key, { ...h });
  }
  const rows = [...sums.values()].sort((x, y) => x.start - y.start || cmp(x.kind, y.kind));
  return {
    window: 'hour' as const,
    from: new Date(from).toISOString(),
    to: new Date(to).toISOString(),
    rows: rows.map((h) => ({ start: new Date(h.start).toISOString(), kind: h.kind, charged_micros: toJsonMicros(h.charged) })),
  };
}
