/**
 * A shard takeover with N ids inside the dedup horizon (issue 21): the time to load the
 * shard as ShardOwner.load does (loadShardState: the log's reads in loadShard, then
 * ShardState.fromSnapshot) with a horizon snapshot, and without one (the horizon read from
 * every log entry inside it), on the embedded servers `tally up` runs (FerretDB, SQLite).
 *   npx tsx test/bench/takeover.ts [N | --ids N]   (default 5,000,000, a multiple of 1000)
 * The data: N/1000 shard-log entries of 1000 ids each (10 accounts x 100 ids), all inside
 * the horizon, inserted with insertMany 1000 entries at a time; a checkpoint at the head
 * and the 1000 accounts' projections, so the takeover replays no tail; then the snapshot
 * of that horizon, serialized and written as an owner does (both timed). Also timed: one
 * scan of the log (a query that matches nothing), what every log query costs on FerretDB,
 * and, for comparison, one scan of the same entries in the log's format 1 (ids and
 * sequences as BSON arrays, what tally wrote before format 2's one string each).
 * TAKEOVER_DATA_DIR keeps the servers' folder, and the shard log written, between runs (the
 * snapshot is written again each run).
 * Results: a line per phase, then the JSON last line. Method and figures: test/bench/takeover.md.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { DEFAULT_LADDER, DEFAULT_PRICE_BOOK, HOUR_MS, newAccount, packEntryUsage } from '../../shared/domain/index.js';
import { startEmbedded } from '../../shared/runtime/index.js';
import {
  connectMongo,
  findHorizonSnapshot,
  horizonKeys,
  packDeltas,
  packRecords,
  pruneHorizonSnapshots,
  readHorizonChunks,
  encodeAccounts,
  writeProjectionSnapshot,
  writeCheckpoint,
  writeHorizonSnapshot,
  type AccountDoc,
  type ShardLogDoc,
} from '../../shared/store/index.js';
import { COLLECTIONS } from '../../shared/store/internal.js';
import { HorizonSnapshots } from '../../services/worker/horizonSnapshots.js';
import { RecordHorizon } from '../../services/worker/core/recordHorizon.js';
import { loadShardState, type TakeoverDeps } from '../../services/worker/takeover.js';

// `npx tsx test/bench/takeover.ts 5000000`, or `--ids 5000000` as `npm run bench -- --takeover` passes it.
const { values: flags, positionals } = parseArgs({ options: { ids: { type: 'string' } }, allowPositionals: true });
const N = Number(flags.ids ?? positionals[0] ?? 5_000_000);
const IDS_PER_ENTRY = 1000;
const INSERT_BATCH = 1000;
const ACCOUNTS = 1000;
const HORIZON_MS = 86_400_000;
if (!Number.isSafeInteger(N) || N <= 0 || N % IDS_PER_ENTRY !== 0) throw new Error('N must be a positive multiple of 1000');
const ENTRIES = N / IDS_PER_ENTRY;

const logger = pino({ level: process.env.BENCH_LOG_LEVEL ?? 'warn' });
const machine = { cpu: os.cpus()[0]?.model ?? 'unknown', cores: os.cpus().length, node: process.version, load1: +os.loadavg()[0]!.toFixed(2) };
console.log(JSON.stringify(machine));
const seconds = (since: number): number => +((performance.now() - since) / 1000).toFixed(2);
const report = (what: string, s: number, extra: Record<string, unknown> = {}): void => console.log(JSON.stringify({ what, seconds: s, ...extra }));

const keep = process.env.TAKEOVER_DATA_DIR;
const dataDir = keep ?? (await mkdtemp(join(os.tmpdir(), 'tally-takeover-')));
const servers = await startEmbedded({ dataDir, logger });
const mongo = await connectMongo(servers.mongoUrl, `bench_takeover_${N}`);
const db = mongo.db;
const log = db.collection<ShardLogDoc>(COLLECTIONS.shardLog);
/** The log's format 1 (no longer read by tally), measured for comparison: ids and sequences as BSON arrays. */
type Format1Doc = Omit<ShardLogDoc, 'rids' | 'rseq'> & { ids: string[]; sseq: number[] };
const format1 = db.collection<Format1Doc>('bench_format1_log');
const asFormat1 = ({ rids, rseq, ...d }: ShardLogDoc & { rids: string; rseq: string }, ids: string[], sseq: number[]): Format1Doc => ({ ...d, ids, sseq });

/** Entry e (1-based) of the shard's log, written `at`, in format 4 (tally's) and format 1. */
function entries(e: number, at: number): [ShardLogDoc & { rids: string; rseq: string }, Format1Doc] {
  const ids: string[] = [];
  const sseq: number[] = [];
  for (let i = (e - 1) * IDS_PER_ENTRY; i < e * IDS_PER_ENTRY; i++) {
    ids.push(`r-${i}`);
    sseq.push(i + 1);
  }
  const per = IDS_PER_ENTRY / 10;
  const accounts = Array.from({ length: 10 }, (_, k) => ({ a: `acct-${(e * 10 + k) % ACCOUNTS}`, d: -1000n * BigInt(per), n: per, t: at }));
  const doc = {
    _id: `0:${e}`,
    shard: 0,
    seq: e,
    at: new Date(at),
    job: `bench-${e}`,
    ...packRecords(ids, sseq),
    duplicates: 0,
    deltas: packDeltas(accounts),
    usage: packEntryUsage(
      accounts.map((d) => [
        d.a,
        [{ start: at - (at % HOUR_MS), day: false, kind: 'llm_token', appliesTo: 'llm', records: d.n, quantity: 1_000_000n * BigInt(d.n), charged: -d.d }],
      ]),
    ),
    folds: [],
  };
  return [doc, asFormat1(doc, ids, sseq)];
}
const entry = (e: number, at: number): ShardLogDoc => entries(e, at)[0];

const now = Date.now();
const results: Record<string, number> = {};
// Entries one second apart, the newest written at the first run: inside the horizon for a day.
const first = await log.find({ shard: 0, seq: 1 }).next();
const reuse =
  (await log.countDocuments({ shard: 0 })) === ENTRIES &&
  (await format1.countDocuments({})) === ENTRIES &&
  first !== null &&
  first.at.getTime() > now - HORIZON_MS / 2;
const atOf = (e: number): number => (reuse ? first.at.getTime() : now - (ENTRIES - 1) * 1000) + (e - 1) * 1000;
const horizon = new RecordHorizon();
let started = performance.now();
if (reuse) {
  console.log(JSON.stringify({ note: 'reusing the shard log written before', dataDir }));
  for (let e = 1; e <= ENTRIES; e++) {
    const d = entry(e, atOf(e));
    horizon.add(d.at.getTime(), horizonKeys(d));
  }
} else {
  await db.dropDatabase();
  for (let e0 = 1; e0 <= ENTRIES; e0 += INSERT_BATCH) {
    const both = [];
    for (let e = e0; e < Math.min(ENTRIES + 1, e0 + INSERT_BATCH); e++) both.push(entries(e, atOf(e)));
    const docs = both.map(([d]) => d);
    await log.insertMany(docs, { ordered: false });
    await format1.insertMany(
      both.map(([, d]) => d),
      { ordered: false },
    );
    for (const d of docs) horizon.add(d.at.getTime(), horizonKeys(d));
  }
  results.generate_s = seconds(started);
  report('shard log written', results.generate_s, { entries: ENTRIES, ids: N });
  const projections: AccountDoc[] = Array.from({ length: ACCOUNTS }, (_, a) => ({
    ...newAccount(`acct-${a}`, 0, new Date(now)),
    seq: ENTRIES,
    last_active_at: new Date(now),
  }));
  await writeProjectionSnapshot(db, 0, ENTRIES, encodeAccounts(projections), new Date(now));
  await writeCheckpoint(db, 0, ENTRIES);
}
// What an owner does after applying the head entry: serialize, then write and prune (a former snapshot goes first).
await pruneHorizonSnapshots(db, 0, Number.MAX_SAFE_INTEGER);
started = performance.now();
const serialized = horizon.serialize();
results.serialize_s = seconds(started);
started = performance.now();
const { bytes: snapshotBytes } = await writeHorizonSnapshot(db, { shard: 0, seq: ENTRIES, chunks: serialized, keys: horizon.size, at: new Date(now) });
await pruneHorizonSnapshots(db, 0, ENTRIES);
results.snapshot_write_s = seconds(started);
const chunks = serialized.length;
serialized.length = 0;
report('snapshot serialized', results.serialize_s, { keys: horizon.size });
report('snapshot written', results.snapshot_write_s, { bytes: snapshotBytes, chunks });

const pricing = { priceBook: DEFAULT_PRICE_BOOK, ladder: DEFAULT_LADDER, lowBalanceMicros: 1_000_000n, lateArrivalDays: 35 };
const idsSince = Date.now() - HORIZON_MS;
const snapshots = new HorizonSnapshots(0, { db, logger, intervalMs: 600_000, clock: Date.now });
const deps = (withSnapshot: boolean): TakeoverDeps => ({ db, logger, pricing, snapshots: withSnapshot ? snapshots : null });

async function takeover(withSnapshot: boolean): Promise<number> {
  const started = performance.now();
  const loaded = await loadShardState(deps(withSnapshot), 0, idsSince);
  const s = seconds(started);
  if (loaded.state.idCount !== N || loaded.state.seq !== ENTRIES || loaded.restoredSeq !== (withSnapshot ? ENTRIES : null)) {
    throw new Error(`takeover loaded ${loaded.state.idCount} ids at ${loaded.state.seq}, snapshot ${loaded.restoredSeq}`);
  }
  report(withSnapshot ? 'takeover with the snapshot' : 'takeover without a snapshot (every entry inside the horizon)', s, { ids: loaded.state.idCount });
  return s;
}

started = performance.now();
const found = (await findHorizonSnapshot(db, 0))!;
const restored = RecordHorizon.restore(await readHorizonChunks(db, found));
results.snapshot_read_restore_s = seconds(started);
report('snapshot read and restored alone', results.snapshot_read_restore_s, { keys: restored.size });
started = performance.now();
await log.find({ shard: 0, seq: { $gt: ENTRIES } }).toArray();
results.log_scan_s = seconds(started);
report('one scan of the shard log (matches nothing)', results.log_scan_s);
started = performance.now();
await format1.find({ shard: 0, seq: { $gt: ENTRIES } }).toArray();
results.format1_log_scan_s = seconds(started);
report('one scan of the same log in format 1 (ids and sequences as arrays)', results.format1_log_scan_s);
results.with_snapshot_s = await takeover(true);
results.without_snapshot_s = await takeover(false);

await mongo.close();
await servers.stop();
if (!keep) await rm(dataDir, { recursive: true, force: true });
// takeover_s: what `npm run bench` reports, the takeover as an owner runs it (with the snapshot).
console.log(JSON.stringify({ machine, ids: N, entries: ENTRIES, snapshot_bytes: snapshotBytes, chunks, ...results, takeover_s: results.with_snapshot_s }));
