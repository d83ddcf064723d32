import type { Db } from 'mongodb';
import { listAccounts } from './accounts.js';
import { deltasOf } from './shardLog.js';
import { COLLECTIONS, type AccountDoc, type LedgerDoc, type ShardLogDoc } from './collections.js';

export interface LedgerTotals {
  /** Net ledger sum per account: usage deltas plus folded entries. */
  balances: Map<string, bigint>;
  charged: number;
  duplicates: number;
  folded: Set<string>;
}

/** Folds the whole shard log. An operator-side scan (verify, stats), never on a request path. */
export async function sumShardLog(db: Db): Promise<LedgerTotals> {
  const balances = new Map<string, bigint>();
  const folded = new Set<string>();
  let charged = 0;
  let duplicates = 0;
  const add = (a: string, d: bigint): void => {
    balances.set(a, (balances.get(a) ?? 0n) + d);
  };
  for await (const entry of db.collection<ShardLogDoc>(COLLECTIONS.shardLog).find({})) {
    duplicates += entry.duplicates;
    for (const delta of deltasOf(entry)) {
      add(delta.a, delta.d);
      charged += delta.n;
    }
    for (const fold of entry.folds) {
      add(fold.a, fold.d);
      folded.add(fold.id);
    }
  }
  return { balances, charged, duplicates, folded };
}

export interface Mismatch {
  account_id: string;
  problem: 'balance_differs' | 'missing_projection' | 'unfolded_entry';
  expected_micros?: bigint;
  actual_micros?: bigint;
  entry_id?: string;
}

/**
 * `balance_micros == sum(ledger)` for every account, and every ledger entry folded.
 * `accounts`: the balances as readers see them (the read model); default the store's projections.
 */
export async function verifyLedger(db: Db, accounts?: readonly AccountDoc[]): Promise<{ accounts: number; mismatches: Mismatch[] }> {
  const totals = await sumShardLog(db);
  const mismatches: Mismatch[] = [];
  const seen = new Set<string>();
  for (const acc of accounts ?? (await listAccounts(db))) {
    seen.add(acc._id);
    const expected = totals.balances.get(acc._id) ?? 0n;
    if (expected !== acc.balance_micros)
      mismatches.push({ account_id: acc._id, problem: 'balance_differs', expected_micros: expected, actual_micros: acc.balance_micros });
  }
  for (const [account, expected] of totals.balances) {
    if (!seen.has(account)) mismatches.push({ account_id: account, problem: 'missing_projection', expected_micros: expected });
  }
  for await (const entry of db.collection<LedgerDoc>(COLLECTIONS.ledger).find({})) {
    if (!totals.folded.has(entry._id)) mismatches.push({ account_id: entry.account_id, problem: 'unfolded_entry', entry_id: entry._id });
  }
  return { accounts: seen.size, mismatches };
}

/** How many ledger entries of each kind (payments, purchases, KYC, adjustments, alert settings): `tally verify`'s summary. */
export async function countLedgerKinds(db: Db): Promise<Partial<Record<LedgerDoc['kind'], number>>> {
  const counts: Partial<Record<LedgerDoc['kind'], number>> = {};
  for await (const doc of db.collection<LedgerDoc>(COLLECTIONS.ledger).find({}, { projection: { kind: 1 } })) counts[doc.kind] = (counts[doc.kind] ?? 0) + 1;
  return counts;
}
