import type { Db } from 'mongodb';
import { COLLECTIONS, type AccountKeyDoc, type KeyRevocationDoc, type ProducerKeyDoc } from './collections.js';
import { insertUnique } from './insertBatches.js';

/**
 * Account and producer keys (SPEC 13 "Who may call what"). Both documents are insert-only: a key is one
 * insert, a revocation another (`revoked:<key id>`), so no update ever races (SPEC "What is
 * atomic") and a revocation cannot be lost or undone. The collection holds a few documents
 * per account; every FerretDB query scans it, which is why the API reads it only on a key
 * cache miss and keeps revocations in Redis (services/api/keys).
 */

/** A key of either kind. */
export type KeyDoc = AccountKeyDoc | ProducerKeyDoc;
type KeyStoreDoc = KeyDoc | KeyRevocationDoc;

export const revocationId = (keyId: string): string => `revoked:${keyId}`;

const keys = (db: Db) => db.collection<KeyStoreDoc>(COLLECTIONS.accountKeys);

/** The keys of `kind` among `docs` that no revocation among them names, oldest first. */
function unrevoked<K extends KeyDoc['kind']>(docs: readonly KeyStoreDoc[], kind: K): Extract<KeyDoc, { kind: K }>[] {
  const revoked = new Set(docs.flatMap((d) => (d.kind === 'revocation' ? [d.key_id] : [])));
  return docs
    .filter((d): d is Extract<KeyDoc, { kind: K }> => d.kind === kind && !revoked.has(d._id))
    .sort((a, b) => a.created_at.getTime() - b.created_at.getTime() || (a._id < b._id ? -1 : 1));
}

/** `exists`: the key id is taken (ids are random: only a retried insert of the same key). */
export async function insertAccountKey(db: Db, doc: KeyDoc): Promise<'inserted' | 'exists'> {
  return insertUnique<KeyStoreDoc>(db, COLLECTIONS.accountKeys, doc);
}

/** A key and whether it is revoked, in one query (one scan on FerretDB). */
export async function readAccountKey(db: Db, keyId: string): Promise<{ key: KeyDoc | null; revokedAt: Date | null }> {
  const docs = await keys(db)
    .find({ _id: { $in: [keyId, revocationId(keyId)] } })
    .toArray();
  let key: KeyDoc | null = null;
  let revokedAt: Date | null = null;
  for (const doc of docs) {
    if (doc.kind === 'revocation') revokedAt = doc.revoked_at;
    else key = doc;
  }
  return { key, revokedAt };
}

/** Records a revocation once; a second revoke of the same key keeps the first instant. */
export async function insertKeyRevocation(db: Db, doc: KeyRevocationDoc): Promise<'inserted' | 'exists'> {
  return insertUnique<KeyStoreDoc>(db, COLLECTIONS.accountKeys, doc);
}

/** An account's keys that are not revoked, oldest first. */
export async function listAccountKeys(db: Db, accountId: string): Promise<AccountKeyDoc[]> {
  return unrevoked(await keys(db).find({ account_id: accountId }).toArray(), 'key');
}

/** The producer keys that are not revoked, oldest first (a handful: one per producing system). */
export async function listProducerKeys(db: Db): Promise<ProducerKeyDoc[]> {
  return unrevoked(
    await keys(db)
      .find({ $or: [{ kind: 'producer' }, { kind: 'revocation', account_id: null }] })
      .toArray(),
    'producer',
  );
}

/** Every revoked key id: what the API's Redis revocation set is rebuilt from. */
export async function listRevokedKeyIds(db: Db): Promise<string[]> {
  const docs = await keys(db)
    .find({ kind: 'revocation' }, { projection: { key_id: 1 } })
    .toArray();
  return docs.map((d) => (d as KeyRevocationDoc).key_id);
}
