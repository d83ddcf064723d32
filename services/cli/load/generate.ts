/**
 * The pure core of `tally generate`: a deterministic synthetic usage stream in the recorded
 * format (SPEC 13). Same options, same bytes: the only randomness is a seeded PRNG and
 * the only clock is `now`. Lines come from a generator, so 10M of them never sit in
 * memory (only a ring of recent records, kept for producer-style retries).
 */
import { DAY_MS, DEAD_LETTER_CODES, type ValidationCode } from '../../../shared/domain/index.js';

export interface GenerateOptions {
  records: number;
  accounts: number;
  seed: number;
  /** The instant the stream ends; every occurred_at is relative to it. */
  now: number;
  /** Share of lines that break one SPEC 3 rule, cycling through every dead-letter code. @defaultValue 0 */
  badRate?: number;
  /** Share of lines that repeat a recent record byte for byte (a retrying producer). @defaultValue 0 */
  dupRate?: number;
  /** Late records occur up to this many days before they arrive; keep it below LATE_ARRIVAL_DAYS. @defaultValue 34 */
  days?: number;
  /** Nominal arrival times are spread evenly over this many seconds before `now`. @defaultValue 3600 */
  spanSeconds?: number;
  /** Record ids are `<prefix>-<line>`. @defaultValue `g<seed>` */
  idPrefix?: string;
}

/** One recorded-stream line's fields; `JSON.stringify` of it is the NDJSON line. */
export interface GeneratedLine {
  subject: string;
  payload: string;
}

/** Share of valid records that arrive late (occurred up to `days` earlier than they arrive). */
export const LATE_SHARE = 0.1;
/** Share of valid records sent as CloudEvents 1.0 structured JSON. */
export const CLOUDEVENT_SHARE = 0.03;
const RECENT_RING = 1024;

/** mulberry32: tiny, seedable, and plenty for spreading synthetic data. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A decimal text of `micros` x 1e-6 with trailing zeros cut: exact, no float formatting. */
export function decimalText(micros: number): string {
  const whole = Math.floor(micros / 1_000_000);
  const frac = String(micros % 1_000_000)
    .padStart(6, '0')
    .replace(/0+$/, '');
  return frac === '' ? String(whole) : `${whole}.${frac}`;
}

type Kind = 'llm_token' | 'vm_hour' | 'hero_os_hour' | 'other';
/** [kind, cumulative weight, the category its producer usually sends (null: absent)]. */
const KINDS: readonly [Kind, number, string | null][] = [
  ['llm_token', 0.45, 'llm'],
  ['vm_hour', 0.7, 'vm'],
  ['hero_os_hour', 0.92, null],
  ['other', 1, 'hero_os_hourly'],
];
const CATEGORIES: readonly (string | null)[] = [null, 'hero_os_hourly', 'llm', 'vm'];

export class StreamGenerator {
  private readonly rand: () => number;
  private readonly o: Required<GenerateOptions>;
  private readonly recent: GeneratedLine[] = [];
  private badCount = 0;

  constructor(options: GenerateOptions) {
    this.o = { badRate: 0, dupRate: 0, days: 34, spanSeconds: 3600, idPrefix: `g${options.seed}`, ...options };
    this.rand = mulberry32(this.o.seed);
  }

  *lines(): Generator<GeneratedLine> {
    for (let i = 0; i < this.o.records; i++) {
      const roll = this.rand();
      if (roll < this.o.badRate) {
        yield this.bad(i);
      } else if (roll < this.o.badRate + this.o.dupRate && this.recent.length > 0) {
        yield this.recent[this.int(this.recent.length)]!;
      } else {
        const line = this.valid(i);
        if (this.recent.length < RECENT_RING) this.recent.push(line);
        else this.recent[this.int(RECENT_RING)] = line;
        yield line;
      }
    }
  }

  private int(n: number): number {
    return Math.floor(this.rand() * n);
  }

  /** Skewed popularity: account index ~ A x u^3, so acct-0 is the heaviest and the tail is long. */
  private account(): string {
    return `acct-${Math.floor(this.o.accounts * this.rand() ** 3)}`;
  }

  /** When line `i` nominally arrives: evenly over the span, so `--speed` has gaps to follow. */
  private arrival(i: number): number {
    return this.o.now - Math.floor(((this.o.records - i) * this.o.spanSeconds * 1000) / this.o.records);
  }

  private valid(i: number): GeneratedLine {
    const account = this.account();
    const id = `${this.o.idPrefix}-${i}`;
    const late = this.rand() < LATE_SHARE;
    const occurredAt = this.arrival(i) - (late ? this.int(this.o.days * DAY_MS) : this.int(5000));
    const k = this.rand();
    const [kind, , usual] = KINDS.find(([, w]) => k < w) ?? KINDS[0]!;
    const category = this.rand() < 0.8 ? usual : CATEGORIES[this.int(CATEGORIES.length)]!;
    const fields = [`"kind":"${kind}"`, `"quantity":${this.quantity(kind)}`];
    if (category !== null) fields.push(`"applies_to":"${category}"`);
    if (kind === 'other' || this.rand() < 0.05) fields.push(`"cost_micros":${this.int(2_000_000)}`);
    if (this.rand() < 0.1) fields.push(`"meta":{"region":"eu-${this.int(4)}","host":"h${this.int(500)}"}`);
    const at = new Date(occurredAt).toISOString();
    if (this.rand() < CLOUDEVENT_SHARE) {
      const payload = `{"specversion":"1.0","type":"tally.usage","source":"tally-generate","id":"${id}","subject":"${account}","time":"${at}","data":{${fields.join(',')}}}`;
      return { subject: `usage.${account}`, payload };
    }
    return { subject: `usage.${account}`, payload: `{"id":"${id}","account_id":"${account}",${fields.join(',')},"occurred_at":"${at}"}` };
  }

  /** Quantities as decimal text with up to six places, in the sizes each unit comes in. */
  private quantity(kind: Kind): string {
    switch (kind) {
      case 'llm_token':
        return String(1 + Math.floor(20_000 * this.rand() ** 2));
      case 'vm_hour':
        return decimalText((1 + this.int(2400)) * 10_000);
      case 'hero_os_hour':
        return decimalText(this.int(10_000_000));
      case 'other':
        return decimalText(this.int(100) * 1_000_000);
    }
  }

  /** A record breaking exactly one rule; codes in turn, so any 14 bad lines cover them all. */
  private bad(i: number): GeneratedLine {
    const code = DEAD_LETTER_CODES[this.badCount++ % DEAD_LETTER_CODES.length]!;
    const account = this.account();
    return badLine(code, `${this.o.idPrefix}-${i}`, account, this.o.now);
  }
}

/** One line that the pipeline dead-letters with `code` (precedence of docs/decisions/002). */
export function badLine(code: ValidationCode, id: string, account: string, now: number): GeneratedLine {
  const base: Record<string, unknown> = {
    id,
    account_id: account,
    kind: 'llm_token',
    quantity: 1000,
    applies_to: 'llm',
    occurred_at: new Date(now - 60_000).toISOString(),
  };
  const line = (over: Record<string, unknown>, subject = `usage.${account}`): GeneratedLine => ({ subject, payload: JSON.stringify({ ...base, ...over }) });
  switch (code) {
    case 'malformed_json':
      return { subject: `usage.${account}`, payload: `{"id":"${id}","account_id":` };
    case 'too_large':
      return line({ meta: { pad: 'x'.repeat(8300) } });
    case 'invalid_id':
      return line({ id: `${id} with spaces` });
    case 'invalid_account':
      return line({ account_id: `${account}!` }, `usage.${account}!`);
    case 'subject_mismatch':
      return line({}, `usage.${account}-other`);
    case 'invalid_kind':
      return line({ kind: 'gpu_second' });
    case 'invalid_quantity':
      return line({ quantity: -1 });
    case 'invalid_applies_to':
      return line({ applies_to: 'storage' });
    case 'invalid_occurred_at':
      return line({ occurred_at: 'yesterday' });
    case 'occurred_in_future':
      return line({ occurred_at: new Date(now + 3_600_000).toISOString() });
    case 'too_late':
      return line({ occurred_at: new Date(now - 40 * DAY_MS).toISOString() });
    case 'invalid_cost':
      return line({ cost_micros: 1.5 });
    case 'invalid_meta':
      return line({ meta: 'not an object' });
    case 'unpriced':
      return line({ kind: 'other' });
  }
}

/** Accounts file for `tally quote --accounts`: even accounts paid 0..60 days before `now`, odd never. */
export function* firstPaidLines(accounts: number, seed: number, now: number): Generator<string> {
  const rand = mulberry32(seed ^ 0x9e3779b9);
  for (let a = 0; a < accounts; a += 2) {
    yield JSON.stringify({ account_id: `acct-${a}`, first_paid_at: new Date(now - Math.floor(rand() * 60 * DAY_MS)).toISOString() });
  }
}
