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
      updateOne: { filter: { _id }, update: { $set: fields }, upsert: true },
    }));
    try {
      await accounts.bulkWrite(ops, { ordered: false });
    } catch (err) {
      // Two owners overlapping during a handover can race on the first upsert of an
      // account; the loser's write is older anyway, and the owner writes again later.
      if (!isDuplicateKey(err)) duplicateIndexes(err);
    }
  }
}

export async function readAccount(db: Db, accountId: string): Promise<AccountDoc | null> {
  return db.collection<AccountDoc>(COLLECTIONS.accounts).findOne({ _id: accountId });
}

export function listAccounts(db: Db): AsyncIterable<AccountDoc> {
  return db.collection<AccountDoc>(COLLECTIONS.accounts).find({}).sort({ _id: 1 });
}
