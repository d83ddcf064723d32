import type { Db } from 'mongodb';
import { COLLECTIONS, type AccountDoc, type CheckpointDoc, type ShardLogDoc } from './collections.js';
import { isDuplicateKey } from './errors.js';

export const shardLogId = (shard: number, seq: number): string => `${shard}:${seq}`;

/**
 * Appends one shard-log entry. `conflict` means another owner already wrote this step:
 * the caller's view of the shard is stale and must be rebuilt before anything else.
 */
export async function appendShardLog(db: Db, doc: ShardLogDoc): Promise<'ok' | 'conflict'> {
  try {
    await db.collection<ShardLogDoc>(COLLECTIONS.shardLog).insertOne(doc);
    return 'ok';
  } catch (err) {
    if (isDuplicateKey(err)) return 'conflict';
    throw err;
  }
}

export interface ShardSnapshot {
  /** Last written log position (0 = empty shard). */
  seq: number;
  checkpoint: number;
  accounts: AccountDoc[];
  /** Log entries after the checkpoint, ascending: replayed onto the projections. */
  tail: ShardLogDoc[];
  /** Record ids charged since `idsSince` (the dedup horizon), with the time they were charged. */
  ids: Map<string, number>;
}

/**
 * Everything an owner needs to take a shard: a handful of full scans, once, at takeover
 * (FerretDB scans every query anyway; the hot path then reads nothing).
 */
export async function loadShard(db: Db, shard: number, idsSince: Date): Promise<ShardSnapshot> {
  const log = db.collection<ShardLogDoc>(COLLECTIONS.shardLog);
  const checkpoint = await db.collection<CheckpointDoc>(COLLECTIONS.checkpoints).findOne({ _id: shard });
  const from = checkpoint?.seq ?? 0;
  const accounts = await db.collection<AccountDoc>(COLLECTIONS.accounts).find({ shard }).toArray();
  const tail = await log.find({ shard, seq: { $gt: from } }).sort({ seq: 1 }).toArray();
  const ids = new Map<string, number>();
  const recent = log.find({ shard, at: { $gte: idsSince } }, { projection: { ids: 1, at: 1, seq: 1 } });
  let seq = from;
  for await (const entry of recent) {
    const at = entry.at.getTime();
    for (const id of entry.ids) ids.set(id, at);
    if (entry.seq > seq) seq = entry.seq;
  }
  for (const entry of tail) if (entry.seq > seq) seq = entry.seq;
  if (seq === from && from === 0) {
    // No checkpoint and nothing recent: the shard may still have old entries.
    const last = await log.find({ shard }, { projection: { seq: 1 } }).sort({ seq: -1 }).limit(1).next();
    if (last) seq = last.seq;
  }
  return { seq, checkpoint: from, accounts, tail, ids };
}

/** Records that every projection of the shard is folded through `seq`. Written by the owner only. */
export async function writeCheckpoint(db: Db, shard: number, seq: number): Promise<void> {
  await db
    .collection<CheckpointDoc>(COLLECTIONS.checkpoints)
    .updateOne({ _id: shard }, { $set: { seq, at: new Date() } }, { upsert: true });
}
