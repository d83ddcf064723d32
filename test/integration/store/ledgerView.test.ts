import { randomUUID } from 'node:crypto';
import type { CommandSucceededEvent } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  InvalidCursorError,
  connectMongo,
  parseLedgerCursor,
  readAccountLedger,
  type AccountDoc,
  type LedgerDoc,
  type LedgerLine,
  type MongoConnection,
  type ShardLogDoc,
  type AccountDelta,
  deltasOf,
  packDeltas,
} from '../../../shared/store/index.js';
import { COLLECTIONS, encodeLedgerCursor } from '../../../shared/store/internal.js';
import { newAccount } from '../../../shared/domain/index.js';

/**
 * Issue 16 item 7: the ledger view built an account's whole history to serve one page. Now
 * a page reads the log newest first and stops once full; walking every page with any page
 * size gives exactly the history, newest first, with the same running balance.
 */
const ACCOUNT = 'acct-l';
const SHARD = 3;
const at = (seq: number): Date => new Date(Date.UTC(2026, 0, 1, 0, seq));

/** A log entry in the log's format (deltas as text, one line per account). */
function entry(seq: number, accounts: AccountDelta[], folds: ShardLogDoc['folds'] = [], shard = SHARD): ShardLogDoc {
  return { _id: `${shard}:${seq}`, shard, seq, at: at(seq), job: `j${seq}`, duplicates: 0, deltas: packDeltas(accounts), folds };
}
const usage = (a: string, d: bigint, n = 1) => ({ a, d, n, t: 0 });

const log: ShardLogDoc[] = [
  entry(1, [usage(ACCOUNT, -100n, 2), usage('acct-o', -7n)]),
  entry(
    2,
    [],
    [
      { id: 'payment:p1', a: ACCOUNT, d: 1000n, paid: 1 },
      { id: 'kyc:acct-l:x', a: ACCOUNT, d: 0n, kyc: true },
      { id: 'payment:o1', a: 'acct-o', d: 5n },
    ],
  ),
  entry(3, [usage('acct-o', -3n)]),
  // Two lines of the account in one entry: a page may end between them.
  entry(
    4,
    [],
    [
      { id: `plan:${ACCOUNT}:1`, a: ACCOUNT, d: -500n },
      { id: 'payment:p2', a: ACCOUNT, d: 300n, paid: 2 },
    ],
  ),
  entry(5, [], [{ id: 'tick-1', a: ACCOUNT, d: 0n, tier: 'week' }]),
  ...Array.from({ length: 20 }, (_, i) => entry(6 + i, [usage(ACCOUNT, -BigInt(6 + i), 1 + i)])),
  // Another shard's log never shows in this account's ledger.
  entry(1, [usage(ACCOUNT, -999_999n)], [], 2),
];
const ledgerDocs: LedgerDoc[] = [
  { _id: 'payment:p1', kind: 'payment', account_id: ACCOUNT, shard: SHARD, amount_micros: 1000n, at: at(2), paid_at: at(1) },
  { _id: `plan:${ACCOUNT}:1`, kind: 'plan_purchase', account_id: ACCOUNT, shard: SHARD, amount_micros: -500n, at: at(4), plan_id: 'basic', plan_seq: 1 },
  { _id: 'payment:p2', kind: 'payment', account_id: ACCOUNT, shard: SHARD, amount_micros: 300n, at: at(4), paid_at: at(3) },
  { _id: 'kyc:acct-l:x', kind: 'kyc', account_id: ACCOUNT, shard: SHARD, amount_micros: 0n, at: at(2), kyc_verified: true },
  // Stored, its fold job lost: listed first, not folded.
  { _id: 'payment:p3', kind: 'payment', account_id: ACCOUNT, shard: SHARD, amount_micros: 50n, at: at(30), paid_at: at(30) },
];

/** The whole history the old view built, oldest first with the running balance, then reversed. */
function history(): LedgerLine[] {
  const lines: LedgerLine[] = [];
  let balance = 0n;
  for (const e of log.filter((x) => x.shard === SHARD)) {
    for (const d of deltasOf(e).filter((x) => x.a === ACCOUNT))
      lines.push({
        id: `usage:${e._id}`,
        kind: 'usage',
        amount_micros: d.d,
        at: e.at,
        seq: e.seq,
        balance_after: (balance += d.d),
        folded: true,
        records: d.n,
      });
    for (const f of e.folds.filter((x) => x.a === ACCOUNT && x.d !== 0n)) {
      const doc = ledgerDocs.find((l) => l._id === f.id)!;
      const line: LedgerLine = {
        id: f.id,
        kind: doc.kind === 'plan_purchase' ? 'plan_purchase' : 'payment',
        amount_micros: f.d,
        at: doc.at,
        seq: e.seq,
        balance_after: (balance += f.d),
        folded: true,
      };
      if (doc.plan_id) line.plan_id = doc.plan_id;
      if (doc.paid_at) line.paid_at = doc.paid_at;
      lines.push(line);
    }
  }
  const p3 = ledgerDocs.at(-1)!;
  return [
    { id: p3._id, kind: 'payment', amount_micros: 50n, at: p3.at, seq: null, balance_after: null, folded: false, paid_at: p3.paid_at! },
    ...lines.reverse(),
  ];
}

/** The projection as the owner last wrote it: folded through `seq`. */
function projection(seq: number): AccountDoc {
  const balance = history()
    .filter((l) => l.seq !== null && l.seq <= seq)
    .reduce((sum, l) => sum + l.amount_micros, 0n);
  return { ...newAccount(ACCOUNT, SHARD, at(0)), seq, balance_micros: balance, kyc_verified: true, low: false, depleted: false };
}

describe('readAccountLedger', () => {
  let conn: MongoConnection;
  let logDocsReturned = 0;

  beforeAll(async () => {
    conn = await connectMongo(inject('servers').mongoUrl, `t_${randomUUID().slice(0, 8)}`, undefined, { monitorCommands: true });
    await conn.db.collection<ShardLogDoc>(COLLECTIONS.shardLog).insertMany(log);
    await conn.db.collection<LedgerDoc>(COLLECTIONS.ledger).insertMany(ledgerDocs);
    conn.client.on('commandSucceeded', (e: CommandSucceededEvent) => {
      const cursor = (e.reply as { cursor?: { ns?: string; firstBatch?: unknown[]; nextBatch?: unknown[] } }).cursor;
      if (cursor?.ns?.endsWith(`.${COLLECTIONS.shardLog}`)) logDocsReturned += (cursor.firstBatch ?? cursor.nextBatch ?? []).length;
    });
  });
  afterAll(async () => {
    await conn?.db.dropDatabase();
    await conn?.close();
  });

  async function walk(account: AccountDoc, limit: number): Promise<LedgerLine[][]> {
    const pages: LedgerLine[][] = [];
    let cursor = null;
    for (;;) {
      const page = await readAccountLedger(conn.db, account, { limit, cursor });
      pages.push(page.entries);
      if (page.next === null) return pages;
      cursor = parseLedgerCursor(page.next);
      expect(pages.length).toBeLessThan(100);
    }
  }

  it.each([1, 2, 3, 5, 7, 100])('pages of %i walk the whole history, newest first, with the running balance', async (limit) => {
    // Up to date, and a projection that lags the log (its balance lacks the newest entries).
    for (const seq of [25, 10, 0]) {
      const pages = await walk(projection(seq), limit);
      for (const page of pages) expect(page.length).toBeLessThanOrEqual(limit);
      expect(
        pages
          .slice(1)
          .flat()
          .every((l) => l.folded),
      ).toBe(true);
      expect(pages.flat()).toEqual(history());
    }
  });

  it('reads about one page of log entries per page, not the history', async () => {
    const account = projection(25);
    const first = await readAccountLedger(conn.db, account, { limit: 3, cursor: null });
    logDocsReturned = 0;
    const second = await readAccountLedger(conn.db, account, { limit: 3, cursor: parseLedgerCursor(first.next!) });
    expect(second.entries.map((l) => l.seq)).toEqual([23, 22, 21]);
    expect(logDocsReturned).toBeLessThanOrEqual(8);
  });

  it('refuses a cursor it did not give out', () => {
    const good = encodeLedgerCursor({ seq: 4, index: 1, balance: -15n });
    expect(parseLedgerCursor(good)).toEqual({ seq: 4, index: 1, balance: -15n });
    const forged = (text: string) => Buffer.from(text, 'utf8').toString('base64url');
    for (const bad of [
      '',
      'usage:3:17',
      `${good}=`,
      `${good}.`,
      forged('4:1'),
      forged('04:1:0'),
      forged('4:1:-0'),
      forged(`4:1:${2n ** 63n}`),
      forged(`${2 ** 53}:0:0`),
      forged('x:1:0'),
    ]) {
      expect(() => parseLedgerCursor(bad), bad).toThrow(InvalidCursorError);
    }
  });
});
