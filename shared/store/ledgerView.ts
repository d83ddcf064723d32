import type { Db } from 'mongodb';
import { COLLECTIONS, type AccountDoc, type LedgerDoc, type ShardLogDoc } from './collections.js';
import { InvalidCursorError } from './errors.js';
import { deltasOf } from './shardLog.js';

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** One balance change of an account. */
export interface LedgerLine {
  /** `usage:<shard>:<seq>` for a usage batch, else the ledger entry's id. */
  id: string;
  kind: 'usage' | 'payment' | 'plan_purchase' | 'adjustment';
  amount_micros: bigint;
  at: Date;
  /** Shard-log position that applied it; null while not folded yet. */
  seq: number | null;
  /** Balance right after this change; null while not folded yet. */
  balance_after: bigint | null;
  folded: boolean;
  /** usage: records charged in the batch */
  records?: number;
  plan_id?: string;
  paid_at?: Date;
  /** adjustment: why, and who made it */
  reason?: string;
  by?: LedgerDoc['by'];
}

export interface LedgerPage {
  /** Newest first: lines not folded yet (first page only), then folded lines down the log. */
  entries: LedgerLine[];
  /** Pass as `after` for the next page; null on the last page. */
  next: string | null;
}

/**
 * Where the next page starts: the lines below log position (seq, index), the balance after
 * the first of them being `balance`. It carries the balance so that a page never reads the
 * history below it; it only shapes what its holder sees, so it needs no signature.
 */
export interface LedgerCursor {
  seq: number;
  /** The line's place among the account's lines of that log entry (usage first, then folds). */
  index: number;
  balance: bigint;
}

const CURSOR = /^(\d{1,16}):(\d{1,6}):(-?\d{1,19})$/;
const INT64 = 2n ** 63n;

export function encodeLedgerCursor(c: LedgerCursor): string {
  return Buffer.from(`${c.seq}:${c.index}:${c.balance}`, 'utf8').toString('base64url');
}

export function parseLedgerCursor(text: string): LedgerCursor {
  const fields = /^[A-Za-z0-9_-]{1,80}$/.test(text) ? CURSOR.exec(Buffer.from(text, 'base64url').toString('utf8')) : null;
  const seq = Number(fields?.[1]);
  const balance = fields ? BigInt(fields[3]!) : 0n;
  if (
    !fields ||
    !Number.isSafeInteger(seq) ||
    balance < -INT64 ||
    balance >= INT64 ||
    encodeLedgerCursor({ seq, index: Number(fields[2]), balance }) !== text
  ) {
    throw new InvalidCursorError('after: not a cursor from a ledger page (pass the `next` of the previous page)');
  }
  return { seq, index: Number(fields[2]), balance };
}

type Unbalanced = Omit<LedgerLine, 'balance_after'>;

/** How many lines of the account one log entry holds (linesOf's length, before the ledger entries are read). */
function lineCount(entry: ShardLogDoc, accountId: string): number {
  return deltasOf(entry).filter((d) => d.a === accountId).length + entry.folds.filter((f) => f.a === accountId && f.d !== 0n).length;
}

/** The account's lines of one log entry, in the order the owner applied them. */
function linesOf(entry: ShardLogDoc, accountId: string, details: ReadonlyMap<string, LedgerDoc>): Unbalanced[] {
  const lines: Unbalanced[] = [];
  for (const delta of deltasOf(entry)) {
    if (delta.a === accountId)
      lines.push({ id: `usage:${entry._id}`, kind: 'usage', amount_micros: delta.d, at: entry.at, seq: entry.seq, folded: true, records: delta.n });
  }
  for (const fold of entry.folds) {
    if (fold.a === accountId && fold.d !== 0n) lines.push({ ...describe(fold.id, details.get(fold.id), fold.d, entry.at), seq: entry.seq, folded: true });
  }
  return lines;
}

/**
 * One page of an account's ledger, newest first (SPEC 10: every list paged, bounded). An
 * operator view (SPEC 11 rule 4): it reads the account's ledger entries (payments,
 * purchases: a few a month) and the shard log from the newest entry down, through a cursor
 * closed once the page is full, so a page costs about `limit` log entries whatever the
 * history's length. The first page's balance is the projection's plus what the log holds
 * after the projection's seq; later pages continue from the balance in their cursor. Lines
 * not folded yet come first on the first page; finding them costs one more query when the
 * account has ledger entries the page did not show folded.
 */
export async function readAccountLedger(db: Db, account: AccountDoc, page: { limit: number; cursor: LedgerCursor | null }): Promise<LedgerPage> {
  const { _id: accountId, shard } = account;
  const { limit, cursor } = page;
  const details = new Map<string, LedgerDoc>();
  const detailsRead = (async () => {
    for await (const doc of db.collection<LedgerDoc>(COLLECTIONS.ledger).find({ account_id: accountId })) details.set(doc._id, doc);
  })();
  const log = db
    .collection<ShardLogDoc>(COLLECTIONS.shardLog)
    .find(
      // Format 3 holds the deltas as text, one line per account: a line that starts with the id and a space.
      {
        shard,
        $or: [{ deltas: { $regex: `^${escapeRegExp(accountId)} `, $options: 'm' } }, { 'folds.a': accountId }],
        ...(cursor ? { seq: { $lte: cursor.seq } } : {}),
      },
      { projection: { seq: 1, at: 1, deltas: 1, folds: 1 } },
    )
    .sort({ seq: -1 })
    .batchSize(limit + 1);
  const entries: ShardLogDoc[] = [];
  let found = 0;
  let newestSeq = 0;
  for await (const entry of log) {
    entries.push(entry);
    newestSeq = Math.max(newestSeq, entry.seq);
    const count = lineCount(entry, accountId);
    found += cursor?.seq === entry.seq ? Math.min(count, cursor.index) : count;
    // One line past the page tells whether there is a next; the first page also reads down to
    // the projection's seq, since the lines above it are not in the projection's balance yet.
    if (found > limit && (cursor !== null || entry.seq <= account.seq)) break;
  }
  await detailsRead;

  const folded: (Unbalanced & { index: number })[] = [];
  let lag = 0n;
  for (const entry of entries) {
    const lines = linesOf(entry, accountId, details);
    for (let index = lines.length - 1; index >= 0; index--) {
      const line = lines[index]!;
      if (cursor === null && entry.seq > account.seq) lag += line.amount_micros;
      if (cursor === null || entry.seq < cursor.seq || index < cursor.index) folded.push({ ...line, index });
    }
  }
  const pending = cursor === null ? await unfolded(db, shard, details, folded) : [];

  const out: LedgerLine[] = pending.slice(0, limit);
  let balance = cursor?.balance ?? account.balance_micros + lag;
  let next: string | null = null;
  for (const [i, { index, ...line }] of folded.entries()) {
    if (out.length === limit) {
      const last = i === 0 ? null : folded[i - 1]!;
      next = encodeLedgerCursor(last ? { seq: last.seq!, index: last.index, balance } : { seq: newestSeq + 1, index: 0, balance });
      break;
    }
    out.push({ ...line, balance_after: balance });
    balance -= line.amount_micros;
  }
  return { entries: out, next };
}

/** The account's ledger entries that no log entry has folded yet, newest first (normally none: folding takes milliseconds). */
async function unfolded(db: Db, shard: number, details: ReadonlyMap<string, LedgerDoc>, seen: readonly Unbalanced[]): Promise<LedgerLine[]> {
  const shown = new Set(seen.map((l) => l.id));
  const candidates = [...details.values()].filter((d) => d.amount_micros !== 0n && !shown.has(d._id));
  if (candidates.length === 0) return [];
  const folded = new Set<string>();
  const logs = db
    .collection<ShardLogDoc>(COLLECTIONS.shardLog)
    .find({ shard, 'folds.id': { $in: candidates.map((d) => d._id) } }, { projection: { 'folds.id': 1 } });
  for await (const entry of logs) for (const fold of entry.folds) folded.add(fold.id);
  return candidates
    .filter((d) => !folded.has(d._id))
    .sort((x, y) => y.at.getTime() - x.at.getTime() || (x._id < y._id ? 1 : -1))
    .map((d) => ({ ...describe(d._id, d, d.amount_micros, d.at), seq: null, balance_after: null, folded: false }));
}

function describe(id: string, doc: LedgerDoc | undefined, amount: bigint, at: Date): Omit<LedgerLine, 'seq' | 'balance_after' | 'folded'> {
  const kind =
    doc?.kind === 'plan_purchase' || id.startsWith('plan:')
      ? 'plan_purchase'
      : doc?.kind === 'adjustment' || id.startsWith('adjustment:')
        ? 'adjustment'
        : 'payment';
  const line: Omit<LedgerLine, 'seq' | 'balance_after' | 'folded'> = { id, kind, amount_micros: amount, at: doc?.at ?? at };
  if (doc?.plan_id !== undefined) line.plan_id = doc.plan_id;
  if (doc?.paid_at !== undefined) line.paid_at = doc.paid_at;
  if (doc?.reason !== undefined) line.reason = doc.reason;
  if (doc?.by !== undefined) line.by = doc.by;
  return line;
}
