import { MongoClient, type Db } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { insertUnique } from '../../../shared/store/insertBatches.js';

/**
 * Unique-key inserts grouped per collection (decision 013), on the real store: every caller
 * gets the answer a lone insertOne would give, E11000 included, and concurrent inserts share
 * commands.
 */
describe('insertUnique', () => {
  const servers = inject('servers');
  let client: MongoClient;
  let db: Db;
  const inserts: number[] = [];

  beforeAll(async () => {
    client = await MongoClient.connect(servers.mongoUrl, { monitorCommands: true });
    db = client.db(`batches${process.pid}`);
    client.on('commandStarted', (e) => {
      if (e.commandName === 'insert') inserts.push((e.command['documents'] as unknown[]).length);
    });
  });
  afterAll(async () => {
    await db?.dropDatabase();
    await client?.close();
  });

  it('answers each concurrent insert as if alone, duplicates in the store and within one group included, in fewer commands', async () => {
    await db.collection<{ _id: string }>('things').insertMany([{ _id: 'd-3' }, { _id: 'd-7' }]);
    inserts.length = 0;
    const ids = [...Array.from({ length: 20 }, (_, i) => `d-${i}`), 'd-5', 'd-12'];
    const outcomes = await Promise.all(ids.map((id) => insertUnique(db, 'things', { _id: id, n: 1 })));
    const byId = new Map<string, string[]>();
    ids.forEach((id, i) => byId.set(id, [...(byId.get(id) ?? []), outcomes[i]!]));
    expect(byId.get('d-3')).toEqual(['exists']);
    expect(byId.get('d-7')).toEqual(['exists']);
    // Two inserts of one key in flight at once: exactly one wins.
    expect(byId.get('d-5')!.sort()).toEqual(['exists', 'inserted']);
    expect(byId.get('d-12')!.sort()).toEqual(['exists', 'inserted']);
    expect(outcomes.filter((o) => o === 'inserted')).toHaveLength(18);
    expect(await db.collection('things').countDocuments()).toBe(20);
    // The first went alone; the rest waited for it and went out together.
    expect(inserts.reduce((a, b) => a + b, 0)).toBe(22);
    expect(inserts.length).toBeLessThanOrEqual(3);
  });

  it('fails every waiting insert when the command fails as a whole, and the next insert goes out again', async () => {
    // A store that does not answer (nothing listens on port 1).
    const gone = new MongoClient('mongodb://127.0.0.1:1/', { serverSelectionTimeoutMS: 300 });
    const goneDb = gone.db(`batches${process.pid}`);
    try {
      const outcomes = await Promise.allSettled(['x-1', 'x-2', 'x-3'].map((id) => insertUnique(goneDb, 'things', { _id: id })));
      expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected', 'rejected']);
      // The group behind the failed command is sent and fails on its own; nothing is left waiting.
      expect(
        await Promise.race([insertUnique(goneDb, 'things', { _id: 'x-4' }).catch(() => 'failed'), new Promise((r) => setTimeout(() => r('stuck'), 5_000))]),
      ).toBe('failed');
    } finally {
      await gone.close();
    }
    expect(await insertUnique(db, 'things', { _id: 'x-1' })).toBe('inserted');
  });
});
