import type { AnyBulkWriteOperation, Db } from 'mongodb';
import { COLLECTIONS, type AccountDoc } from './collections.js';
import { duplicateIndexes, isDuplicateKey } from './errors.js';

/**
 * FerretDB v1 holds one pooled connection per statement of an update command until the
 * whole command ends, and hangs at ~100 (SPEC "What the embedded store costs"): never more
 * than this many statements in one command.
 */
export const MAX_STATEMENTS_PER_COMMAND = 20;

/**
 * Writes account projections, at most 20 upserts per command, commands one after the
 * other (the caller bounds how many flushes run at once). Only the shard owner calls this.
 */
export async function writeAccounts(db: Db, docs: readonly AccountDoc[]): Promise<void> {
  const accounts = db.collection<AccountDoc>(COLLECTIONS.accounts);
  for (let i = 0; i < docs.length; i += MAX_STATEMENTS_PER_COMMAND) {
    const chunk = docs.slice(i, i + MAX_STATEMENTS_PER_COMMAND);
    const ops: AnyBulkWriteOperation<AccountDoc>[] = chunk.map(({ _id, ...fields }) => ({
      // Never over a newer projection: a document at a later log position fails the filter,
      // the upsert then collides on _id (E11000) and this older write is dropped.
      updateOne: { filter: { _id, seq: { $lte: fields.seq } }, update: { $set: fields }, upsert: true },
    }));
    try {
      await accounts.bulkWrite(ops, { ordered: false });
    } catch (err) {
      // A newer projection already stored (see the filter), or two owners racing on the
      // first upsert of an account during a handover: the losing write is the older one.
      if (!isDuplicateKey(err)) duplicateIndexes(err);
    }
  }
}

export async function readAccount(db: Db, accountId: string): Promise<AccountDoc | null> {
  return db.collection<AccountDoc>(COLLECTIONS.accounts).findOne({ _id: accountId });
}

export function listShardAccounts(db: Db, shard: number): AsyncIterable<AccountDoc> {
  return db.collection<AccountDoc>(COLLECTIONS.accounts).find({ shard });
}

export function listAccounts(db: Db): AsyncIterable<AccountDoc> {
  return db.collection<AccountDoc>(COLLECTIONS.accounts).find({}).sort({ _id: 1 });
}
