/**
 * The scale figure (issue 18): end-to-end records/s of the pipeline on the embedded
 * default and on clustered engines, same machine, same stream, one run, one after the
 * other. The method of test/bench/pipeline.ts --preload: the whole stream is published
 * first, then one bridge and one worker process (the compiled build) start, and the drain
 * is timed until the bridges' consumer holds nothing pending or un-acked (the bridge acks
 * a message only once the shard log holds its record); then every balance is checked
 * against the domain core.
 *
 *   npm run build && npx tsx test/cluster/bench.ts --records 200000 [--accounts 10000] [--shards 16] [--topology both|embedded|cluster] [--redis sentinel|cluster]
 *
 * embedded: nats-server, redis-server and FerretDB on SQLite, one each (what `tally up` runs).
 * cluster: 3 nats-server nodes with every stream at R3, Redis primary + replica + 3
 * sentinels (or a 3-primary Redis Cluster), FerretDB on a private PostgreSQL.
 * The LAST stdout line is one JSON object with both figures and the machine.
 */
import { cpus, loadavg, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { USAGE_STREAM, connectBus, ensureStreams, streamOptions } from '../../shared/bus/index.js';
import { loadConfig } from '../../shared/config/index.js';
import { StreamGenerator } from '../../services/cli/load/generate.js';
import { publishAll, type RecordedLine } from '../support/stream.js';
import { startNatsCluster } from '../support/natsCluster.js';
import { startPostgresFerret } from '../support/pgFerret.js';
import { checkBalances, spawnServices, startBenchServers, stopServices, waitDrained } from '../bench/harness.js';
import { startRedis, type RedisKind } from './redis.js';

const { values } = parseArgs({
  options: {
    records: { type: 'string', default: '200000' },
    accounts: { type: 'string', default: '10000' },
    shards: { type: 'string', default: '16' },
    topology: { type: 'string', default: 'both' },
    redis: { type: 'string', default: 'sentinel' },
  },
});
const N = Number(values.records);
const A = Number(values.accounts);
const log = (line: string): void => {
  process.stderr.write(`${new Date().toISOString()} bench: ${line}\n`);
};

interface Engines {
  natsUrl: string;
  redisUrl: string;
  mongoUrl: string;
  /** Variables only this topology sets. */
  env: Record<string, string>;
  describe: string;
  close(): Promise<void>;
}

async function embedded(): Promise<Engines> {
  const bench = await startBenchServers();
  const { natsUrl, redisUrl, mongoUrl } = bench.servers;
  return { natsUrl, redisUrl, mongoUrl, env: {}, describe: '1 nats-server (R1), 1 redis-server, FerretDB on SQLite', close: () => bench.stop() };
}

async function clustered(redisKind: RedisKind): Promise<Engines> {
  const [nats, redis, store] = await Promise.all([startNatsCluster(3), startRedis(redisKind), startPostgresFerret()]);
  return {
    natsUrl: nats.serviceUrl,
    redisUrl: redis.url,
    mongoUrl: store.mongoUrl,
    env: { NATS_STREAM_REPLICAS: '3', ...redis.env },
    describe: `3 nats-server nodes (R3), Redis ${redisKind === 'sentinel' ? 'primary + replica + 3 sentinels' : 'Cluster of 3 primaries'}, FerretDB on PostgreSQL 15`,
    close: async () => {
      await Promise.all([nats.close(), redis.close(), store.close()]);
    },
  };
}

interface Figure {
  topology: string;
  engines: string;
  records: number;
  publish_s: number;
  publish_per_s: number;
  drain_s: number;
  records_per_s: number;
  stream_replicas: number;
  balances_wrong: number;
  ledger_mismatches: number;
  load_avg: number[];
}

async function measure(topology: string, engines: Engines, lines: readonly RecordedLine[], now: number): Promise<Figure> {
  const db = `bench_${topology}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NATS_URL: engines.natsUrl,
    REDIS_URL: engines.redisUrl,
    MONGO_URL: engines.mongoUrl,
    MONGO_DB: db,
    SHARDS: values.shards,
    LOG_LEVEL: process.env['BENCH_LOG_LEVEL'] ?? 'info',
    ...engines.env,
  };
  const config = loadConfig(Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined)));
  const bus = await connectBus(engines.natsUrl, `bench-${topology}`);
  try {
    await ensureStreams(bus.jsm, streamOptions(config));
    const info = await bus.jsm.streams.info(USAGE_STREAM);
    let t = performance.now();
    await publishAll(bus.js, lines, true, 4000);
    const publishS = (performance.now() - t) / 1000;
    log(`${topology}: ${lines.length} records published in ${publishS.toFixed(1)} s; starting bridge and worker`);
    const procs = await spawnServices(env);
    t = performance.now();
    await waitDrained(bus.jsm, (await bus.jsm.streams.info(USAGE_STREAM)).state.last_seq);
    const drainS = (performance.now() - t) / 1000;
    log(`${topology}: drained in ${drainS.toFixed(1)} s`);
    await stopServices(procs);
    const check = await checkBalances(engines.mongoUrl, db, config, [{ lines, now }]);
    return {
      topology,
      engines: engines.describe,
      records: lines.length,
      publish_s: +publishS.toFixed(2),
      publish_per_s: Math.round(lines.length / publishS),
      drain_s: +drainS.toFixed(2),
      records_per_s: Math.round(lines.length / drainS),
      stream_replicas: info.config.num_replicas,
      balances_wrong: check.wrong,
      ledger_mismatches: check.ledgerMismatches,
      load_avg: loadavg().map((x) => Math.round(x * 100) / 100),
    };
  } finally {
    await bus.close();
  }
}

const now = Date.now();
const lines: RecordedLine[] = [...new StreamGenerator({ records: N, accounts: A, seed: 1, now, badRate: 0, dupRate: 0 }).lines()];
const topologies = values.topology === 'both' ? ['embedded', 'cluster'] : [values.topology!];
const figures: Figure[] = [];
for (const topology of topologies) {
  if (topology !== 'embedded' && topology !== 'cluster') throw new Error(`--topology is embedded, cluster or both, not ${topology}`);
  const engines = topology === 'embedded' ? await embedded() : await clustered(values.redis as RedisKind);
  log(`${topology}: ${engines.describe}`);
  try {
    figures.push(await measure(topology, engines, lines, now));
  } finally {
    await engines.close();
  }
}
const machine = `${cpus().length} cores (${cpus()[0]?.model ?? '?'}), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
for (const f of figures)
  log(
    `${f.topology.padEnd(8)} ${String(f.records_per_s).padStart(7)} records/s (drain ${f.drain_s} s; publish ${f.publish_per_s}/s; R${f.stream_replicas}; ${f.balances_wrong} balances wrong, ${f.ledger_mismatches} ledger mismatches)  ${f.engines}`,
  );
const byName = Object.fromEntries(figures.map((f) => [f.topology, f]));
const ratio = byName['embedded'] && byName['cluster'] ? Math.round((byName['cluster'].records_per_s / byName['embedded'].records_per_s) * 1000) / 1000 : null;
console.log(
  JSON.stringify({
    date: new Date().toISOString(),
    machine,
    records: N,
    accounts: A,
    shards: Number(values.shards),
    ...byName,
    cluster_share_of_embedded: ratio,
  }),
);
process.exitCode = figures.every((f) => f.balances_wrong === 0 && f.ledger_mismatches === 0) ? 0 : 1;
