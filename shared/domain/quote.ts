/**
 * The pure core of `tally quote` (SPEC 13): one recorded-stream line in, one answer out,
 * the same rules the pipeline applies (validate, then drop repeats, then price). A repeat
 * is a record whose (account_id, id) came before (SPEC 3, recordKey): the same id on
 * another account is another record.
 */
import { TallyError, type DeadLetterCode } from './errors.js';
import { IdSet } from './idSet.js';
import { isObject } from './json.js';
import { toJsonMicros } from './money.js';
import { priceRecord } from './pricing.js';
import { recordKey, validateRecord } from './record.js';
import { parseRecordedLine } from './recorded.js';
import { parseRfc3339 } from './time.js';
import type { Ladder, PriceBook, Tier } from './types.js';

export type QuoteLine = { id: string; account_id: string; charge_micros: number | string; tier: Tier } | { duplicate: string } | { dead: DeadLetterCode };

export interface QuoterOptions {
  priceBook: PriceBook;
  ladder: Ladder;
  /** @defaultValue 35 (LATE_ARRIVAL_DAYS) */
  lateArrivalDays: number;
  /** first_paid_at by account id; an account not listed has never paid (tier none). */
  firstPaidAt?: ReadonlyMap<string, number>;
}

export type Assessment = Exclude<QuoteLine, { duplicate: string }>;

/**
 * Prices single lines without remembering anything: the part of quoting that any number
 * of threads can do side by side. Whether a charged line is a repeat is the caller's
 * question, asked in stream order (Quoter, or `tally quote`'s ordered merge), of an IdSet
 * of record keys. A dead record's key is never offered: it was not charged, and a later
 * valid record with that key is.
 */
export class QuotePricer {
  private readonly firstPaidAt: ReadonlyMap<string, number>;

  constructor(private readonly options: QuoterOptions) {
    this.firstPaidAt = options.firstPaidAt ?? new Map();
  }

  /**
   * `now` is the instant occurred_in_future and too_late are judged against; the CLI
   * passes the wall clock at start, once, so one run judges every line alike.
   */
  assess(line: string, now: number): Assessment {
    const message = parseRecordedLine(line);
    if (message === null) return { dead: 'malformed_json' };
    const { priceBook, ladder, lateArrivalDays } = this.options;
    const result = validateRecord(message, { now, lateArrivalDays, priceBook });
    if (!result.ok) return { dead: result.code };
    const { record } = result;
    const { chargeMicros, tier } = priceRecord(record, this.firstPaidAt.get(record.accountId) ?? null, priceBook, ladder);
    return { id: record.id, account_id: record.accountId, charge_micros: toJsonMicros(chargeMicros), tier };
  }
}

/** Quotes a stream line by line: QuotePricer's answer, then an IdSet of record keys in stream order. */
export class Quoter {
  private readonly pricer: QuotePricer;
  private readonly seen = new IdSet();

  constructor(options: QuoterOptions) {
    this.pricer = new QuotePricer(options);
  }

  /** See QuotePricer.assess for `now`. */
  quoteLine(line: string, now: number): QuoteLine {
    const answer = this.pricer.assess(line, now);
    if ('dead' in answer || this.seen.add(recordKey(answer.account_id, answer.id))) return answer;
    return { duplicate: answer.id };
  }
}

/**
 * The NDJSON text of an answer, equal to JSON.stringify(answer) but built directly, as
 * this runs once per line. No escaping is needed: ids, account ids, codes and tiers are
 * restricted to characters JSON never escapes.
 */
export function formatQuoteLine(answer: QuoteLine): string {
  if ('dead' in answer) return `{"dead":"${answer.dead}"}`;
  if ('duplicate' in answer) return `{"duplicate":"${answer.duplicate}"}`;
  const micros = typeof answer.charge_micros === 'number' ? answer.charge_micros : `"${answer.charge_micros}"`;
  return `{"id":"${answer.id}","account_id":"${answer.account_id}","charge_micros":${micros},"tier":"${answer.tier}"}`;
}

/**
 * One line of the --accounts file: `{"account_id", "first_paid_at"}` with first_paid_at
 * an RFC 3339 string, epoch milliseconds, or null. Other fields are ignored, so the
 * output of `tally accounts` can be passed as it is. Blank lines give null.
 */
export function parseAccountLine(line: string, lineNo: number): { accountId: string; firstPaidAt: number | null } | null {
  if (line.trim() === '') return null;
  const bad = (why: string): never => {
    throw new TallyError('invalid_request', `accounts line ${lineNo}: ${why}`);
  };
  let doc: unknown;
  try {
    doc = JSON.parse(line);
  } catch {
    return bad('is not JSON');
  }
  if (!isObject(doc) || typeof doc['account_id'] !== 'string') return bad('needs a string account_id');
  const at = doc['first_paid_at'];
  if (at === null || at === undefined) return { accountId: doc['account_id'], firstPaidAt: null };
  const firstPaidAt = typeof at === 'string' ? parseRfc3339(at) : typeof at === 'number' && Number.isSafeInteger(at) ? at : null;
  if (firstPaidAt === null) return bad('first_paid_at must be RFC 3339, epoch milliseconds or null');
  return { accountId: doc['account_id'], firstPaidAt };
}
