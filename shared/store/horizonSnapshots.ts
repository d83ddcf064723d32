import { createHash } from 'node:crypto';
import { Binary, type Db } from 'mongodb';
import { COLLECTIONS, type HorizonChunkDoc, type HorizonManifestDoc } from './collections.js';
import { insertUnique } from './errors.js';

/**
 * Snapshots of a shard owner's dedup horizon (the records charged or refused inside it), so
 * that a takeover restores them instead of reading every log entry that holds them. A
 * snapshot is a cache of the shard log: the log stays the truth, and a takeover that finds
 * no usable snapshot reads the log as before.
 *
 * Each snapshot's chunks get a collection of their own, `horizon_<shard>_<seq>`: FerretDB v1
 * scans a whole collection for every query (SPEC 11), so a takeover's read scans exactly one
 * snapshot, and an older one goes with a `drop` rather than a delete that would scan it. The
 * manifest, inserted after the last chunk, is what makes a snapshot count; manifests live in
 * one small collection, `horizon_snapshots`, `_id` `<shard>:<seq>`.
 */
export const horizonChunksCollection = (shard: number, seq: number): string => `horizon_${shard}_${seq}`;

const CHUNKS_COLLECTION = /^horizon_(\d+)_(\d+)$/;

export interface HorizonSnapshotWrite {
  shard: number;
  /** The log position the horizon is folded through. */
  seq: number;
  chunks: readonly Uint8Array[];
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
export async function writeHorizonSnapshot(db: Db, snap: HorizonSnapshotWrite): Promise<{ outcome: 'inserted' | 'exists'; bytes: number }> {
  const { sha256, bytes } = digest(snap.chunks);
  const docs = snap.chunks.map((data, i): HorizonChunkDoc => ({ _id: i, data: new Binary(data) }));
  if (docs.length > 0) await db.collection<HorizonChunkDoc>(horizonChunksCollection(snap.shard, snap.seq)).insertMany(docs, { ordered: true });
  const manifest: HorizonManifestDoc = { _id: `${snap.shard}:${snap.seq}`, shard: snap.shard, seq: snap.seq, chunks: docs.length, bytes, sha256, keys: snap.keys, at: snap.at };
  return { outcome: await insertUnique<HorizonManifestDoc>(db, COLLECTIONS.horizonSnapshots, manifest), bytes };
}

/** The manifest of the shard's newest snapshot, or null. */
export async function findHorizonSnapshot(db: Db, shard: number): Promise<HorizonManifestDoc | null> {
  return db.collection<HorizonManifestDoc>(COLLECTIONS.horizonSnapshots).find({ shard }).sort({ seq: -1 }).limit(1).next();
}

/**
 * The chunks a manifest names, in order, exactly as written; throws when one is missing
 * (pruned while being read, say) or the bytes differ from the manifest's digest.
 */
export async function readHorizonChunks(db: Db, manifest: HorizonManifestDoc): Promise<Uint8Array[]> {
  const docs = await db.collection<HorizonChunkDoc>(horizonChunksCollection(manifest.shard, manifest.seq)).find({}).toArray();
  docs.sort((a, b) => a._id - b._id);
  const name = `horizon snapshot ${manifest._id}`;
  if (docs.length !== manifest.chunks || docs.some((d, i) => d._id !== i)) throw new Error(`${name}: ${docs.length} of ${manifest.chunks} chunks`);
  const chunks = docs.map((d) => d.data.buffer);
  const { sha256, bytes } = digest(chunks);
  if (bytes !== manifest.bytes || sha256 !== manifest.sha256) throw new Error(`${name}: the chunks differ from the manifest`);
  return chunks;
}

/**
 * Removes the shard's snapshots older than `seq` (the one just written): their manifests in
 * one single-statement delete, then their chunk collections, those of writers that died
 * before their manifest included. Returns how many chunk collections were dropped.
 */
export async function pruneHorizonSnapshots(db: Db, shard: number, seq: number): Promise<number> {
  await db.collection<HorizonManifestDoc>(COLLECTIONS.horizonSnapshots).deleteMany({ shard, seq: { $lt: seq } });
  const names = (await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name);
  let dropped = 0;
  for (const name of names) {
    const m = CHUNKS_COLLECTION.exec(name);
    if (!m || Number(m[1]) !== shard || Number(m[2]) >= seq) continue;
    await db.collection(name).drop();
    dropped++;
  }
  return dropped;
}
