import type { Db } from 'mongodb';
import { deltasOf, horizonKeys, type HorizonBatch, type LogTotals, type ShardLogDoc, type ShardSnapshot } from '../domain/index.js';
import { COLLECTIONS, type CheckpointDoc } from './collections.js';
import { isDuplicateKey } from './errors.js';
import { insertUnique } from './insertBatches.js';
import { MAX_STATEMENTS_PER_COMMAND, loadShardAccounts } from './accounts.js';
import { addFolded, unfoldedEntries, type LedgerState } from './ledger.js';

/** The log's codec is the domain's (shared/domain/shardLog.ts); the store names it too. */
export { deltasOf, forEachRecord, horizonKeys, packDeltas, packRecords, shardLogId, unpackRecords } from '../domain/index.js';
export type { HorizonBatch, LogTotals, ShardSnapshot } from '../domain/index.js';

/**
 * Appends one shard-log entry. `conflict` means another owner already wrote this step:
 * the caller's view of the shard is stale and must be rebuilt before anything else.
 */
export async function appendShardLog(db: Db, doc: ShardLogDoc): Promise<'ok' | 'conflict'> {
  return (await insertUnique<ShardLogDoc>(db, COLLECTIONS.shardLog, doc)) === 'inserted' ? 'ok' : 'conflict';
}

export interface LoadShardOptions {
  /**
   * The dedup horizon is restored through this log position (a snapshot): only the records
   * of later entries are read. @defaultValue 0, every entry inside the horizon
   */
  recordsAfter?: number;
}

/**
 * Everything an owner needs to take a shard, read once, at takeover; the hot path then
 * reads nothing. FerretDB scans the whole collection for every query, at a cost that grows
 * with the ids the log holds, so the log is read in two scans, run at once: the entries
 * after the checkpoint (or the projection snapshot's position, if later) and those whose
 * records the horizon needs, whole; and the counts and folds of the entries up to it. The first scan's entries complete the
 * second's, so totals and folds describe exactly the log through the position loaded.
 */
export async function loadShard(db: Db, shard: number, idsSince: Date, options: LoadShardOptions = {}): Promise<ShardSnapshot> {
  const checkpoint = await db.collection<CheckpointDoc>(COLLECTIONS.checkpoints).findOne({ _id: shard });
  const projections = await loadShardAccounts(db, shard);
  // A projection snapshot holds every account through its position: a checkpoint too.
  const from = Math.max(checkpoint?.seq ?? 0, projections.seq ?? 0);
  const [{ tail, horizon }, counted] = await Promise.all([readRecent(db, shard, from, options.recordsAfter ?? 0, idsSince), readCounts(db, shard, from)]);
  const { totals, ledger } = counted;
  let seq = from;
  for (const entry of tail) {
    totals.duplicates += entry.duplicates;
    for (const delta of deltasOf(entry)) totals.charged += delta.n;
    addFolded(ledger, entry.folds);
    seq = entry.seq;
  }
  const unfolded = await unfoldedEntries(db, shard, ledger.folded);
  return { seq, checkpoint: from, accounts: [...projections.latest.values()], tail, horizon, ...ledger, unfolded, totals };
}

/** The entries after `from` (the tail, ascending) and the records of those after `after` inside the horizon. */
async function readRecent(db: Db, shard: number, from: number, after: number, idsSince: Date): Promise<{ tail: ShardLogDoc[]; horizon: HorizonBatch[] }> {
  const tail: ShardLogDoc[] = [];
  const horizon: HorizonBatch[] = [];
  const entries = db
    .collection<ShardLogDoc>(COLLECTIONS.shardLog)
    .find({ shard, $or: [{ seq: { $gt: from } }, { seq: { $gt: after }, at: { $gte: idsSince } }] })
    .sort({ seq: 1 });
  for await (const entry of entries) {
    if (entry.seq > after && entry.at >= idsSince) horizon.push({ at: entry.at.getTime(), keys: horizonKeys(entry) });
    if (entry.seq > from) tail.push(entry);
  }
  return { tail, horizon };
}

/** Records charged, duplicates and folded ids of the entries up to `through`. */
async function readCounts(db: Db, shard: number, through: number): Promise<{ totals: LogTotals; ledger: Pick<LedgerState, 'folded' | 'refusedFolds'> }> {
  const totals: LogTotals = { charged: 0, duplicates: 0 };
  const ledger = { folded: new Set<string>(), refusedFolds: new Set<string>() };
  const entries = db
    .collection<ShardLogDoc>(COLLECTIONS.shardLog)
    .find({ shard, seq: { $lte: through } }, { projection: { duplicates: 1, deltas: 1, 'folds.id': 1, 'folds.refused': 1 } });
  for await (const entry of entries) {
    totals.duplicates += entry.duplicates;
    for (const delta of deltasOf(entry)) totals.charged += delta.n;
    addFolded(ledger, entry.folds);
  }
  return { totals, ledger };
}

/** Records that every projection of the shard is folded through `seq`. Written by the owner only. */
export async function writeCheckpoint(db: Db, shard: number, seq: number): Promise<void> {
  try {
    // Only forward: an older owner's late checkpoint collides on _id and is dropped.
    await db
      .collection<CheckpointDoc>(COLLECTIONS.checkpoints)
      .updateOne({ _id: shard, seq: { $lte: seq } }, { $set: { seq, at: new Date() } }, { upsert: true });
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
  }
}

/**
 * Empties the record ids of log entries older than the dedup horizon: they no longer
 * dedup anything, and they are most of the log's bytes. Deltas and folds stay (they are
 * the ledger). At most 20 updates per command and at most `limit` per call, so a large
 * backlog is worked off over several calls without a long command. Owner only.
 */
export async function compactShardLog(db: Db, shard: number, before: Date, limit = 1000): Promise<number> {
  const log = db.collection<ShardLogDoc>(COLLECTIONS.shardLog);
  const old = await log
    .find({ shard, at: { $lt: before }, compacted: { $ne: true } }, { projection: { _id: 1 } })
    .limit(limit)
    .toArray();
  for (let i = 0; i < old.length; i += MAX_STATEMENTS_PER_COMMAND) {
    const ops = old
      .slice(i, i + MAX_STATEMENTS_PER_COMMAND)
      .map(({ _id }) => ({ updateOne: { filter: { _id }, update: { $set: { compacted: true }, $unset: { rids: true, rseq: true } } } }) as const);
    await log.bulkWrite(ops, { ordered: false });
  }
  return old.length;
}
