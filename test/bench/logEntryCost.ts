/**
 * What one shard-log entry costs the embedded store (FerretDB v1, SQLite) to insert and to
 * scan, by how its per-account deltas are stored: as an array of subdocuments
 * (`accounts: [{a, d, n, t}]`, the log's format up to 2) or as one string. N entries of
 * A deltas and A*R ids each (the pipeline writes ~200 deltas per entry at 10k accounts).
 *   npx tsx test/bench/logEntryCost.ts [N=500] [A=200] [R=1]
 * Prints FerretDB CPU seconds and wall seconds per phase, and a JSON last line.
 */
import os from 'node:os';
import { pino } from 'pino';
import { startEmbedded } from '../../shared/runtime/index.js';
import { connectMongo, packRecords } from '../../shared/store/index.js';
import { cpuSeconds } from './harness.js';

const N = Number(process.argv[2] ?? 500);
const A = Number(process.argv[3] ?? 200);
const R = Number(process.argv[4] ?? 1);
const dataDir = (await import('node:fs/promises')).mkdtemp(`${os.tmpdir()}/tally-logcost-`);
const servers = await startEmbedded({ dataDir: await dataDir, logger: pino({ level: 'warn' }) });
const pid = servers.pids()['ferretdb'];
const mongo = await connectMongo(servers.mongoUrl, 'logcost');
const at = new Date();
const deltas = (e: number) => Array.from({ length: A }, (_, k) => ({ a: `acct-${(e * A + k) % 10_000}`, d: -BigInt(1000 + k), n: R, t: at.getTime() }));
const ids = (e: number) => Array.from({ length: A * R }, (_, i) => `rec-${e}-${i}`);
const base = (e: number) => ({
  _id: `0:${e}`,
  shard: 0,
  seq: e,
  at,
  job: `bench-${e}`,
  ...packRecords(
    ids(e),
    ids(e).map((_, i) => e * 1000 + i),
  ),
  duplicates: 0,
  folds: [],
});
const asArray = (e: number) => ({ ...base(e), accounts: deltas(e) });
const asString = (e: number) => ({
  ...base(e),
  acc: deltas(e)
    .map((d) => `${d.a} ${d.d} ${d.n} ${d.t}`)
    .join('\n'),
});

const results: Record<string, number> = {};
async function phase(name: string, fn: () => Promise<unknown>): Promise<void> {
  const cpu0 = (await cpuSeconds(pid))!;
  const t0 = performance.now();
  await fn();
  results[`${name}_wall_s`] = +((performance.now() - t0) / 1000).toFixed(2);
  results[`${name}_cpu_s`] = +((await cpuSeconds(pid))! - cpu0).toFixed(2);
  console.log(JSON.stringify({ phase: name, wall_s: results[`${name}_wall_s`], ferretdb_cpu_s: results[`${name}_cpu_s`] }));
}
for (const [name, make] of [
  ['array', asArray],
  ['string', asString],
] as const) {
  const coll = mongo.db.collection<{ _id: string }>(`log_${name}`);
  await phase(`${name}_insert`, async () => {
    for (let e = 1; e <= N; e++) await coll.insertOne(make(e));
  });
  await phase(`${name}_scan`, () => coll.find({ seq: { $lt: 0 } }).toArray());
}
await mongo.close();
await servers.stop();
console.log(
  JSON.stringify({
    machine: { cpu: os.cpus()[0]?.model, cores: os.cpus().length, load1: os.loadavg()[0] },
    entries: N,
    deltas: A,
    ids_per_delta: R,
    ...results,
  }),
);
