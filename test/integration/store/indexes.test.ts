import { randomUUID } from 'node:crypto';
import { describe, expect, inject, it } from 'vitest';
import { connectMongo, ensureIndexes } from '../../../shared/store/index.js';
import { COLLECTIONS } from '../../../shared/store/internal.js';

/**
 * Regression: FerretDB v1.24 panics ("slice bounds out of range [:2:1]") and drops the
 * connection on a createIndexes of several indexes that all exist already, which is every
 * worker restart; found by the accounts API's worker-restart test.
 */
describe('ensureIndexes', () => {
  it('can run again on a database that has the indexes and data (every restart)', async () => {
    const conn = await connectMongo(inject('servers').mongoUrl, `t_${randomUUID().slice(0, 8)}`);
    try {
      await ensureIndexes(conn.db);
      await conn.db.collection<{ _id: string }>(COLLECTIONS.shardLog).insertOne({ _id: 'a' });
      await ensureIndexes(conn.db);
      await ensureIndexes(conn.db);
      expect(await conn.db.collection(COLLECTIONS.shardLog).countDocuments({})).toBe(1);
    } finally {
      await conn.db.dropDatabase();
      await conn.close();
    }
  });
});
