import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { recordKey } from '../../../shared/domain/index.js';
import { compactShardLog, connectMongo, loadShard, packRecords, type MongoConnection, type ShardLogDoc } from '../../../shared/store/index.js';
import { COLLECTIONS } from '../../../shared/store/internal.js';

/**
 * The shard log's format 2 on the real store (FerretDB): a shard whose log holds entries of
 * both formats loads the same horizon keys from each, and compaction removes the ids of
 * either format past the horizon while the deltas (the ledger) stay.
 */
const SHARD = 5;
const DAY = 86_400_000;
const now = Date.now();

function usageEntry(seq: number, at: number, format: 1 | 2, ids: string[], seqs: number[]): ShardLogDoc {
  const head = { _id: `${SHARD}:${seq}`, shard: SHARD, seq, at: new Date(at), job: `j${seq}`, duplicates: 0, folds: [] };
  const accounts = [{ a: 'acct-a', d: -BigInt(ids.length - 1), n: ids.length - 1, t: at }, { a: 'acct-b', d: -1n, n: 1, t: at }];
  return format === 2 ? { ...head, ...packRecords(ids, seqs), accounts } : { ...head, ids, sseq: seqs, accounts };
}

describe('shard log format 2 on the store', () => {
  let conn: MongoConnection;
  const log: ShardLogDoc[] = [
    // Two days old: past a one-day horizon, compacted.
    usageEntry(1, now - 2 * DAY, 1, ['o1', 'o2', 'o3'], [1, 2, 3]),
    usageEntry(2, now - 2 * DAY, 2, ['o4', 'o5', 'o6'], [4, 5, 6]),
    // Inside the horizon, one of each format, with an id whose text needs JSON escaping.
    usageEntry(3, now - 1000, 1, ['n1', 'n2', 'ü "quoted"\\'], [10, 11, 30]),
    usageEntry(4, now - 500, 2, ['n4', 'n5', 'ü "quoted"\\'], [40, 41, 0]),
  ];

  beforeAll(async () => {
    conn = await connectMongo(inject('servers').mongoUrl, `t_${randomUUID().slice(0, 8)}`);
    await conn.db.collection<ShardLogDoc>(COLLECTIONS.shardLog).insertMany(log);
  });
  afterAll(async () => {
    await conn.db.dropDatabase();
    await conn.close();
  });

  it('a takeover reads the records of both formats inside the horizon, with their sequences', async () => {
    const snap = await loadShard(conn.db, SHARD, new Date(now - DAY));
    expect(snap.seq).toBe(4);
    expect(snap.horizon.map((h) => h.keys)).toEqual([
      [[recordKey('acct-a', 'n1'), 10], [recordKey('acct-a', 'n2'), 11], [recordKey('acct-b', 'ü "quoted"\\'), 30]],
      [[recordKey('acct-a', 'n4'), 40], [recordKey('acct-a', 'n5'), 41], [recordKey('acct-b', 'ü "quoted"\\'), 0]],
    ]);
  });

  it('compaction removes the ids of entries past the horizon in either format and keeps their deltas', async () => {
    expect(await compactShardLog(conn.db, SHARD, new Date(now - DAY))).toBe(2);
    const stored = await conn.db.collection<ShardLogDoc>(COLLECTIONS.shardLog).find({ shard: SHARD }).sort({ seq: 1 }).toArray();
    for (const entry of stored.slice(0, 2)) {
      expect(entry).toMatchObject({ compacted: true, accounts: [{ a: 'acct-a', d: -2n, n: 2 }, { a: 'acct-b', d: -1n, n: 1 }] });
      expect([entry.rids, entry.rseq, entry.ids, entry.sseq]).toEqual([undefined, undefined, undefined, undefined]);
    }
    expect(stored[2]).toMatchObject({ ids: ['n1', 'n2', 'ü "quoted"\\'] });
    expect(stored[3]).toMatchObject({ rids: JSON.stringify(['n4', 'n5', 'ü "quoted"\\']), rseq: '40,1,-41' });
    // Nothing left to compact.
    expect(await compactShardLog(conn.db, SHARD, new Date(now - DAY))).toBe(0);
  });
});
