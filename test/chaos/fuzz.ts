/**
 * Bad inputs for the chaos run (issue 17): random bytes, truncations and mutations of valid
 * records (wrong types, huge numbers, unicode, deep nesting, wrong subjects, CloudEvents
 * variants). Every one kept is one the pipeline must dead-letter: a candidate is kept only
 * when the domain core's validator refuses it with the same code now and three hours from
 * now (no input near a time boundary), or when it is a valid charge to one of the
 * `FLOOR_ACCOUNTS`, which the run brings to the bottom of Int64 before the stream starts
 * (`floorRecords`), so the shard owner refuses it as `amount_out_of_range`. Seeded: same
 * seed, same inputs (up to the timestamps, which follow `now`).
 */
import { INT64_MAX, priceRecord, validateRecord, type Ladder, type PriceBook } from '../../shared/domain/index.js';
import { mulberry32 } from '../../services/cli/load/generate.js';

export interface FuzzInput {
  subject: string;
  payload: Uint8Array;
  /** What the candidate was made by (for the report). */
  family: string;
}

export interface FuzzOptions {
  seed: number;
  now: number;
  priceBook: PriceBook;
  ladder: Ladder;
  lateArrivalDays: number;
}

const HOUR_MS = 3_600_000;
const utf8 = new TextEncoder();
/** Accounts charged INT64_MAX before the stream: any further charge takes them out of Int64. */
export const FLOOR_ACCOUNTS = 10;
const floorAccount = (k: number): string => `floor-${k}`;

/** The records that bring the floor accounts down, published and settled before anything else. */
export function floorRecords(now: number): { subject: string; payload: string }[] {
  return Array.from({ length: FLOOR_ACCOUNTS }, (_, k) => ({
    subject: `usage.${floorAccount(k)}`,
    payload: JSON.stringify({
      id: `floor-${k}`,
      account_id: floorAccount(k),
      kind: 'other',
      quantity: 1,
      cost_micros: String(INT64_MAX),
      occurred_at: new Date(now).toISOString(),
    }),
  }));
}

type Rand = () => number;

const WEIRD_VALUES: readonly unknown[] = [
  null,
  true,
  false,
  0,
  -1,
  1.5,
  1e308,
  -1e308,
  2 ** 53 + 1,
  '',
  ' ',
  'x'.repeat(300),
  [],
  [1, 2],
  {},
  { a: 1 },
  'ñandú',
  '账户',
  '🙂🙃',
  '\u0000',
  '\ud800',
  'a\u200bb',
  'Ω≈ç√',
  '１２３',
  '\u202eevil',
  '9'.repeat(400),
  '1e400',
  '-0',
  '0x10',
  'NaN',
  'Infinity',
];
const FIELDS = ['id', 'account_id', 'kind', 'quantity', 'applies_to', 'occurred_at', 'cost_micros', 'meta'] as const;

function nested(depth: number, open: string, close: string, inner = '1'): string {
  return open.repeat(depth) + inner + close.repeat(depth);
}

/** One candidate, before the check that it is bad. */
function candidate(rand: Rand, n: number, now: number): FuzzInput {
  const int = (k: number): number => Math.floor(rand() * k);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const account = `fz-${n}`;
  const base: Record<string, unknown> = {
    id: `fz-${n}`,
    account_id: account,
    kind: 'llm_token',
    quantity: 1 + int(5000),
    applies_to: 'llm',
    occurred_at: new Date(now - int(3_600_000)).toISOString(),
  };
  const text = (doc: unknown, subject: string | undefined, family: string): FuzzInput => ({
    subject: subject ?? `usage.${account}`,
    payload: utf8.encode(JSON.stringify(doc)),
    family,
  });
  switch (int(9)) {
    case 0: {
      const bytes = new Uint8Array(int(600));
      for (let i = 0; i < bytes.length; i++) bytes[i] = int(256);
      return { subject: `usage.${account}`, payload: bytes, family: 'random_bytes' };
    }
    case 1: {
      const full = JSON.stringify(base);
      return { subject: `usage.${account}`, payload: utf8.encode(full.slice(0, int(full.length))), family: 'truncation' };
    }
    case 2:
      return text({ ...base, [pick(FIELDS)]: pick(WEIRD_VALUES) }, undefined, 'wrong_type');
    case 3: {
      if (rand() < 0.3) {
        const acct = floorAccount(int(FLOOR_ACCOUNTS));
        return text(
          {
            ...base,
            account_id: acct,
            ...pick<Record<string, unknown>>([{ cost_micros: 1 + int(1e9) }, { quantity: 1 + int(1e6) }, { kind: 'vm_hour', applies_to: 'vm', quantity: 1 }]),
          },
          `usage.${acct}`,
          'out_of_range',
        );
      }
      const huge = pick([
        { quantity: Number(`1e${16 + int(300)}`) },
        { quantity: '1'.repeat(30) },
        { cost_micros: `${INT64_MAX + 1n + BigInt(int(1000))}` },
        { cost_micros: Number(`1e${19 + int(50)}`) },
        { kind: 'hero_os_hour', applies_to: 'hero_os_hourly', quantity: 10 ** (12 + int(10)) },
        { kind: 'vm_hour', applies_to: 'vm', quantity: 10 ** (14 + int(8)) },
        { quantity: 1e6 * (1 + int(9)) + 0.0000001 },
      ]);
      return text({ ...base, ...huge }, undefined, 'huge_number');
    }
    case 4: {
      const u = pick(['é', '账户', '🙂', 'Ω', 'ß', '\u0301', 'ｉｄ']);
      return text(
        { ...base, [pick(['id', 'account_id', 'kind', 'applies_to', 'occurred_at'])]: `${pick(['x', 'fz', ''])}${u}${n}` },
        pick([`usage.${account}`, `usage.${account}${u}`]),
        'unicode',
      );
    }
    case 5: {
      const depth = 20 + int(6000);
      return pick([
        { subject: `usage.${account}`, payload: utf8.encode(nested(depth, '[', ']')), family: 'deep_nesting' },
        {
          subject: `usage.${account}`,
          payload: utf8.encode(
            `{"id":"fz-${n}","account_id":"${account}","kind":"llm_token","quantity":1,"occurred_at":"${new Date(now).toISOString()}","meta":${nested(depth, '{"a":', '}')}}`,
          ),
          family: 'deep_nesting',
        },
        text({ ...base, meta: JSON.parse(nested(Math.min(depth, 500), '[', ']')) as unknown }, undefined, 'deep_nesting'),
      ]);
    }
    case 6:
      return text(base, pick([`usage.fz-${n + 1}`, `usage.${account}.x`, `usage.other.fz-x${n}`, `usage.${account}_`]), 'wrong_subject');
    case 7: {
      const { id, account_id: acct, occurred_at: time, ...data } = base;
      const envelope: Record<string, unknown> = { specversion: '1.0', type: 'tally.usage', source: 'chaos', id, subject: acct, time, data };
      const variant = pick<Record<string, unknown>>([
        { specversion: '0.3' },
        { specversion: 1 },
        { data: 'not an object' },
        { data: [data] },
        { datacontenttype: 'text/plain' },
        { datacontenttype: 7 },
        { id: undefined },
        { id: `${id} x` },
        { subject: `fz-other-${n}` },
        { subject: undefined },
        { time: 'soon' },
        { time: new Date(now + 7 * HOUR_MS).toISOString() },
        { time: undefined },
        { data: { ...data, kind: 'gpu' } },
        { data: { ...data, cost_micros: -1 } },
      ]);
      return text({ ...envelope, ...variant }, undefined, 'cloudevents');
    }
    default: {
      const day = 86_400_000;
      const rule = pick<Record<string, unknown>>([
        { occurred_at: new Date(now + 2 * HOUR_MS + int(1000) * day).toISOString() },
        { occurred_at: new Date(now - (40 + int(1000)) * day).toISOString() },
        { occurred_at: '2026-13-01T00:00:00Z' },
        { occurred_at: '2026-01-01T00:00:00' },
        { quantity: -int(100) - 1 },
        { quantity: 0.1234567 },
        { kind: 'other' },
        { meta: 'x' },
        { meta: { pad: 'y'.repeat(2100 + int(100)) } },
        { pad: 'z'.repeat(8200 + int(3000)) },
        { applies_to: 'storage' },
      ]);
      return text({ ...base, ...rule }, undefined, 'rule');
    }
  }
}

/** What the pipeline must answer for `input` once the floor accounts are down: a dead-letter code, or null when it would be charged (not a bad input). */
export function expectedDeadLetter(input: Pick<FuzzInput, 'subject' | 'payload'>, now: number, o: Omit<FuzzOptions, 'seed' | 'now'>): string | null {
  const v = validateRecord(input, { now, lateArrivalDays: o.lateArrivalDays, priceBook: o.priceBook });
  if (!v.ok) return v.code;
  return v.record.accountId.startsWith('floor-') && priceRecord(v.record, null, o.priceBook, o.ladder).chargeMicros > 0n ? 'amount_out_of_range' : null;
}

/** `count` bad inputs, each dead-lettered with the same code whenever it is sent within three hours of `now`. */
export function* fuzzInputs(count: number, o: FuzzOptions): Generator<FuzzInput & { code: string }> {
  const rand = mulberry32(o.seed ^ 0x5bd1e995);
  for (let n = 0, kept = 0; kept < count; n++) {
    const c = candidate(rand, n, o.now);
    const code = expectedDeadLetter(c, o.now, o);
    if (code === null || expectedDeadLetter(c, o.now + 3 * HOUR_MS, o) !== code) continue;
    kept++;
    yield { ...c, code };
  }
}
