/**
 * Measures what the embedded store (FerretDB v1, SQLite handler) costs, against a freshly
 * started embedded set in a temporary folder. Results and the command are recorded in
 * docs/decisions/001-embedded-store.md.
 *
 *   npx tsx test/bench/ferretdb-measure.ts [--docs1 2000] [--docs100 20000] [--docs1000 50000] [--inflight 4,12,25]
 */
import { randomUUID } from 'node:crypto';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { MongoClient, type Db } from 'mongodb';
import { pino } from 'pino';
import { MONGO_CLIENT_OPTIONS } from '../../shared/store/internal.js';
import { startTestServers } from '../support/servers.js';

const { values: args } = parseArgs({
  options: {
    docs1: { type: 'string', default: '2000' },
    docs100: { type: 'string', default: '20000' },
    docs1000: { type: 'string', default: '50000' },
    /** Connections per client for (d); 8 clients each. */
    inflight: { type: 'string', default: '4,12,25' },
  },
});

interface Doc {
  _id: string;
  k: string;
  account_id: string;
  amount_micros: bigint;
  at: Date;
}

const doc = (i: number, run: string): Doc => ({
  _id: `${run}:${i}`,
  k: `claim:${run}:${i}`,
  account_id: `acct-${i % 500}`,
  amount_micros: BigInt(-1_000 - (i % 977)),
  at: new Date(),
});

/**
 * (a) 8 clients each fire 1000 `$inc` at one document at once, each client with
 * `poolSize` connections (so 8 x poolSize updates in flight): how many increments survive,
 * or 'hung' when the server stops answering for `timeoutMs`.
 */
async function lostIncrements(url: string, db: Db, poolSize: number, timeoutMs: number): Promise<{ observed: number | 'hung'; ms: number }> {
  const name = `inc_${randomUUID().slice(0, 8)}`;
  await db.collection<{ _id: string; n: bigint }>(name).insertOne({ _id: 'one', n: 0n });
  const clients = await Promise.all(Array.from({ length: 8 }, () => new MongoClient(url, { ...MONGO_CLIENT_OPTIONS, maxPoolSize: poolSize }).connect()));
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    const all = Promise.all(
      clients.flatMap((client) =>
        Array.from({ length: 1000 }, () =>
          client
            .db(db.databaseName)
            .collection<{ _id: string; n: bigint }>(name)
            .updateOne({ _id: 'one' }, { $inc: { n: 1n } }),
        ),
      ),
    );
    const timeout = new Promise<'hung'>((resolve) => (timer = setTimeout(() => resolve('hung'), timeoutMs)));
    if ((await Promise.race([all, timeout])) === 'hung') {
      all.catch(() => {});
      return { observed: 'hung', ms: Math.round(performance.now() - started) };
    }
  } finally {
    clearTimeout(timer);
    await Promise.all(clients.map((c) => c.close(true).catch(() => {})));
  }
  const ms = performance.now() - started;
  const after = await db.collection<{ _id: string; n: bigint }>(name).findOne({ _id: 'one' });
  return { observed: Number(after?.n ?? -1n), ms: Math.round(ms) };
}

/** (b) insertMany ordered:false, one batch in flight at a time, into a new collection. */
async function insertRate(
  db: Db,
  batch: number,
  total: number,
  uniqueIndex: boolean,
): Promise<{ docsPerSec: number; ms: number; collection: string; run: string }> {
  const run = randomUUID().slice(0, 8);
  const coll = db.collection<Doc>(`ins_${batch}_${uniqueIndex ? 'u' : 'p'}_${run}`);
  if (uniqueIndex) await coll.createIndex({ k: 1 }, { unique: true });
  else await db.createCollection(coll.collectionName);
  const started = performance.now();
  for (let i = 0; i < total; i += batch) {
    const docs = Array.from({ length: Math.min(batch, total - i) }, (_, j) => doc(i + j, run));
    await coll.insertMany(docs, { ordered: false });
  }
  const ms = performance.now() - started;
  return { docsPerSec: Math.round((total / ms) * 1000), ms: Math.round(ms), collection: coll.collectionName, run };
}

/** (c) findOne by _id on a collection just filled: FerretDB v1 scans for any filter. */
async function readCost(db: Db, filled: { collection: string; run: string }, total: number): Promise<number> {
  const coll = db.collection<Doc>(filled.collection);
  const probes = 10;
  const started = performance.now();
  for (let i = 0; i < probes; i++) {
    const found = await coll.findOne({ _id: `${filled.run}:${Math.floor((i * total) / probes)}` });
    if (!found) throw new Error('probe document missing');
  }
  return Math.round((performance.now() - started) / probes);
}

async function main(): Promise<void> {
  const servers = await startTestServers({ logger: pino({ level: 'warn' }, pino.destination(2)) });
  const client = await new MongoClient(servers.mongoUrl, MONGO_CLIENT_OPTIONS).connect();
  const db = client.db(`bench_${randomUUID().slice(0, 8)}`);
  const say = (line: string) => process.stdout.write(`${line}\n`);
  try {
    say(`FerretDB v1.24.2 (SQLite handler), embedded; node ${process.version}; ${cpus().length} cores; ${new Date().toISOString()}`);
    const inc = await lostIncrements(servers.mongoUrl, db, 1, 300_000);
    say(`(a) 8 connections x 1000 concurrent $inc on one document: expected 8000, observed ${inc.observed} (${inc.ms} ms)`);
    say('(b) insertMany ordered:false, one batch in flight, new collection:');
    say('    batch  docs    no secondary index   unique index on k');
    const sizes: [number, number][] = [
      [1, Number(args.docs1)],
      [100, Number(args.docs100)],
      [1000, Number(args.docs1000)],
    ];
    let largest: { collection: string; run: string; total: number } | undefined;
    for (const [batch, total] of sizes) {
      const plain = await insertRate(db, batch, total, false);
      const unique = await insertRate(db, batch, total, true);
      say(
        `    ${String(batch).padStart(5)}  ${String(total).padStart(6)}  ${`${plain.docsPerSec} docs/s`.padStart(18)}  ${`${unique.docsPerSec} docs/s`.padStart(18)}`,
      );
      if (!largest || total > largest.total) largest = { ...unique, total };
    }
    if (largest) {
      say(`(c) findOne by _id in a ${largest.total}-doc collection: ${await readCost(db, largest, largest.total)} ms per query`);
    }
  } finally {
    await db.dropDatabase().catch(() => {});
    await client.close();
    await servers.stop();
  }
  await deadlockProbe(say);
}

/** (d) The same $inc storm with more updates in flight, each on fresh servers: a wedged one is stopped after. */
async function deadlockProbe(say: (line: string) => void): Promise<void> {
  say('(d) 8 clients x 1000 concurrent $inc, by updates in flight (fresh server each):');
  for (const poolSize of (args.inflight ?? '').split(',').filter(Boolean).map(Number)) {
    const servers = await startTestServers({ logger: pino({ level: 'error' }, pino.destination(2)) });
    const client = await new MongoClient(servers.mongoUrl, MONGO_CLIENT_OPTIONS).connect();
    try {
      const result = await lostIncrements(servers.mongoUrl, client.db('bench'), poolSize, 90_000);
      const outcome = result.observed === 'hung' ? `no reply for ${result.ms} ms: the server is wedged` : `${result.observed} of 8000 kept (${result.ms} ms)`;
      say(`    ${String(8 * poolSize).padStart(4)} in flight: ${outcome}`);
    } finally {
      await client.close(true).catch(() => {});
      await servers.stop();
    }
  }
}

await main();
