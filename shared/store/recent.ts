import type { Db } from 'mongodb';
import { COLLECTIONS, type AllocationDoc, type TierTransitionDoc } from './collections.js';

/**
 * Operator views across accounts: the latest documents of small collections, bounded by
 * `limit`. Each is one scan on the embedded store (SPEC 11), so callers cache them.
 */
export async function listRecentAllocations(db: Db, limit: number): Promise<AllocationDoc[]> {
  return db.collection<AllocationDoc>(COLLECTIONS.allocations).find({}).sort({ created_at: -1, _id: 1 }).limit(limit).toArray();
}

export async function listRecentTierTransitions(db: Db, limit: number): Promise<TierTransitionDoc[]> {
  return db.collection<TierTransitionDoc>(COLLECTIONS.tierTransitions).find({}).sort({ at: -1, _id: 1 }).limit(limit).toArray();
}
