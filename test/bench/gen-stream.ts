/**
 * Deterministic recorded-stream generator for the quote benchmark and load tests.
 *
 *   npx tsx test/bench/gen-stream.ts [--lines N] [--seed S] [--end RFC3339] [--accounts FILE]
 *
 * Writes N recorded-stream lines (SPEC 13) to stdout: mostly valid v1 records of every
 * kind and category, some CloudEvents, ~2% repeated ids and ~2% broken records. Events
 * fall in the 20 days before --end (default: the start of today, UTC), so a quote run
 * the same day sees them as on time. --accounts writes first_paid_at for the accounts.
 * Same arguments, same bytes.
 */
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const DAY_MS = 86_400_000;
const { values } = parseArgs({
  options: {
    lines: { type: 'string', default: '1000000' },
    seed: { type: 'string', default: '42' },
    end: { type: 'string' },
    accounts: { type: 'string' },
  },
});

const lines = Number(values.lines);
const end = values.end === undefined ? Math.floor(Date.now() / DAY_MS) * DAY_MS : Date.parse(values.end);
const ACCOUNTS = 1000;

// mulberry32: tiny, seedable, good enough to spread test data.
let state = Number(values.seed) >>> 0;
function rand(): number {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
const int = (n: number): number => Math.floor(rand() * n);

/** A quantity with up to 6 decimals, written as its decimal text so no float is involved. */
function quantity(): string {
  const whole = int(1000);
  const places = int(7);
  return places === 0 ? String(whole) : `${whole}.${String(int(10 ** places)).padStart(places, '0')}`;
}

const KINDS = [
  ['llm_token', 'llm'],
  ['vm_hour', 'vm'],
  ['hero_os_hour', null],
  ['hero_os_hour', 'hero_os_hourly'],
] as const;

function record(i: number): { account: string; id: string; payload: string } {
  const account = `acct-${int(ACCOUNTS)}`;
  const id = `rec-${i}`;
  const occurredAt = new Date(end - int(20 * DAY_MS)).toISOString();
  const roll = rand();
  if (roll < 0.02) return { account, id, payload: `{"id":"${id}","account_id":"${account}","kind":"nope"}` };
  const [kind, appliesTo] = pick(KINDS);
  const category = appliesTo === null ? '' : `,"applies_to":"${appliesTo}"`;
  if (roll < 0.07) {
    const data = `{"kind":"${kind}","quantity":${quantity()}${category}}`;
    return {
      account,
      id,
      payload: `{"specversion":"1.0","type":"tally.usage","source":"gen","id":"${id}","subject":"${account}","time":"${occurredAt}","data":${data}}`,
    };
  }
  const cost = roll < 0.12 ? `,"cost_micros":${int(5_000_000)}` : '';
  return {
    account,
    id,
    payload: `{"id":"${id}","account_id":"${account}","kind":"${kind}","quantity":${quantity()}${category},"occurred_at":"${occurredAt}"${cost}}`,
  };
}

if (values.accounts !== undefined) {
  const rows: string[] = [];
  for (let a = 0; a < ACCOUNTS; a += 2) {
    rows.push(JSON.stringify({ account_id: `acct-${a}`, first_paid_at: new Date(end - int(60 * DAY_MS)).toISOString() }));
  }
  writeFileSync(values.accounts, `${rows.join('\n')}\n`);
}

let block: string[] = [];
const recent: { account: string; id: string; payload: string }[] = [];
for (let i = 0; i < lines; i++) {
  const repeat = recent.length > 0 && rand() < 0.02;
  const r = repeat ? pick(recent) : record(i);
  // Repeats are drawn from a window of recent records, as a retrying producer would send.
  if (!repeat && recent.length < 1000) recent.push(r);
  else if (!repeat) recent[int(1000)] = r;
  block.push(JSON.stringify({ subject: `usage.${r.account}`, payload: r.payload }), '\n');
  if (block.length >= 8192) {
    if (!process.stdout.write(block.join(''))) await once(process.stdout, 'drain');
    block = [];
  }
}
process.stdout.write(block.join(''));
