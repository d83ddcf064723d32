import type { AnyBulkWriteOperation, Db } from 'mongodb';
import { MAX_STATEMENTS_PER_COMMAND } from './accounts.js';
import { COLLECTIONS, type AllocationDoc } from './collections.js';
import { insertUnique } from './errors.js';

/** The claim key of one quota slot: at most one allocation per (account, plan, slot). */
export const allocationId = (accountId: string, planSeq: number, slot: number): string => `vm:${accountId}:${planSeq}:${slot}`;

/** `exists`: the slot is taken (E11000), by a concurrent request or an earlier one. */
export async function insertAllocation(db: Db, doc: AllocationDoc): Promise<'inserted' | 'exists'> {
  return insertUnique<AllocationDoc>(db, COLLECTIONS.allocations, doc);
}

/** An account's allocations by plan and slot (a scan of one small collection; a request-path read); every account's without an id. */
export async function listAllocations(db: Db, accountId?: string): Promise<AllocationDoc[]> {
  const filter = accountId === undefined ? {} : { account_id: accountId };
  return db.collection<AllocationDoc>(COLLECTIONS.allocations).find(filter).sort({ account_id: 1, plan_seq: 1, slot: 1 }).toArray();
}

/**
 * Marks the shard's active allocations whose plan period has ended as expired, at most 20
 * statements per command (SPEC "What the embedded store costs"). Only the shard owner calls
 * it, so no other writer races these updates; a re-run finds nothing left to do.
 * Returns how many it marked.
 */
export async function expireAllocations(db: Db, shard: number, now: number): Promise<number> {
  const coll = db.collection<AllocationDoc>(COLLECTIONS.allocations);
  const due = await coll.find({ shard, status: 'active', expires_at: { $lte: new Date(now) } }, { projection: { _id: 1 } }).toArray();
  let marked = 0;
  for (let i = 0; i < due.length; i += MAX_STATEMENTS_PER_COMMAND) {
    const ops: AnyBulkWriteOperation<AllocationDoc>[] = due.slice(i, i + MAX_STATEMENTS_PER_COMMAND).map(({ _id }) => ({
      updateOne: { filter: { _id, status: 'active' }, update: { $set: { status: 'expired', expired_at: new Date(now) } } },
    }));
    const result = await coll.bulkWrite(ops, { ordered: false });
    marked += result.modifiedCount;
  }
  return marked;
}
