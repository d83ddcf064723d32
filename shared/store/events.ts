import type { Db } from 'mongodb';
import { COLLECTIONS, type EventDoc } from './collections.js';
import { duplicateIndexes } from './errors.js';

/** Ids per update statement when marking events published (one statement, one pooled connection). */
const MARK_CHUNK = 1000;

/**
 * Inserts crossing events as not yet published; ids are deterministic, so an event already
 * stored (a replay after a crash) is skipped. Returns the events that are new.
 */
export async function insertEvents(db: Db, events: readonly EventDoc[]): Promise<EventDoc[]> {
  if (events.length === 0) return [];
  try {
    await db.collection<EventDoc>(COLLECTIONS.events).insertMany(
      events.map((e) => ({ ...e, published: false })),
      { ordered: false },
    );
    return [...events];
  } catch (err) {
    const dups = duplicateIndexes(err);
    return events.filter((_, i) => !dups.has(i));
  }
}

/**
 * Marks events as on NATS. Only the owner of their shard calls it, so the update has one
 * writer (SPEC "What is atomic"); a mark lost to a crash only means the event is published
 * once more, which at-least-once delivery allows.
 */
export async function markEventsPublished(db: Db, ids: readonly string[], at: Date): Promise<void> {
  const events = db.collection<EventDoc>(COLLECTIONS.events);
  for (let i = 0; i < ids.length; i += MARK_CHUNK) {
    await events.updateMany({ _id: { $in: ids.slice(i, i + MARK_CHUNK) } }, { $set: { published: true, published_at: at } });
  }
}

/** The shard's events stored but not known to be on NATS: a new owner publishes them (one scan of the small events collection). */
export async function listUnpublishedEvents(db: Db, shard: number): Promise<EventDoc[]> {
  return db.collection<EventDoc>(COLLECTIONS.events).find({ shard, published: false }).sort({ seq: 1, _id: 1 }).toArray();
}

/** An account's latest crossing events, newest first (a scan of the small events collection). */
export async function listEvents(db: Db, accountId: string, limit: number): Promise<EventDoc[]> {
  return db.collection<EventDoc>(COLLECTIONS.events).find({ account_id: accountId }).sort({ at: -1, _id: 1 }).limit(limit).toArray();
}
