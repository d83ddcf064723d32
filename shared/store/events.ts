import type { Db } from 'mongodb';
import { COLLECTIONS, type EventDoc } from './collections.js';
import { duplicateIndexes } from './errors.js';

/**
 * Inserts crossing events; ids are deterministic, so an event already stored (a replay
 * after a crash) is skipped. Returns the events that are new.
 */
export async function insertEvents(db: Db, events: readonly EventDoc[]): Promise<EventDoc[]> {
  if (events.length === 0) return [];
  try {
    await db.collection<EventDoc>(COLLECTIONS.events).insertMany([...events], { ordered: false });
    return [...events];
  } catch (err) {
    const dups = duplicateIndexes(err);
    return events.filter((_, i) => !dups.has(i));
  }
}

/** An account's latest crossing events, newest first (a scan of the small events collection). */
export async function listEvents(db: Db, accountId: string, limit: number): Promise<EventDoc[]> {
  return db.collection<EventDoc>(COLLECTIONS.events).find({ account_id: accountId }).sort({ at: -1, _id: 1 }).limit(limit).toArray();
}
