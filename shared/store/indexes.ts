import type { Db, IndexDescription } from 'mongodb';
import { COLLECTIONS } from './collections.js';

/** Secondary indexes by collection name. */
export type IndexPlan = Readonly<Record<string, readonly IndexDescription[]>>;

/**
 * The product's secondary indexes. Correctness needs none (every claim is a unique `_id`);
 * these serve the owner's takeover queries on MongoDB. FerretDB's SQLite backend uses no
 * index for a filter but pays for each one on every insert, so keep this list short.
 */
export const STORE_INDEXES: IndexPlan = {
  [COLLECTIONS.shardLog]: [{ key: { shard: 1, seq: 1 }, name: 'shard_seq' }],
};

/**
 * Creates the indexes that do not exist yet (idempotent; a changed definition under the same
 * name fails loudly). One index per command: FerretDB v1.24 panics ("slice bounds out of
 * range") on a createIndexes of several indexes that already exist, i.e. on every restart.
 */
export async function ensureIndexes(db: Db, plan: IndexPlan = STORE_INDEXES): Promise<void> {
  for (const [collection, indexes] of Object.entries(plan)) {
    for (const index of indexes) await db.collection(collection).createIndexes([index]);
  }
}
