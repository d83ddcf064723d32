import { randomUUID } from 'node:crypto';
import { Long, MongoBulkWriteError, MongoClient, MongoServerError, type Db } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { connectMongo, type MongoConnection } from '../../../shared/store/index.js';
import { duplicateIndexes, isDuplicateKey } from '../../../shared/store/internal.js';

/**
 * What the product's correctness rests on (SPEC 11 "What is atomic"), proven against the
 * embedded FerretDB: unique-key inserts fail with E11000 and change nothing, also under
 * concurrency and inside unordered batches; money round-trips as Int64.
 */
const { mongoUrl } = inject('servers');

let conn: MongoConnection;
let db: Db;

beforeAll(async () => {
  conn = await connectMongo(mongoUrl, `t_${randomUUID().slice(0, 8)}`);
  db = conn.db;
});

afterAll(async () => {
  await db.dropDatabase();
  await conn.close();
});

const coll = (prefix: string) => db.collection<{ _id: string; k?: string; v?: bigint | number }>(`${prefix}_${randomUUID().slice(0, 8)}`);

describe('FerretDB unique keys', () => {
  it('rejects a duplicate _id with E11000 and keeps the first document', async () => {
    const c = coll('dup_id');
    await c.insertOne({ _id: 'a', v: 1 });
    const err = await c.insertOne({ _id: 'a', v: 2 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MongoServerError);
    expect((err as MongoServerError).code).toBe(11000);
    expect(isDuplicateKey(err)).toBe(true);
    expect(await c.findOne({ _id: 'a' })).toEqual({ _id: 'a', v: 1 });
  });

  it('rejects a duplicate key of a unique secondary index with E11000', async () => {
    const c = coll('dup_idx');
    await c.createIndex({ k: 1 }, { unique: true, name: 'k_unique' });
    await c.insertOne({ _id: '1', k: 'plan:acct-1:1' });
    const err = await c.insertOne({ _id: '2', k: 'plan:acct-1:1' }).catch((e: unknown) => e);
    expect(isDuplicateKey(err)).toBe(true);
    expect(await c.countDocuments({})).toBe(1);
  });

  it('insertMany ordered:false writes every new document and reports each duplicate by index', async () => {
    const c = coll('many');
    await c.insertMany([{ _id: 'd1' }, { _id: 'd3' }]);
    const batch = ['n0', 'd1', 'n2', 'd3', 'n4', 'n0'].map((_id) => ({ _id }));
    const err = await c.insertMany(batch, { ordered: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MongoBulkWriteError);
    const bulk = err as MongoBulkWriteError;
    expect(bulk.result.insertedCount).toBe(3);
    expect([...duplicateIndexes(err)].sort()).toEqual([1, 3, 5]);
    expect((await c.find({}).toArray()).map((d) => d._id).sort()).toEqual(['d1', 'd3', 'n0', 'n2', 'n4']);
  });

  it('bulkWrite of inserts ordered:false behaves like insertMany', async () => {
    const c = coll('bulk');
    await c.insertOne({ _id: 'x' });
    const ops = ['a', 'x', 'b', 'a'].map((_id) => ({ insertOne: { document: { _id } } }));
    const err = await c.bulkWrite(ops, { ordered: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MongoBulkWriteError);
    expect((err as MongoBulkWriteError).result.insertedCount).toBe(2);
    expect([...duplicateIndexes(err)].sort()).toEqual([1, 3]);
    expect(await c.countDocuments({})).toBe(3);
  });

  it('of many concurrent inserts of one key from separate connections, exactly one wins', async () => {
    const c = coll('race');
    const clients = await Promise.all(Array.from({ length: 8 }, () => new MongoClient(mongoUrl, { maxPoolSize: 4 }).connect()));
    try {
      const keys = Array.from({ length: 10 }, (_, i) => `vm:acct-1:p1:${i}`);
      const attempts = keys.flatMap((_id) =>
        clients.flatMap((client, n) =>
          [0, 1].map((j) =>
            client
              .db(db.databaseName)
              .collection<{ _id: string; by: string }>(c.collectionName)
              .insertOne({ _id, by: `${n}.${j}` })
              .then(
                () => 'won' as const,
                (e: unknown) => (isDuplicateKey(e) ? ('lost' as const) : Promise.reject(e)),
              ),
          ),
        ),
      );
      const outcomes = await Promise.all(attempts);
      expect(outcomes.filter((o) => o === 'won')).toHaveLength(keys.length);
      expect(outcomes.filter((o) => o === 'lost')).toHaveLength(keys.length * 15);
      expect(await c.countDocuments({})).toBe(keys.length);
    } finally {
      await Promise.all(clients.map((cl) => cl.close()));
    }
  });
});

describe('FerretDB Int64 money', () => {
  const values = [0n, 5n, -1n, 2n ** 53n + 1n, 9_007_199_254_740_993n * 100n, -(2n ** 62n), 2n ** 63n - 1n];

  it('round-trips bigint as Int64, small values and values above 2^53 alike', async () => {
    const c = coll('long');
    await c.insertMany(values.map((v, i) => ({ _id: String(i), v })));
    const back = await c.find({}).sort({ _id: 1 }).toArray();
    expect(back.map((d) => d.v)).toEqual(values);
    expect(back.every((d) => typeof d.v === 'bigint')).toBe(true);
    // Stored as BSON long (not double, not int32), as a driver without useBigInt64 sees it.
    expect(await c.countDocuments({ v: { $type: 'long' } })).toBe(values.length);
    const raw = new MongoClient(mongoUrl, { promoteLongs: false });
    try {
      const docs = await raw.db(db.databaseName).collection(c.collectionName).find({}).toArray();
      expect(docs.every((d) => d.v instanceof Long)).toBe(true);
    } finally {
      await raw.close();
    }
  });

  it('keeps Int64 through $inc by a bigint and compares exactly above 2^53', async () => {
    const c = coll('inc');
    const big = 2n ** 53n;
    await c.insertOne({ _id: 'acct', v: big });
    await c.updateOne({ _id: 'acct' }, { $inc: { v: 1n } });
    const doc = await c.findOne({ _id: 'acct' });
    expect(doc?.v).toBe(big + 1n);
    expect(await c.countDocuments({ v: { $gt: big } })).toBe(1);
    expect(await c.countDocuments({ v: { $type: 'long' } })).toBe(1);
  });

  it('reads Int32 as number (counts are not money)', async () => {
    const c = coll('int32');
    await c.insertOne({ _id: 'q', v: 5 });
    const doc = await c.findOne({ _id: 'q' });
    expect(doc?.v).toBe(5);
    expect(await c.countDocuments({ v: { $type: 'int' } })).toBe(1);
  });
});
