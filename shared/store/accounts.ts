import type { Db } from 'mongodb';
import { decodeAccounts } from '../domain/index.js';
import { COLLECTIONS, type AccountDoc } from './collections.js';
import { PROJECTION_SNAPSHOTS, findSnapshot, pruneSnapshots, readSnapshotChunks, writeSnapshot } from './snapshots.js';

/**
 * FerretDB v1 holds one pooled connection per statement of an update command until the
 * whole command ends, and hangs at ~100 (SPEC "What the embedded store costs"): never more
 * than this many statements in one command.
 */
export const MAX_STATEMENTS_PER_COMMAND = 20;

/**
 * Writes a shard's projections as one snapshot: every account of the shard as of log
 * position `seq` (`encodeAccounts` chunks, written like the horizon's snapshots: chunks in
 * a collection of their own, then the manifest), then drops the older snapshots. A flush
 * thus costs a few documents whatever the number of accounts that changed (SPEC 11: the
 * embedded store pays per document and per scan), and a former owner writing late adds an
 * older snapshot, which readers never pick. Owners only.
 */
export async function writeProjectionSnapshot(
  db: Db,
  shard: number,
  seq: number,
  encoded: { chunks: Uint8Array[]; count: number },
  at: Date,
): Promise<{ outcome: 'inserted' | 'exists'; bytes: number }> {
  const written = await writeSnapshot(db, PROJECTION_SNAPSHOTS, { shard, seq, chunks: encoded.chunks, keys: encoded.count, at });
  await pruneSnapshots(db, PROJECTION_SNAPSHOTS, shard, seq);
  return written;
}

export interface ShardProjections {
  latest: Map<string, AccountDoc>;
  /** The log position the projections are folded through (the snapshot's), or null (none yet: a new shard). */
  seq: number | null;
}

/**
 * The shard's projections: its newest snapshot, or none for a shard that has none yet. A
 * snapshot that cannot be read whole (a chunk missing, a digest that differs) throws:
 * projections are what a takeover starts from.
 */
export async function loadShardAccounts(db: Db, shard: number): Promise<ShardProjections> {
  for (let attempt = 1; ; attempt++) {
    const manifest = await findSnapshot(db, PROJECTION_SNAPSHOTS, shard);
    if (!manifest) return { latest: new Map(), seq: null };
    try {
      const docs = decodeAccounts(await readSnapshotChunks(db, PROJECTION_SNAPSHOTS, manifest));
      return { latest: new Map(docs.map((d) => [d._id, d])), seq: manifest.seq };
    } catch (err) {
      // The owner's next flush dropped this snapshot while it was read: read its successor.
      const newest = await findSnapshot(db, PROJECTION_SNAPSHOTS, shard);
      if (attempt >= 3 || !newest || newest.seq === manifest.seq) throw err;
    }
  }
}

/**
 * An account's stored projection; `shard` is `shardOf(accountId, SHARDS)`. Reads the shard's
 * snapshot: the fallback of readers whose Redis read model is gone, not a request path.
 */
export async function readAccount(db: Db, accountId: string, shard: number): Promise<AccountDoc | null> {
  return (await loadShardAccounts(db, shard)).latest.get(accountId) ?? null;
}

/** Every account's stored projection, sorted by account id. An operator-side read of every shard. */
export async function listAccounts(db: Db): Promise<AccountDoc[]> {
  const shards = new Set(
    (
      await db
        .collection<{ shard: number }>(COLLECTIONS.projectionSnapshots)
        .find({}, { projection: { shard: 1 } })
        .toArray()
    ).map((m) => m.shard),
  );
  const all: AccountDoc[] = [];
  for (const shard of shards) all.push(...(await loadShardAccounts(db, shard)).latest.values());
  return all.sort((a, b) => (a._id < b._id ? -1 : a._id > b._id ? 1 : 0));
}
