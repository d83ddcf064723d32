import type { Db } from 'mongodb';
import { COLLECTIONS, type TickDoc, type TierTransitionDoc } from './collections.js';
export { tierTransitionId } from '../domain/index.js';
import { duplicateIndexes } from './errors.js';
import { insertUnique } from './insertBatches.js';

/** Inserts transitions, skipping those already recorded; returns how many are new. */
export async function insertTierTransitions(db: Db, docs: readonly TierTransitionDoc[]): Promise<number> {
  if (docs.length === 0) return 0;
  try {
    await db.collection<TierTransitionDoc>(COLLECTIONS.tierTransitions).insertMany([...docs], { ordered: false });
    return docs.length;
  } catch (err) {
    return docs.length - duplicateIndexes(err).size;
  }
}

export async function listTierTransitions(db: Db, accountId: string): Promise<TierTransitionDoc[]> {
  return db.collection<TierTransitionDoc>(COLLECTIONS.tierTransitions).find({ account_id: accountId }).sort({ at: 1, _id: 1 }).toArray();
}

/** Records a tick's outcome once; a retried run of the same tick id keeps the first record. */
export async function insertTick(db: Db, doc: TickDoc): Promise<'inserted' | 'exists'> {
  return insertUnique<TickDoc>(db, COLLECTIONS.ticks, doc);
}

/** The latest ticks first (tick history for operators). */
export async function listTicks(db: Db, limit: number): Promise<TickDoc[]> {
  return db.collection<TickDoc>(COLLECTIONS.ticks).find({}).sort({ started_at: -1 }).limit(limit).toArray();
}
