import type { Db } from 'mongodb';
import { recordKey } from '../domain/index.js';
import { COLLECTIONS, type AccountDoc, type CheckpointDoc, type FoldedEntry, type ShardLogDoc } from './collections.js';
import { insertUnique, isDuplicateKey } from './errors.js';
import { MAX_STATEMENTS_PER_COMMAND, loadShardAccounts } from './accounts.js';
import { addFolded, unfoldedEntries } from './ledger.js';

export const shardLogId = (shard: number, seq: number): string => `${shard}:${seq}`;

/**
 * Appends one shard-log entry. `conflict` means another owner already wrote this step:
 * the caller's view of the shard is stale and must be rebuilt before anything else.
 */
export async function appendShardLog(db: Db, doc: ShardLogDoc): Promise<'ok' | 'conflict'> {
  return (await insertUnique<ShardLogDoc>(db, COLLECTIONS.shardLog, doc)) === 'inserted' ? 'ok' : 'conflict';
}

/**
 * Calls `fn` with the account, id and message sequence of every record a usage entry
 * charged: `ids` holds them grouped as `accounts` is ordered, `accounts[0].n` ids first
 * (ShardLogDoc.ids), `sseq` parallel to them. A compacted entry (ids emptied) has none.
 */
export function forEachRecord(entry: Pick<ShardLogDoc, 'ids' | 'accounts' | 'sseq'>, fn: (account: string, id: string, streamSeq: number) => void): void {
  const { ids } = entry;
  let i = 0;
  for (const { a, n } of entry.accounts) {
    const end = Math.min(i + n, ids.length);
    for (; i < end; i++) fn(a, ids[i]!, entry.sseq?.[i] ?? 0);
  }
}

/**
 * The records of a usage entry as the dedup horizon keeps them: `[recordKey, +sequence]`
 * for those charged, `[recordKey, -sequence]` for those refused.
 */
export function horizonKeys(entry: Pick<ShardLogDoc, 'ids' | 'accounts' | 'sseq' | 'refused'>): [string, number][] {
  const keys: [string, number][] = [];
  forEachRecord(entry, (account, id, s) => keys.push([recordKey(account, id), s]));
  for (const r of entry.refused ?? []) keys.push([recordKey(r.a, r.id), -r.s]);
  return keys;
}

/** Records charged and duplicates counted, as sumShardLog counts them. */
export interface LogTotals {
  charged: number;
  duplicates: number;
}

/** One log entry's records inside the dedup horizon, as `horizonKeys` gives them. */
export interface HorizonBatch {
  at: number;
  keys: [string, number][];
}

export interface ShardSnapshot {
  /** Last written log position (0 = empty shard). */
  seq: number;
  checkpoint: number;
  accounts: AccountDoc[];
  /** Projection versions superseded by a later one (left by a crash or a late former owner). */
  staleVersions?: string[];
  /** Log entries after the checkpoint, ascending: replayed onto the projections. */
  tail: ShardLogDoc[];
  /**
   * Records charged or refused since `idsSince` (the dedup horizon), entry by entry in log
   * order. Usage entries only: folded ledger ids are in `folded`.
   */
  horizon: HorizonBatch[];
  /** Folded entries refused as `amount_out_of_range` (answered so again when retried). */
  refusedFolds?: Set<string>;
  /** Records charged and duplicates counted over the whole log of the shard (what stats reports). */
  totals?: LogTotals;
  /** Ids of every ledger entry and allocation the shard log has folded, whatever their age. */
  folded?: Set<string>;
  /** Ledger entries and allocations of the shard not folded yet: the owner folds them first. */
  unfolded?: FoldedEntry[];
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
 * with the ids the log holds, so the log is read in two scans: the entries to replay or
 * whose records the horizon needs, whole; then every entry's counts and folds.
 */
export async function loadShard(db: Db, shard: number, idsSince: Date, options: LoadShardOptions = {}): Promise<ShardSnapshot> {
  const log = db.collection<ShardLogDoc>(COLLECTIONS.shardLog);
  const checkpoint = await db.collection<CheckpointDoc>(COLLECTIONS.checkpoints).findOne({ _id: shard });
  const from = checkpoint?.seq ?? 0;
  const after = options.recordsAfter ?? 0;
  const projections = await loadShardAccounts(db, shard);
  const accounts = [...projections.latest.values()];
  const tail: ShardLogDoc[] = [];
  const horizon: HorizonBatch[] = [];
  let seq = from;
  const entries = log.find({ shard, $or: [{ seq: { $gt: from } }, { seq: { $gt: after }, at: { $gte: idsSince } }] }).sort({ seq: 1 });
  for await (const entry of entries) {
    if (entry.seq > after && entry.at >= idsSince) horizon.push({ at: entry.at.getTime(), keys: horizonKeys(entry) });
    if (entry.seq > from) tail.push(entry);
    if (entry.seq > seq) seq = entry.seq;
  }
  const totals: LogTotals = { charged: 0, duplicates: 0 };
  const ledger = { folded: new Set<string>(), refusedFolds: new Set<string>() };
  for await (const entry of log.find({ shard }, { projection: { duplicates: 1, 'accounts.n': 1, 'folds.id': 1, 'folds.refused': 1 } })) {
    totals.duplicates += entry.duplicates;
    for (const delta of entry.accounts) totals.charged += delta.n;
    addFolded(ledger, entry.folds);
  }
  const unfolded = await unfoldedEntries(db, shard, ledger.folded);
  return { seq, checkpoint: from, accounts, staleVersions: projections.stale, tail, horizon, ...ledger, unfolded, totals };
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
  const old = await log.find({ shard, at: { $lt: before }, compacted: { $ne: true } }, { projection: { _id: 1 } }).limit(limit).toArray();
  for (let i = 0; i < old.length; i += MAX_STATEMENTS_PER_COMMAND) {
    const ops = old.slice(i, i + MAX_STATEMENTS_PER_COMMAND).map(({ _id }) => ({ updateOne: { filter: { _id }, update: { $set: { ids: [], sseq: [], compacted: true } } } }));
    await log.bulkWrite(ops, { ordered: false });
  }
  return old.length;
}

