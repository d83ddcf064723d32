import type { Db } from 'mongodb';
import { COLLECTIONS, type RedriveDoneDoc, type RedriveRunDoc, type RedriveSendDoc, type ShardLogDoc } from './collections.js';
import { duplicateIndexes } from './errors.js';
import { insertUnique } from './insertBatches.js';

/** Keys per `$in` query: FerretDB scans the collection once per query, so few large ones. */
const CHUNK = 1000;

function chunks<T>(items: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += CHUNK) out.push(items.slice(i, i + CHUNK));
  return out;
}

/** Inserts documents under their deterministic `_id`s; those already there are left as they are. */
async function insertAll<T extends { _id: string }>(db: Db, collection: string, docs: readonly T[]): Promise<void> {
  for (const part of chunks(docs)) {
    try {
      await db.collection<T>(collection).insertMany(part as never[], { ordered: false });
    } catch (err) {
      duplicateIndexes(err);
    }
  }
}

/** `_id` of a send: one per record and run, so a run's retry of its own insert is a no-op. */
export const redriveSendId = (key: string, run: string): string => `${key}@${run}`;

/** The audit record of a run: who, when, which filters; its report once it ends. */
export async function insertRedriveRun(db: Db, doc: RedriveRunDoc): Promise<'inserted' | 'exists'> {
  return insertUnique<RedriveRunDoc>(db, COLLECTIONS.redriveRuns, doc);
}

/** The run's report. The run is the document's only writer (SPEC 11: no concurrent update). */
export async function finishRedriveRun(db: Db, run: string, fields: Pick<RedriveRunDoc, 'finished_at' | 'report' | 'error'>): Promise<void> {
  await db.collection<RedriveRunDoc>(COLLECTIONS.redriveRuns).updateOne({ _id: run }, { $set: fields });
}

/** The latest runs first. */
export async function listRedriveRuns(db: Db, limit: number): Promise<RedriveRunDoc[]> {
  return db.collection<RedriveRunDoc>(COLLECTIONS.redriveRuns).find({}).sort({ at: -1 }).limit(limit).toArray();
}

/** Records that these records are about to be sent, with their jobs: written before the jobs are added. */
export async function recordRedriveSends(db: Db, docs: readonly RedriveSendDoc[]): Promise<void> {
  await insertAll(db, COLLECTIONS.redriveSends, docs);
}

/** Records that these records are settled (charged, or found charged already): never sent again. */
export async function markRedriveDone(db: Db, docs: readonly RedriveDoneDoc[]): Promise<void> {
  await insertAll(db, COLLECTIONS.redriveDone, docs);
}

/** What earlier runs did with each key: settled or not, and the jobs that carried it. */
export async function readRedriveHistory(db: Db, keys: readonly string[]): Promise<Map<string, { done: boolean; jobs: string[] }>> {
  const history = new Map<string, { done: boolean; jobs: string[] }>(keys.map((k) => [k, { done: false, jobs: [] }]));
  for (const part of chunks([...new Set(keys)])) {
    for (const d of await db
      .collection<RedriveDoneDoc>(COLLECTIONS.redriveDone)
      .find({ _id: { $in: part } }, { projection: { _id: 1 } })
      .toArray()) {
      history.get(d._id)!.done = true;
    }
    for (const s of await db
      .collection<RedriveSendDoc>(COLLECTIONS.redriveSends)
      .find({ key: { $in: part } }, { projection: { key: 1, job: 1 } })
      .toArray()) {
      history.get(s.key)?.jobs.push(s.job);
    }
  }
  return history;
}

/** Which of these jobs have committed: their shard-log entry exists (an operator-side scan). */
export async function committedJobs(db: Db, jobs: readonly string[]): Promise<Set<string>> {
  const found = new Set<string>();
  for (const part of chunks([...new Set(jobs)])) {
    for (const e of await db
      .collection<ShardLogDoc>(COLLECTIONS.shardLog)
      .find({ job: { $in: part } }, { projection: { job: 1 } })
      .toArray())
      found.add(e.job);
  }
  return found;
}

/**
 * The shard-log entry a job wrote: at `id` (the position its result names) when it is the
 * job's, else looked for by job (an operator-side scan): an attempt that committed and then
 * lost its worker leaves the entry, and its retry finds every record already there.
 */
export async function readJobEntry(db: Db, id: string | null, job: string): Promise<ShardLogDoc | null> {
  const log = db.collection<ShardLogDoc>(COLLECTIONS.shardLog);
  const entry = id === null ? null : await log.findOne({ _id: id });
  return entry?.job === job ? entry : log.findOne({ job });
}
