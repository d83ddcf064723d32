import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { HOUR_MS, packEntryUsage, recordKey, type TallyError } from '../../../shared/domain/index.js';
import {
  assertStoreFormat,
  compactShardLog,
  connectMongo,
  loadShard,
  packDeltas,
  packRecords,
  type MongoConnection,
  type ShardLogDoc,
} from '../../../shared/store/index.js';
import { COLLECTIONS } from '../../../shared/store/internal.js';

/**
 * The shard log's format 4 on the real store (FerretDB): a takeover loads each entry's
 * horizon keys with their sequences, compaction removes the ids past the horizon while the
 * deltas (the ledger) and the usage rollups stay; and a store holding an earlier 0.x layout
 * (log formats 1-3, per-account projection versions) is refused at start with `store_format_unsupported`.
 */
const SHARD = 5;
const DAY = 86_400_000;
const now = Date.now();

function usageEntry(seq: number, at: number, ids: string[], seqs: number[]): ShardLogDoc {
  const head = { _id: `${SHARD}:${seq}`, shard: SHARD, seq, at: new Date(at), job: `j${seq}`, duplicates: 0, folds: [] };
  const deltas = packDeltas([
    { a: 'acct-a', d: -BigInt(ids.length - 1), n: ids.length - 1, t: at },
    { a: 'acct-b', d: -1n, n: 1, t: at },
  ]);
  const bucket = (records: number) => ({
    start: at - (at % HOUR_MS),
    day: false,
    kind: 'other' as const,
    appliesTo: 'vm' as const,
    records,
    quantity: 0n,
    charged: BigInt(records),
  });
  const usage = packEntryUsage([
    ['acct-a', [bucket(ids.length - 1)]],
    ['acct-b', [bucket(1)]],
  ]);
  return { ...head, ...packRecords(ids, seqs), deltas, usage };
}

async function refusal(db: MongoConnection['db']): Promise<string | null> {
  try {
    await assertStoreFormat(db);
    return null;
  } catch (err) {
    return `${(err as TallyError).code}: ${(err as Error).message}`;
  }
}

describe('shard log format 4 on the store', () => {
  let conn: MongoConnection;
  const log: ShardLogDoc[] = [
    // Two days old: past a one-day horizon, compacted.
    usageEntry(1, now - 2 * DAY, ['o1', 'o2', 'o3'], [1, 2, 3]),
    usageEntry(2, now - 2 * DAY, ['o4', 'o5', 'o6'], [4, 5, 6]),
    // Inside the horizon, with an id whose text needs JSON escaping.
    usageEntry(3, now - 1000, ['n1', 'n2', 'ü "quoted"\\'], [10, 11, 30]),
    usageEntry(4, now - 500, ['n4', 'n5', 'ü "quoted"\\'], [40, 41, 0]),
  ];

  beforeAll(async () => {
    conn = await connectMongo(inject('servers').mongoUrl, `t_${randomUUID().slice(0, 8)}`);
    await conn.db.collection<ShardLogDoc>(COLLECTIONS.shardLog).insertMany(log);
  });
  afterAll(async () => {
    await conn.db.dropDatabase();
    await conn.close();
  });

  it('a takeover reads the records inside the horizon, with their sequences', async () => {
    const snap = await loadShard(conn.db, SHARD, new Date(now - DAY));
    expect(snap.seq).toBe(4);
    expect(snap.horizon.map((h) => h.keys)).toEqual([
      [
        [recordKey('acct-a', 'n1'), 10],
        [recordKey('acct-a', 'n2'), 11],
        [recordKey('acct-b', 'ü "quoted"\\'), 30],
      ],
      [
        [recordKey('acct-a', 'n4'), 40],
        [recordKey('acct-a', 'n5'), 41],
        [recordKey('acct-b', 'ü "quoted"\\'), 0],
      ],
    ]);
    expect(snap.totals).toEqual({ charged: 12, duplicates: 0 });
  });

  it('compaction removes the ids of entries past the horizon and keeps their deltas and rollups', async () => {
    expect(await compactShardLog(conn.db, SHARD, new Date(now - DAY))).toBe(2);
    const stored = await conn.db.collection<ShardLogDoc>(COLLECTIONS.shardLog).find({ shard: SHARD }).sort({ seq: 1 }).toArray();
    for (const entry of stored.slice(0, 2)) {
      expect(entry).toMatchObject({ compacted: true, deltas: `acct-a -2 2 ${now - 2 * DAY}\nacct-b -1 1 ${now - 2 * DAY}` });
      expect([entry.rids, entry.rseq]).toEqual([undefined, undefined]);
      expect(entry.usage).toBe(log[entry.seq - 1]!.usage);
    }
    expect(stored[3]).toMatchObject({ rids: JSON.stringify(['n4', 'n5', 'ü "quoted"\\']), rseq: '40,1,-41' });
    // Nothing left to compact.
    expect(await compactShardLog(conn.db, SHARD, new Date(now - DAY))).toBe(0);
  });

  it('a store of this format passes the start check', async () => {
    expect(await refusal(conn.db)).toBeNull();
  });

  it('a log entry of format 1 or 2 (deltas as subdocuments) makes the start refuse, naming the entry', async () => {
    const old = {
      _id: `${SHARD}:9`,
      shard: SHARD,
      seq: 9,
      at: new Date(now),
      job: 'j9',
      duplicates: 0,
      folds: [],
      ids: ['x'],
      accounts: [{ a: 'acct-a', d: -1n, n: 1, t: now }],
    };
    await conn.db.collection<Record<string, unknown> & { _id: string }>(COLLECTIONS.shardLog).insertOne(old);
    expect(await refusal(conn.db)).toBe(
      `store_format_unsupported: shard log entry ${SHARD}:9 is in log format 1, 2 or 3, which this version does not read: start with an empty database (MONGO_DB)`,
    );
    await conn.db.collection<{ _id: string }>(COLLECTIONS.shardLog).deleteOne({ _id: `${SHARD}:9` });
  });

  it('a usage entry of format 3 (deltas without rollups) makes the start refuse: its charges would be missing from usage', async () => {
    const { usage: _dropped, ...format3 } = usageEntry(9, now, ['y'], [99]);
    await conn.db.collection<ShardLogDoc>(COLLECTIONS.shardLog).insertOne(format3);
    expect(await refusal(conn.db)).toMatch(new RegExp(`^store_format_unsupported: shard log entry ${SHARD}:9 is in log format 1, 2 or 3`));
    await conn.db.collection<{ _id: string }>(COLLECTIONS.shardLog).deleteOne({ _id: `${SHARD}:9` });
    expect(await refusal(conn.db)).toBeNull();
  });

  it('projections kept as per-account versions (accounts_<shard>, before snapshots) make the start refuse', async () => {
    await conn.db.collection<{ _id: string }>(`${COLLECTIONS.accounts}_${SHARD}`).insertOne({ _id: 'acct-a@1' });
    expect(await refusal(conn.db)).toBe(
      `store_format_unsupported: the store holds account projections of an earlier version (accounts_${SHARD}): start with an empty database (MONGO_DB)`,
    );
  });
});
