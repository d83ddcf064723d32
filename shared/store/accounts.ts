import type { Db } from 'mongodb';
import { COLLECTIONS, type AccountDoc } from './collections.js';
import { duplicateIndexes } from './errors.js';

/**
 * FerretDB v1 holds one pooled connection per statement of an update command until the
 * whole command ends, and hangs at ~100 (SPEC "What the embedded store costs"): never more
 * than this many statements in one command.
 */
export const MAX_STATEMENTS_PER_COMMAND = 20;

/** Ids per `$in` of one delete statement (FerretDB fails past 32,766 SQL variables). */
const DELETE_CHUNK = 5000;

/**
 * The account projections of one shard live in their own collection, `accounts_<shard>`:
 * FerretDB v1 scans a whole collection for every query (SPEC 11), so a read or a flush
 * pays for one shard's accounts, not for all of them.
 */
export const accountsCollection = (shard: number): string => `${COLLECTIONS.accounts}_${shard}`;

/**
 * Account projections are stored as versions: `_id` = `<account_id>@<seq>`, the shard-log
 * position the version is folded through. A flush inserts the new versions in one
 * `insertMany` and then deletes the versions they supersede in one single-statement
 * delete, so writing 1000 accounts costs two store transactions instead of 1000 updates
 * (each an fsync on the embedded SQLite store). A version never overwrites another: a
 * former owner writing late adds an older version, which readers ignore and the current
 * owner's reconcile deletes. Readers take the highest `seq` of an account.
 */
export type StoredAccount = Omit<AccountDoc, '_id' | keyof typeof UNSET> & Partial<Pick<AccountDoc, keyof typeof UNSET>> & { _id: string; account_id: string };

/**
 * Fields a stored version leaves out while they hold these values (an account that never
 * paid nor bought a plan), filled back on read. FerretDB spends its CPU per field of every
 * document it writes or scans (a flush's delete scans the shard's whole collection), so a
 * version half the size costs about half (test/bench/ferretdb-deletes.ts).
 */
const UNSET = {
  first_paid_at: null,
  last_active_at: null,
  discount_tier: 'none',
  current_plan_id: null,
  vm_quota_total: 0,
  vm_quota_used: 0,
  vm_quota_period_end: null,
  kyc_verified: false,
} as const satisfies Partial<AccountDoc>;

export const accountVersionId = (accountId: string, seq: number): string => `${accountId}@${seq}`;

function toStored(doc: AccountDoc): StoredAccount {
  const stored: Record<string, unknown> = { _id: accountVersionId(doc._id, doc.seq), account_id: doc._id };
  for (const [field, value] of Object.entries(doc)) {
    if (field === '_id' || value === undefined) continue;
    if (field in UNSET && UNSET[field as keyof typeof UNSET] === value) continue;
    stored[field] = value;
  }
  return stored as StoredAccount;
}

function fromStored(doc: StoredAccount): AccountDoc {
  const { account_id, ...fields } = doc;
  return { ...UNSET, ...fields, _id: account_id };
}

/** `<account>@<seq>` → the account id (ids never contain `@`: SPEC 3's account charset). */
const accountOfVersion = (versionId: string): string => versionId.slice(0, versionId.lastIndexOf('@'));

function groupByShard<T>(items: readonly T[], shardOf: (item: T) => number): Map<number, T[]> {
  const out = new Map<number, T[]>();
  for (const item of items) {
    const shard = shardOf(item);
    const list = out.get(shard);
    if (list) list.push(item);
    else out.set(shard, [item]);
  }
  return out;
}

async function deleteVersions(db: Db, shard: number, ids: readonly string[]): Promise<void> {
  const accounts = db.collection<StoredAccount>(accountsCollection(shard));
  for (let i = 0; i < ids.length; i += DELETE_CHUNK) await accounts.deleteMany({ _id: { $in: ids.slice(i, i + DELETE_CHUNK) } });
}

export interface ProjectionVersions {
  docs: readonly AccountDoc[];
  /** Version ids deleted before the insert (a wrong version under a new version's id). */
  replace?: readonly string[];
  /** Version ids deleted after the insert. */
  superseded?: readonly string[];
}

/**
 * Writes projection versions, shard by shard: deletes the wrong ones that share an id with a
 * new one, inserts the new ones, then deletes the superseded. Owners only, each for its own
 * shards. `shardOfAccount` places a version id's account (the caller knows its shards).
 */
export async function writeAccounts(db: Db, write: ProjectionVersions, shardOfAccount: (accountId: string) => number): Promise<void> {
  const byVersion = (id: string): number => shardOfAccount(accountOfVersion(id));
  const replace = groupByShard(write.replace ?? [], byVersion);
  const docs = groupByShard(write.docs, (d) => d.shard);
  const superseded = groupByShard(write.superseded ?? [], byVersion);
  for (const shard of new Set([...replace.keys(), ...docs.keys(), ...superseded.keys()])) {
    await deleteVersions(db, shard, replace.get(shard) ?? []);
    const batch = docs.get(shard) ?? [];
    if (batch.length > 0) {
      try {
        await db.collection<StoredAccount>(accountsCollection(shard)).insertMany(batch.map(toStored), { ordered: false });
      } catch (err) {
        duplicateIndexes(err); // the same version written twice (a retried flush) is the same content
      }
    }
    await deleteVersions(db, shard, superseded.get(shard) ?? []);
  }
}

/** The latest version of every account in `docs`, plus the ids of the versions it supersedes. */
function latestOf(docs: Iterable<StoredAccount>): { latest: Map<string, AccountDoc>; stale: string[] } {
  const best = new Map<string, StoredAccount>();
  const stale: string[] = [];
  for (const doc of docs) {
    const current = best.get(doc.account_id);
    if (!current || doc.seq > current.seq) {
      if (current) stale.push(current._id);
      best.set(doc.account_id, doc);
    } else {
      stale.push(doc._id);
    }
  }
  return { latest: new Map([...best].map(([id, d]) => [id, fromStored(d)])), stale };
}

/** An account's latest projection; `shard` is `shardOf(accountId, SHARDS)`. */
export async function readAccount(db: Db, accountId: string, shard: number): Promise<AccountDoc | null> {
  const doc = await db.collection<StoredAccount>(accountsCollection(shard)).find({ account_id: accountId }).sort({ seq: -1 }).limit(1).next();
  return doc ? fromStored(doc) : null;
}

export interface ShardProjections {
  latest: Map<string, AccountDoc>;
  /** Versions superseded by a later one of the same account. */
  stale: string[];
}

/** The shard's projections (latest versions) and the ids of versions left behind. */
export async function loadShardAccounts(db: Db, shard: number): Promise<ShardProjections> {
  return latestOf(await db.collection<StoredAccount>(accountsCollection(shard)).find({}).toArray());
}

/** Every account's latest projection, sorted by account id. An operator-side scan of every shard. */
export async function listAccounts(db: Db): Promise<AccountDoc[]> {
  const names = (await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name).filter((n) => /^accounts_\d+$/.test(n));
  const all: AccountDoc[] = [];
  for (const name of names) all.push(...latestOf(await db.collection<StoredAccount>(name).find({}).toArray()).latest.values());
  return all.sort((a, b) => (a._id < b._id ? -1 : a._id > b._id ? 1 : 0));
}
