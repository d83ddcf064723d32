import type { Db } from 'mongodb';
import { COLLECTIONS, type AllocationDoc, type FoldedEntry, type LedgerDoc, type ShardLogDoc } from './collections.js';
import { insertUnique } from './insertBatches.js';

/**
 * The API's ledger: payments, plan purchases, KYC decisions, adjustments and alert settings, each one insert with a
 * deterministic `_id`. The insert is the commit point (SPEC "What is atomic"): a second
 * insert of the same key fails with E11000 and changes nothing, so one payment id credits
 * once and one plan number is bought once. The shard owner folds entries into the account
 * projection; nothing else ever writes an account.
 */

export const paymentEntryId = (paymentId: string): string => `payment:${paymentId}`;
export const planEntryId = (accountId: string, planSeq: number): string => `plan:${accountId}:${planSeq}`;
export const kycEntryId = (accountId: string, nonce: string): string => `kyc:${accountId}:${nonce}`;
export const adjustmentEntryId = (adjustmentId: string): string => `adjustment:${adjustmentId}`;
export const alertsEntryId = (accountId: string, nonce: string): string => `alerts:${accountId}:${nonce}`;

/** `inserted`: this call wrote the entry; `exists`: an entry with that key was already there (read it to compare). */
export async function insertLedgerEntry(db: Db, doc: LedgerDoc): Promise<'inserted' | 'exists'> {
  return insertUnique<LedgerDoc>(db, COLLECTIONS.ledger, doc);
}

export async function readLedgerEntry(db: Db, id: string): Promise<LedgerDoc | null> {
  return db.collection<LedgerDoc>(COLLECTIONS.ledger).findOne({ _id: id });
}

/** What folding a ledger entry changes in the account projection. */
export function foldOfLedger(doc: LedgerDoc): FoldedEntry {
  const entry: FoldedEntry = { id: doc._id, a: doc.account_id, d: doc.amount_micros };
  if (doc.kind === 'payment' && doc.paid_at) entry.paid = doc.paid_at.getTime();
  if (doc.kind === 'plan_purchase' && doc.plan_id !== undefined && doc.plan_seq !== undefined && doc.period_end && doc.vm_count !== undefined) {
    entry.plan = { id: doc.plan_id, seq: doc.plan_seq, vms: doc.vm_count, end: doc.period_end.getTime() };
  }
  if (doc.kind === 'kyc' && doc.kyc_verified !== undefined) entry.kyc = doc.kyc_verified;
  if (doc.kind === 'alerts' && doc.low_balance_micros !== undefined) entry.low = doc.low_balance_micros;
  return entry;
}

/** What folding an allocation changes: the plan's used quota (no money moves). */
export function foldOfAllocation(doc: AllocationDoc): FoldedEntry {
  return { id: doc._id, a: doc.account_id, d: 0n, vm: { seq: doc.plan_seq, slot: doc.slot } };
}

export interface LedgerState {
  /** Every entry id some shard-log entry of the shard has folded. */
  folded: Set<string>;
  /** Those folded as refused (`amount_out_of_range`). */
  refusedFolds: Set<string>;
  /** Ledger entries and allocations of the shard that no log entry has folded yet, oldest first. */
  unfolded: FoldedEntry[];
}

/** Adds a log entry's folds to the folded (and refused) ids. */
export function addFolded(state: Pick<LedgerState, 'folded' | 'refusedFolds'>, folds: readonly Pick<FoldedEntry, 'id' | 'refused'>[]): void {
  for (const fold of folds) {
    state.folded.add(fold.id);
    if (fold.refused) state.refusedFolds.add(fold.id);
  }
}

/** The shard's ledger entries and allocations that no log entry has folded (not in `folded`), oldest first. Two scans. */
export async function unfoldedEntries(db: Db, shard: number, folded: ReadonlySet<string>): Promise<FoldedEntry[]> {
  const pending: { at: number; entry: FoldedEntry }[] = [];
  for await (const doc of db.collection<LedgerDoc>(COLLECTIONS.ledger).find({ shard })) {
    if (!folded.has(doc._id)) pending.push({ at: doc.at.getTime(), entry: foldOfLedger(doc) });
  }
  for await (const doc of db.collection<AllocationDoc>(COLLECTIONS.allocations).find({ shard })) {
    if (!folded.has(doc._id)) pending.push({ at: doc.created_at.getTime(), entry: foldOfAllocation(doc) });
  }
  pending.sort((x, y) => x.at - y.at || (x.entry.id < y.entry.id ? -1 : 1));
  return pending.map((p) => p.entry);
}
