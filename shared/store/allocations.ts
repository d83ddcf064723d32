import type { AnyBulkWriteOperation, Db } from 'mongodb';
import { MAX_STATEMENTS_PER_COMMAND } from './accounts.js';
import { COLLECTIONS, type AllocationDoc } from './collections.js';
import { InvalidCursorError } from './errors.js';
import { insertUnique } from './insertBatches.js';

/** The claim key of one quota slot: at most one allocation per (account, plan, slot). */
export const allocationId = (accountId: string, planSeq: number, slot: number): string => `vm:${accountId}:${planSeq}:${slot}`;

/** `exists`: the slot is taken (E11000), by a concurrent request or an earlier one. */
export async function insertAllocation(db: Db, doc: AllocationDoc): Promise<'inserted' | 'exists'> {
  return insertUnique<AllocationDoc>(db, COLLECTIONS.allocations, doc);
}

/** Every allocation (one account's with an id) by account, plan and slot: the CLI's listing; the API pages (pageAllocations). */
export async function listAllocations(db: Db, accountId?: string): Promise<AllocationDoc[]> {
  const filter = accountId === undefined ? {} : { account_id: accountId };
  return db.collection<AllocationDoc>(COLLECTIONS.allocations).find(filter).sort({ account_id: 1, plan_seq: 1, slot: 1 }).toArray();
}

export interface AllocationPage {
  /** Newest plan first, highest slot first. */
  allocations: AllocationDoc[];
  /** Pass as `after` for the next page (the last allocation's id); null on the last page. */
  next: string | null;
}

/**
 * One page of an account's allocations, newest first (SPEC 10: every list the API serves is
 * paged). `after` is an allocation id of the account, as `next` gives it; any other value
 * is refused with an InvalidCursorError.
 */
export async function pageAllocations(db: Db, accountId: string, page: { limit: number; after?: string | undefined }): Promise<AllocationPage> {
  let below = {};
  if (page.after !== undefined) {
    const match = /^(\d{1,9}):(\d{1,9})$/.exec(page.after.startsWith(`vm:${accountId}:`) ? page.after.slice(`vm:${accountId}:`.length) : '');
    if (!match) throw new InvalidCursorError(`after: not an allocation of account ${accountId} (pass the \`next\` of the previous page)`);
    const [planSeq, slot] = [Number(match[1]), Number(match[2])];
    below = { $or: [{ plan_seq: { $lt: planSeq } }, { plan_seq: planSeq, slot: { $lt: slot } }] };
  }
  const found = await db
    .collection<AllocationDoc>(COLLECTIONS.allocations)
    .find({ account_id: accountId, ...below })
    .sort({ plan_seq: -1, slot: -1 })
    .limit(page.limit + 1)
    .toArray();
  const allocations = found.slice(0, page.limit);
  return { allocations, next: found.length > page.limit ? allocations.at(-1)!._id : null };
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
