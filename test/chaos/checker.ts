/**
 * The chaos run's checker, independent of the services' bookkeeping: what JetStream
 * accepted is read back from the USAGE stream and quoted by the domain core (the Quoter of
 * `tally quote`: validation, repeats by (account_id, id), price), each message judged at
 * the time JetStream stored it. With the payments, purchases and adjustments the API answered
 * definitively, that gives every expected balance. Against it: the shard log's charged
 * records counted by (account, id), the dead-letter stream by message sequence, the
 * balances readers are served (`tally accounts`), and `tally verify`.
 */
import type { Db } from 'mongodb';
import { DLQ_HEADERS, DLQ_STREAM, USAGE_STREAM, readStream, type Bus } from '../../shared/bus/index.js';
import { INT64_MAX, Quoter, recordKey } from '../../shared/domain/index.js';
import type { Config } from '../../shared/config/index.js';
import { forEachRecord, type ShardLogDoc } from '../../shared/store/index.js';
import { COLLECTIONS } from '../../shared/store/internal.js';
import type { AccountReader } from '../../shared/readModel/index.js';
import { runTally } from '../support/processes.js';
import type { ApiLedger } from './apiLoad.js';

export interface CheckResult {
  /** Messages in the USAGE stream, and what the domain core says of them. */
  stream_messages: number;
  expected_charged: number;
  expected_dead: number;
  duplicates: number;
  /** Records charged in the shard log (every entry, every (account, id) occurrence). */
  charged: number;
  lost: number;
  double_charged: number;
  /** Charged records that match no valid record JetStream accepted. */
  phantom_charged: number;
  /** Accounts whose balance was compared (expected or served), and of those the ones that differ. */
  balances_compared: number;
  balances_wrong: number;
  ledger_mismatch: number;
  dead_letters_wrong: number;
  /** A few examples of each kind of difference, for the log. */
  examples: string[];
}

const INT64_MIN = -INT64_MAX - 1n;
const utf8 = new TextDecoder('utf-8', { fatal: true });

export interface CheckOptions {
  bus: Bus;
  db: Db;
  config: Config;
  ledger: ApiLedger;
  reader: AccountReader;
  /** The environment `tally verify` runs with. */
  env: NodeJS.ProcessEnv;
  log: (line: string) => void;
}

export async function check(o: CheckOptions): Promise<CheckResult> {
  const examples: string[] = [];
  const note = (s: string): void => {
    if (examples.length < 20) examples.push(s);
  };

  // Payments, purchases and adjustments the API answered: credits, debits, and each account's first payment.
  const expected = new Map<string, bigint>();
  const add = (account: string, micros: bigint): void => {
    expected.set(account, (expected.get(account) ?? 0n) + micros);
  };
  const firstPaidAt = new Map<string, number>();
  for (const c of o.ledger.credits.values()) {
    add(c.account, c.micros);
    firstPaidAt.set(c.account, Math.min(firstPaidAt.get(c.account) ?? Infinity, c.paidAt));
  }
  for (const [account, micros] of o.ledger.debits) add(account, -micros);
  for (const { account, micros } of o.ledger.adjustments.values()) add(account, micros);

  // Dead letters by the USAGE sequence they stand for.
  const dead = new Map<number, string>();
  for await (const m of readStream(o.bus.js, o.bus.jsm, DLQ_STREAM)) {
    const seq = Number(m.headers?.get(DLQ_HEADERS.streamSeq));
    dead.set(seq, m.headers?.get(DLQ_HEADERS.code) ?? '');
  }
  o.log(`checker: ${dead.size} dead letters read`);

  // What JetStream accepted, quoted by the domain core.
  const quoter = new Quoter({ priceBook: o.config.priceBook, ladder: o.config.ladder, lateArrivalDays: o.config.lateArrivalDays, firstPaidAt });
  const charged = new Map<string, number>();
  const usage = new Map<string, bigint>();
  let messages = 0;
  let expectedDead = 0;
  let duplicates = 0;
  let deadWrong = 0;
  for await (const m of readStream(o.bus.js, o.bus.jsm, USAGE_STREAM)) {
    messages++;
    let text: string | null;
    try {
      text = utf8.decode(m.data);
    } catch {
      text = null;
    }
    const q = text === null ? { dead: 'malformed_json' as const } : quoter.quoteLine(JSON.stringify({ subject: m.subject, payload: text }), m.time.getTime());
    let want: string | null = null;
    if ('dead' in q) want = q.dead;
    else if ('duplicate' in q) duplicates++;
    else {
      // The owner refuses a charge that would take the usage balance out of Int64 (SPEC 2);
      // only the floor accounts come near it, and their first charge is settled before the stream.
      const balance = (usage.get(q.account_id) ?? 0n) - BigInt(q.charge_micros);
      if (balance < INT64_MIN) want = 'amount_out_of_range';
      else {
        usage.set(q.account_id, balance);
        charged.set(recordKey(q.account_id, q.id), 0);
        add(q.account_id, -BigInt(q.charge_micros));
      }
    }
    const got = dead.get(m.seq);
    if (want !== null) expectedDead++;
    if (want !== got && !(want === null && got === undefined)) {
      deadWrong++;
      note(`message ${m.seq} (${m.subject}): expected ${want ?? 'no dead letter'}, dead letter ${got ?? 'none'}`);
    }
    if (messages % 200_000 === 0) o.log(`checker: ${messages} stream messages quoted`);
  }
  o.log(`checker: ${messages} stream messages, ${charged.size} to charge, ${expectedDead} to dead-letter, ${duplicates} repeats`);

  // Every record the shard log charged, counted by (account, id).
  let inLog = 0;
  let phantom = 0;
  const cursor = o.db.collection<ShardLogDoc>(COLLECTIONS.shardLog).find({}, { projection: { rids: 1, rseq: 1, deltas: 1 } });
  for await (const entry of cursor) {
    forEachRecord(entry, (account, id) => {
      inLog++;
      const key = recordKey(account, id);
      const n = charged.get(key);
      if (n === undefined) {
        phantom++;
        note(`charged but never accepted as a valid record: ${key}`);
      } else charged.set(key, n + 1);
    });
  }
  o.log(`checker: ${inLog} records charged in the shard log`);
  let lost = 0;
  let double = 0;
  for (const [key, n] of charged) {
    if (n === 0) {
      lost++;
      note(`lost: ${key}`);
    } else if (n > 1) {
      double++;
      note(`charged ${n} times: ${key}`);
    }
  }

  // Balances as readers are served them.
  const accounts = await o.reader.list();
  const served = new Map(accounts.map((a) => [a._id, a.balance_micros]));
  let wrong = 0;
  const compared = new Set([...expected.keys(), ...served.keys()]);
  for (const account of compared) {
    const want = expected.get(account) ?? 0n;
    const got = served.get(account) ?? 0n;
    if (want !== got) {
      wrong++;
      note(`balance of ${account}: expected ${want}, served ${got}${served.has(account) ? '' : ' (no such account)'}`);
    }
  }

  o.log(`checker: ${accounts.length} balances compared`);
  // `tally verify`: every balance is the fold of its ledger, every ledger entry folded.
  const verify = await runTally(['verify'], o.env);
  let summary: { mismatches?: number; ledger_entries?: { adjustment?: number } } = {};
  try {
    summary = JSON.parse(verify.stdout.trim().split('\n').at(-1) ?? '{}') as typeof summary;
  } catch {
    note(`tally verify printed no summary: ${verify.stdout.slice(-300)}`);
  }
  // Every adjustment the API stored is one it answered (a retried one answered once), and the reverse.
  const adjustments = summary.ledger_entries?.adjustment ?? 0;
  if (adjustments !== o.ledger.adjustments.size) note(`tally verify counts ${adjustments} adjustments, the API answered ${o.ledger.adjustments.size}`);
  const ledgerMismatch = (summary.mismatches ?? 1) + Math.abs(adjustments - o.ledger.adjustments.size);
  if (verify.code !== 0) note(`tally verify exited ${verify.code}: ${verify.stdout.slice(-1000)}${verify.stderr.slice(-1000)}`);

  return {
    stream_messages: messages,
    expected_charged: charged.size,
    expected_dead: expectedDead,
    duplicates,
    charged: inLog,
    lost,
    double_charged: double,
    phantom_charged: phantom,
    balances_compared: compared.size,
    balances_wrong: wrong,
    ledger_mismatch: verify.code !== 0 && ledgerMismatch === 0 ? 1 : ledgerMismatch,
    dead_letters_wrong: deadWrong,
    examples,
  };
}

/** A run passes when the checker found nothing wrong, no process crashed and every process stopped cleanly. */
export function runPassed(result: CheckResult, crashes: readonly unknown[], cleanStop: boolean): boolean {
  const { lost, double_charged, phantom_charged, balances_wrong, ledger_mismatch, dead_letters_wrong } = result;
  const nothingWrong = [lost, double_charged, phantom_charged, balances_wrong, ledger_mismatch, dead_letters_wrong].every((n) => n === 0);
  return nothingWrong && crashes.length === 0 && cleanStop;
}
