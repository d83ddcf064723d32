import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  connectMongo,
  encodeAccounts,
  loadShard,
  loadShardAccounts,
  readAccount,
  writeCheckpoint,
  writeProjectionSnapshot,
  type AccountDoc,
  type MongoConnection,
} from '../../../shared/store/index.js';
import { COLLECTIONS, snapshotChunksCollection, PROJECTION_SNAPSHOTS } from '../../../shared/store/internal.js';
import { newAccount } from '../../../shared/domain/index.js';

/**
 * Account projections are stored as one snapshot per shard and flush (a few documents
 * whatever the number of accounts), on the real store (FerretDB). Readers take the newest;
 * a former owner's late, older snapshot changes nothing.
 */
const at = new Date(Date.UTC(2026, 11, 1));
const account = (id: string, shard: number, seq: number, balance: bigint): AccountDoc => ({
  ...newAccount(id, shard, at),
  seq,
  balance_micros: balance,
  depleted: balance <= 0n,
});

describe('projection snapshots on the store', () => {
  let conn: MongoConnection;
  beforeAll(async () => {
    conn = await connectMongo(inject('servers').mongoUrl, `t_${randomUUID().slice(0, 8)}`);
  });
  afterAll(async () => {
    await conn.db.dropDatabase();
    await conn.close();
  });
  const names = async () => (await conn.db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name).sort();

  it('the newest snapshot is what every reader gets; older ones are dropped, and a late older one is never picked', async () => {
    const shard = 1;
    await writeProjectionSnapshot(conn.db, shard, 10, encodeAccounts([account('a', shard, 10, 5n), account('b', shard, 7, -3n)]), at);
    const second = await writeProjectionSnapshot(
      conn.db,
      shard,
      20,
      encodeAccounts([account('a', shard, 20, 9n), account('b', shard, 7, -3n), account('c', shard, 15, 1n)]),
      at,
    );
    expect(second.outcome).toBe('inserted');
    expect((await names()).filter((n) => n.startsWith('projections_1_'))).toEqual([snapshotChunksCollection(PROJECTION_SNAPSHOTS, shard, 20)]);
    // A former owner, paused, writes its older view afterwards.
    await writeProjectionSnapshot(conn.db, shard, 15, encodeAccounts([account('a', shard, 15, 6n)]), at);
    const loaded = await loadShardAccounts(conn.db, shard);
    expect(loaded.seq).toBe(20);
    expect([...loaded.latest.values()].map((d) => [d._id, d.balance_micros])).toEqual([
      ['a', 9n],
      ['b', -3n],
      ['c', 1n],
    ]);
    expect(await readAccount(conn.db, 'c', shard)).toMatchObject({ _id: 'c', seq: 15, balance_micros: 1n });
    expect(await readAccount(conn.db, 'zz', shard)).toBeNull();
    // The same position written again (a retried flush): the manifest is there already.
    expect((await writeProjectionSnapshot(conn.db, shard, 20, encodeAccounts([account('a', shard, 20, 9n)]), at)).outcome).toBe('exists');
    expect((await loadShardAccounts(conn.db, shard)).latest.size).toBe(3);
  });

  it('a takeover starts after the newest snapshot even when the checkpoint is older', async () => {
    const shard = 3;
    await writeCheckpoint(conn.db, shard, 4);
    await writeProjectionSnapshot(conn.db, shard, 6, encodeAccounts([account('p', shard, 6, 2n)]), at);
    const log = conn.db.collection(COLLECTIONS.shardLog);
    const entry = (seq: number) => ({ _id: `${shard}:${seq}`, shard, seq, at, job: `j${seq}`, duplicates: 0, deltas: 'p -1 1 0', folds: [] });
    await log.insertMany([4, 5, 6, 7].map(entry) as never[]);
    const snap = await loadShard(conn.db, shard, new Date(0));
    expect(snap.checkpoint).toBe(6);
    expect(snap.tail.map((e) => e.seq)).toEqual([7]);
    expect(snap.accounts.map((a) => [a._id, a.seq])).toEqual([['p', 6]]);
    expect(snap.totals).toEqual({ charged: 4, duplicates: 0 });
  });
});
