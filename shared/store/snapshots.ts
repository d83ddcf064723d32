import { createHash } from 'node:crypto';
import { Binary, type Db } from 'mongodb';
import { COLLECTIONS, type HorizonChunkDoc, type HorizonManifestDoc } from './collections.js';
import { isDuplicateKey } from './errors.js';
import { insertUnique } from './insertBatches.js';

/**
 * Snapshots of a shard owner's state, written whole as binary chunks: its dedup horizon
 * (the records charged or refused inside it), so that a takeover restores them instead of
 * reading every log entry that holds them, and its account projections (every account of
 * the shard as of one log position), the state a new owner starts from. A snapshot is a
 * cache of the shard log: the log stays the truth.
 *
 * Each snapshot's chunks get a collection of their own, `<family>_<shard>_<seq>`: FerretDB
 * v1 scans a whole collection for every query (SPEC 11), so a takeover's read scans exactly
 * one snapshot, and an older one goes with a `drop` rather than a delete that would scan
 * it. The manifest, inserted after the last chunk, is what makes a snapshot count; the
 * manifests of a family live in one small collection, `_id` `<shard>:<seq>`.
 */
export interface SnapshotFamily {
  /** Prefix of the chunk collections: `<prefix>_<shard>_<seq>`. */
  prefix: string;
  /** The family's manifest collection. */
  manifests: string;
}

export const HORIZON_SNAPSHOTS: SnapshotFamily = { prefix: 'horizon', manifests: COLLECTIONS.horizonSnapshots };
export const PROJECTION_SNAPSHOTS: SnapshotFamily = { prefix: 'projections', manifests: COLLECTIONS.projectionSnapshots };

export const snapshotChunksCollection = (family: SnapshotFamily, shard: number, seq: number): string => `${family.prefix}_${shard}_${seq}`;
export const horizonChunksCollection = (shard: number, seq: number): string => snapshotChunksCollection(HORIZON_SNAPSHOTS, shard, seq);

export interface HorizonSnapshotWrite {
  shard: number;
  /** The log position the state is folded through. */
  seq: number;
  chunks: readonly Uint8Array[];
  /** Keys (horizon) or accounts (projections) it holds. */
  keys: number;
  at: Date;
}

function digest(chunks: readonly Uint8Array[]): { sha256: string; bytes: number } {
  const hash = createHash('sha256');
  let bytes = 0;
  for (const c of chunks) {
    hash.update(c);
    bytes += c.byteLength;
  }
  return { sha256: hash.digest('hex'), bytes };
}

/**
 * Writes the chunks, then the manifest. Insert only: `exists` when a manifest for this
 * position is there already (its chunks are then the ones it names). A writer that dies
 * midway leaves chunks without a manifest, which count for nothing and go with the next prune.
 */
export async function writeSnapshot(db: Db, family: SnapshotFamily, snap: HorizonSnapshotWrite): Promise<{ outcome: 'inserted' | 'exists'; bytes: number }> {
  const { sha256, bytes } = digest(snap.chunks);
  const id = `${snap.shard}:${snap.seq}`;
  // Written at this position before (a retried flush): the manifest names those chunks.
  if (await db.collection<HorizonManifestDoc>(family.manifests).findOne({ _id: id }, { projection: { _id: 1 } })) return { outcome: 'exists', bytes };
  const docs = snap.chunks.map((data, i): HorizonChunkDoc => ({ _id: i, data: new Binary(data) }));
  const chunks = db.collection<HorizonChunkDoc>(snapshotChunksCollection(family, snap.shard, snap.seq));
  if (docs.length > 0) {
    try {
      await chunks.insertMany(docs, { ordered: true });
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      // Chunks of a write that died before its manifest: they count for nothing; replace them.
      await chunks.drop();
      await chunks.insertMany(docs, { ordered: true });
    }
  }
  const manifest: HorizonManifestDoc = { _id: id, shard: snap.shard, seq: snap.seq, chunks: docs.length, bytes, sha256, keys: snap.keys, at: snap.at };
  return { outcome: await insertUnique<HorizonManifestDoc>(db, family.manifests, manifest), bytes };
}

/** The manifest of the shard's newest snapshot of the family, or null. */
export async function findSnapshot(db: Db, family: SnapshotFamily, shard: number): Promise<HorizonManifestDoc | null> {
  return db.collection<HorizonManifestDoc>(family.manifests).find({ shard }).sort({ seq: -1 }).limit(1).next();
}

/**
 * The chunks a manifest names, in order, exactly as written; throws when one is missing
 * (pruned while being read, say) or the bytes differ from the manifest's digest.
 */
export async function readSnapshotChunks(db: Db, family: SnapshotFamily, manifest: HorizonManifestDoc): Promise<Uint8Array[]> {
  const docs = await db
    .collection<HorizonChunkDoc>(snapshotChunksCollection(family, manifest.shard, manifest.seq))
    .find({})
    .toArray();
  docs.sort((a, b) => a._id - b._id);
  const name = `${family.prefix} snapshot ${manifest._id}`;
  if (docs.length !== manifest.chunks || docs.some((d, i) => d._id !== i)) throw new Error(`${name}: ${docs.length} of ${manifest.chunks} chunks`);
  const chunks = docs.map((d) => d.data.buffer);
  const { sha256, bytes } = digest(chunks);
  if (bytes !== manifest.bytes || sha256 !== manifest.sha256) throw new Error(`${name}: the chunks differ from the manifest`);
  return chunks;
}

/**
 * Removes the shard's snapshots of the family older than `seq` (the one just written): their
 * manifests in one single-statement delete, then their chunk collections, those of writers
 * that died before their manifest included. Returns how many chunk collections were dropped.
 * `collections`: the database's collection names, when the caller has just listed them.
 */
export async function pruneSnapshots(db: Db, family: SnapshotFamily, shard: number, seq: number, collections?: readonly string[]): Promise<number> {
  await db.collection<HorizonManifestDoc>(family.manifests).deleteMany({ shard, seq: { $lt: seq } });
  const pattern = new RegExp(`^${family.prefix}_(\\d+)_(\\d+)$`);
  const names = collections ?? (await listCollectionNames(db));
  let dropped = 0;
  for (const name of names) {
    const m = pattern.exec(name);
    if (!m || Number(m[1]) !== shard || Number(m[2]) >= seq) continue;
    await db.collection(name).drop();
    dropped++;
  }
  return dropped;
}

/** Every collection name of the database (one command). */
export async function listCollectionNames(db: Db): Promise<string[]> {
  return (await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name);
}

export const writeHorizonSnapshot = (db: Db, snap: HorizonSnapshotWrite) => writeSnapshot(db, HORIZON_SNAPSHOTS, snap);
export const findHorizonSnapshot = (db: Db, shard: number) => findSnapshot(db, HORIZON_SNAPSHOTS, shard);
export const readHorizonChunks = (db: Db, manifest: HorizonManifestDoc) => readSnapshotChunks(db, HORIZON_SNAPSHOTS, manifest);
export const pruneHorizonSnapshots = (db: Db, shard: number, seq: number) => pruneSnapshots(db, HORIZON_SNAPSHOTS, shard, seq);
