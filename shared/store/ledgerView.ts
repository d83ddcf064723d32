import type { Db } from 'mongodb';
import { COLLECTIONS, type LedgerDoc, type ShardLogDoc } from './collections.js';

/** One balance change of an account, in the order the shard owner applied it. */
export interface LedgerLine {
  /** `usage:<shard>:<seq>` for a usage batch, else the ledger entry's id. */
  id: string;
  kind: 'usage' | 'payment' | 'plan_purchase';
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
}

export interface LedgerPage {
  entries: LedgerLine[];
  /** Pass as `after` for the next page; null on the last page. */
  next: string | null;
}

/** `after` names no line of this account's ledger. */
export class UnknownCursorError extends Error {}

/**
 * An account's ledger as an operator view (SPEC 11 rule 4: never on a hot path): its usage
 * deltas and folded entries from the shard log, in log order with the running balance,
 * then ledger entries still waiting to be folded. Two scans per call.
 */
export async function readAccountLedger(db: Db, accountId: string, shard: number, page: { limit: number; after?: string | undefined }): Promise<LedgerPage> {
  const details = new Map<string, LedgerDoc>();
  for await (const doc of db.collection<LedgerDoc>(COLLECTIONS.ledger).find({ account_id: accountId })) details.set(doc._id, doc);
  const logs = db
    .collection<ShardLogDoc>(COLLECTIONS.shardLog)
    .find({ shard, $or: [{ 'accounts.a': accountId }, { 'folds.a': accountId }] }, { projection: { seq: 1, at: 1, accounts: 1, folds: 1 } })
    .sort({ seq: 1 });
  const lines: LedgerLine[] = [];
  let balance = 0n;
  for await (const entry of logs) {
    for (const delta of entry.accounts) {
      if (delta.a !== accountId) continue;
      balance += delta.d;
      lines.push({ id: `usage:${entry._id}`, kind: 'usage', amount_micros: delta.d, at: entry.at, seq: entry.seq, balance_after: balance, folded: true, records: delta.n });
    }
    for (const fold of entry.folds) {
      if (fold.a !== accountId || fold.d === 0n) continue;
      balance += fold.d;
      const doc = details.get(fold.id);
      details.delete(fold.id);
      lines.push({ ...describe(fold.id, doc, fold.d, entry.at), seq: entry.seq, balance_after: balance, folded: true });
    }
  }
  for (const doc of details.values()) {
    if (doc.amount_micros === 0n) continue;
    lines.push({ ...describe(doc._id, doc, doc.amount_micros, doc.at), seq: null, balance_after: null, folded: false });
  }
  let start = 0;
  if (page.after !== undefined) {
    const i = lines.findIndex((l) => l.id === page.after);
    if (i < 0) throw new UnknownCursorError(`after: no ledger line ${page.after} for this account`);
    start = i + 1;
  }
  const entries = lines.slice(start, start + page.limit);
  const last = entries.at(-1);
  return { entries, next: last !== undefined && start + page.limit < lines.length ? last.id : null };
}

function describe(id: string, doc: LedgerDoc | undefined, amount: bigint, at: Date): Omit<LedgerLine, 'seq' | 'balance_after' | 'folded'> {
  const kind = doc?.kind === 'plan_purchase' || id.startsWith('plan:') ? 'plan_purchase' : 'payment';
  const line: Omit<LedgerLine, 'seq' | 'balance_after' | 'folded'> = { id, kind, amount_micros: amount, at: doc?.at ?? at };
  if (doc?.plan_id !== undefined) line.plan_id = doc.plan_id;
  if (doc?.paid_at !== undefined) line.paid_at = doc.paid_at;
  return line;
}
