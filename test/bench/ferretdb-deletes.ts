/**
 * What a projection flush's delete costs the embedded store (FerretDB v1, SQLite): every
 * statement scans its whole collection, so the cost follows the collection's size, not
 * the number of documents deleted. Results: docs/benchmarks.md ("FerretDB and the
 * projection flush").
 *
 *   npx tsx test/bench/ferretdb-deletes.ts [--live 600] [--rounds 5]
 */
import { parseArgs } from 'node:util';
import type { Collection } from 'mongodb';
import { newAccount } from '../../shared/domain/index.js';
import { connectMongo } from '../../shared/store/index.js';
import { cpuSnapshot, startBenchServers } from './harness.js';

const { values } = parseArgs({ options: { live: { type: 'string', default: '600' }, rounds: { type: 'string', default: '5' } } });
const LIVE = Number(values.live);
const ROUNDS = Number(values.rounds);

/** A projection version as the worker stores it (shared/store/accounts.ts). */
const version = (i: number, seq: number) => ({
  ...newAccount(`acct-${i}@${seq}`, 1, new Date()),
  account_id: `acct-${i}`,
  seq,
  balance_micros: -123456n,
  last_active_at: new Date(),
});

/** The same version as stored since the defaults are left out (shared/store/accounts.ts UNSET). */
const slim = (i: number, seq: number) => ({
  _id: `acct-${i}@${seq}`,
  account_id: `acct-${i}`,
  shard: 1,
  seq,
  balance_micros: -123456n,
  low: true,
  depleted: true,
  created_at: new Date(),
  updated_at: new Date(),
});
type Version = ReturnType<typeof version> | ReturnType<typeof slim>;

const bench = await startBenchServers();
const mongo = await connectMongo(bench.servers.mongoUrl, 'deletes');
const ferretCpu = async (): Promise<number> => (await cpuSnapshot([], bench.servers))['ferretdb'] ?? NaN;

/** Runs `rounds` flushes: insert a new version of every account, then delete the old ones with `remove`. */
async function flushes(
  name: string,
  remove: (c: Collection<Version>, seq: number) => Promise<unknown>,
  make: (i: number, seq: number) => Version = version,
): Promise<void> {
  const coll = mongo.db.collection<Version>(`flush_${name.replace(/\W/g, '')}`);
  await coll.insertMany(Array.from({ length: LIVE }, (_, i) => make(i, 0)));
  let insertCpu = 0;
  let deleteCpu = 0;
  for (let seq = 1; seq <= ROUNDS; seq++) {
    const a = await ferretCpu();
    await coll.insertMany(
      Array.from({ length: LIVE }, (_, i) => make(i, seq)),
      { ordered: false },
    );
    const b = await ferretCpu();
    await remove(coll, seq);
    const c = await ferretCpu();
    insertCpu += b - a;
    deleteCpu += c - b;
  }
  const left = await coll.countDocuments();
  console.log(
    `${name.padEnd(34)} per flush of ${LIVE} accounts: insert ${((insertCpu / ROUNDS) * 1000).toFixed(0)} ms CPU, delete ${((deleteCpu / ROUNDS) * 1000).toFixed(0)} ms CPU (${left} documents left)`,
  );
  await coll.drop();
}

await flushes('$in of the superseded _ids', (c, seq) => c.deleteMany({ _id: { $in: Array.from({ length: LIVE }, (_, i) => `acct-${i}@${seq - 1}`) } }));
await flushes('range: seq < the new one', (c, seq) => c.deleteMany({ seq: { $lt: seq } }));
await flushes(
  '$in, versions without default fields',
  (c, seq) => c.deleteMany({ _id: { $in: Array.from({ length: LIVE }, (_, i) => `acct-${i}@${seq - 1}`) } }),
  slim,
);
const scan = mongo.db.collection<Version>('scan');
await scan.insertMany(Array.from({ length: 2 * LIVE }, (_, i) => version(i, 0)));
const before = await ferretCpu();
for (let r = 0; r < ROUNDS; r++) await scan.find({ account_id: 'none' }).toArray();
console.log(`${'a find that matches nothing'.padEnd(34)} over ${2 * LIVE} documents: ${((((await ferretCpu()) - before) / ROUNDS) * 1000).toFixed(0)} ms CPU`);
await mongo.close();
await bench.stop();
