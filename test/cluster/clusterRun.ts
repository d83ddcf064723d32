/**
 * The cluster run (issue 18): tally on clustered engines, as separate processes, through
 * the failures those engines are deployed to survive. Engines: 3 nats-server nodes in one
 * JetStream cluster with every stream at R3, Redis with failover (primary + replica + 3
 * sentinels, or a 3-primary Redis Cluster), FerretDB on a private PostgreSQL. Product: 2
 * bridges, 2 workers, 2 APIs and the scheduler. While the chaos producer's stream flows
 * (duplicates, re-sends and bad inputs included) and payments and purchases go through
 * one API: SIGKILL the NATS node leading the USAGE stream (started again once another
 * leads), a Redis failover, SIGKILL and restart of that API. Then, once settled, the chaos
 * run's independent checker (test/chaos/checker.ts) and a SIGTERM to every process.
 *
 * Identities as deployed (SPEC 14): NATS runs the shipped accounts (deploy/compose/nats.conf),
 * the services connect as the services user, the producer publishes as the producer user
 * (account PRODUCERS: `usage.>` and its acks, nothing else); Redis and the sentinels
 * require their passwords.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { USAGE_STREAM, connectBus, ensureStreams, natsConnectOptions, streamOptions } from '../../shared/bus/index.js';
import { findPlan } from '../../shared/domain/index.js';
import { loadConfig } from '../../shared/config/index.js';
import { redisAuth, redisConnection } from '../../shared/queue/index.js';
import { freePort } from '../../shared/runtime/index.js';
import { connectMongo, verifyLedger } from '../../shared/store/index.js';
import { accountReader, waitSettled } from '../bench/endToEnd.js';
import { apiLoad, newLedger, type ApiTarget } from '../chaos/apiLoad.js';
import { CHAOS_ENV, type RunDetail } from '../chaos/chaos.js';
import { check, runPassed, type CheckResult } from '../chaos/checker.js';
import { Cluster, type Crash, type SlotSpec } from '../chaos/cluster.js';
import { produceRun, type ProducerReport } from '../chaos/producer.js';
import { startNatsCluster, type NatsCluster } from '../support/natsCluster.js';
import { startPostgresFerret } from '../support/pgFerret.js';
import { startRedis, type RedisEngine, type RedisKind } from './redis.js';

export interface ClusterRunOptions {
  records: number;
  accounts: number;
  seed: number;
  redis: RedisKind;
  /** Records a second the producer offers. @defaultValue 1000 */
  rate?: number;
  /** Bad inputs mixed into the stream. @defaultValue records / 100 */
  fuzz?: number;
  /** Payments through the API. @defaultValue min(accounts / 4, 300) */
  payments?: number;
  /** More variables for every service. */
  env?: Record<string, string>;
  log?: (line: string) => void;
}

export const CLUSTER_FAULTS = ['nats_leader_kill', 'redis_failover', 'api_restart'] as const;
export type ClusterFault = (typeof CLUSTER_FAULTS)[number];

export interface ClusterFaultRecord {
  kind: ClusterFault;
  at: string;
  /** Seconds from the start of the load phase. */
  t: number;
  detail: string;
  seconds: number;
}

export interface ClusterRunResult {
  records: number;
  accounts: number;
  faults: number;
  balances_equal: string;
  lost: number;
  double_charged: number;
  verify: string;
  redis: RedisKind;
  seconds: number;
  detail: RunDetail & {
    engines: { nats: string; redis: string; store: string; stream_replicas: number };
    fault_log: ClusterFaultRecord[];
    load_seconds: number;
    log_dir: string;
  };
  ok: boolean;
}

/** The deployment: 2 bridges, 2 workers, 2 APIs on their own ports, 1 scheduler. */
function slots(apiPorts: readonly number[]): SlotSpec[] {
  return [
    { slot: 'bridge-0', kind: 'bridge' },
    { slot: 'bridge-1', kind: 'bridge' },
    { slot: 'worker-0', kind: 'worker' },
    { slot: 'worker-1', kind: 'worker' },
    ...apiPorts.map((port, i): SlotSpec => ({ slot: `api-${i}`, kind: 'api', env: { HTTP_PORT: String(port) } })),
    { slot: 'scheduler', kind: 'scheduler' },
  ];
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** A URL with its password replaced, for logs and the report. */
const redact = (url: string): string => url.replace(/:[^:@/]*@/g, ':***@');

/** SIGKILL the node leading USAGE; once another node leads it, start the killed one again. */
async function killStreamLeader(nats: NatsCluster, jsm: Parameters<NatsCluster['streamLeader']>[0], log: (line: string) => void): Promise<string> {
  const leader = await nats.streamLeader(jsm, USAGE_STREAM);
  const t0 = Date.now();
  await nats.kill(leader);
  log(`nats: SIGKILL ${nats.nodes[leader]!.name}, leader of ${USAGE_STREAM}`);
  let next = leader;
  for (const deadline = Date.now() + 60_000; next === leader; await sleep(250)) {
    if (Date.now() > deadline) throw new Error(`no new ${USAGE_STREAM} leader 60 s after killing ${nats.nodes[leader]!.name}`);
    next = await nats.streamLeader(jsm, USAGE_STREAM).catch(() => leader);
  }
  const elected = ((Date.now() - t0) / 1000).toFixed(1);
  await sleep(5000);
  await nats.restart(leader);
  return `SIGKILL ${nats.nodes[leader]!.name} (leader of ${USAGE_STREAM}); ${nats.nodes[next]!.name} leads it after ${elected} s; ${nats.nodes[leader]!.name} started again, JetStream current after ${((Date.now() - t0) / 1000).toFixed(1)} s`;
}

/** The other API's /readyz status, polled for up to 10 s until it answers 200. */
async function otherApiReady(url: string): Promise<number> {
  let status = 0;
  for (const deadline = Date.now() + 10_000; status !== 200 && Date.now() < deadline; await sleep(250)) {
    status = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(3000) }).then(
      (r) => r.status,
      () => 0,
    );
  }
  return status;
}

export async function runCluster(o: ClusterRunOptions): Promise<ClusterRunResult> {
  const log = o.log ?? (() => undefined);
  const t0 = Date.now();
  const loadStart = loadavg().map((x) => Math.round(x * 100) / 100);
  const logDir = await mkdtemp(join(tmpdir(), 'tally-cluster-logs-'));
  const started = await Promise.allSettled([startNatsCluster(3), startRedis(o.redis), startPostgresFerret()]);
  const [natsR, redisR, storeR] = started;
  if (natsR.status === 'rejected' || redisR.status === 'rejected' || storeR.status === 'rejected') {
    await Promise.all(started.map((s) => (s.status === 'fulfilled' ? s.value.close() : undefined)));
    throw (started.find((s) => s.status === 'rejected') as PromiseRejectedResult).reason;
  }
  const nats = natsR.value;
  const redisEngine: RedisEngine = redisR.value;
  const store = storeR.value;
  log(
    `engines up in ${((Date.now() - t0) / 1000).toFixed(1)} s: NATS ${nats.url} (accounts TALLY, PRODUCERS); Redis ${redact(redisEngine.url)}; FerretDB ${store.mongoUrl} on ${store.postgresUrl}; service logs in ${logDir}`,
  );

  const apiPorts = [await freePort(), await freePort()];
  const target: ApiTarget = {
    url: `http://127.0.0.1:${apiPorts[0]}`,
    adminToken: `cluster-admin-${randomBytes(12).toString('hex')}`,
    webhookSecret: `cluster-webhook-${randomBytes(12).toString('hex')}`,
  };
  const vars: Record<string, string> = {
    ...CHAOS_ENV,
    NATS_URL: nats.serviceUrl,
    NATS_STREAM_REPLICAS: '3',
    REDIS_URL: redisEngine.url,
    ...redisEngine.env,
    MONGO_URL: store.mongoUrl,
    MONGO_DB: 'cluster',
    ADMIN_TOKEN: target.adminToken,
    WEBHOOK_SECRET: target.webhookSecret,
    HTTP_PORT: String(apiPorts[0]),
    LOG_LEVEL: process.env['CLUSTER_LOG_LEVEL'] ?? 'info',
    ...o.env,
  };
  const env: NodeJS.ProcessEnv = { ...process.env, ...vars };
  const config = loadConfig(Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined)));
  const cluster = new Cluster(env, logDir, log, slots(apiPorts));
  const bus = await connectBus(nats.serviceUrl, 'cluster-run');
  // The producer's own connection, with the producer identity: JetStream publishes only.
  const producerNc = await connect({
    ...(await natsConnectOptions(nats.producerUrl)),
    name: 'cluster-producer',
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
  });
  const mongo = await connectMongo(store.mongoUrl, config.mongoDb);
  const redis = redisConnection(redisEngine.url, redisAuth(config));
  redis.on('error', () => undefined); // the failover drops it; ioredis reconnects by itself
  const ledger = newLedger();
  try {
    await ensureStreams(bus.jsm, streamOptions(config));
    const replicas = (await bus.jsm.streams.info(USAGE_STREAM)).config.num_replicas;
    if (replicas !== 3) throw new Error(`${USAGE_STREAM} has ${replicas} replicas, not 3: NATS_STREAM_REPLICAS not applied`);
    await cluster.startAll();
    log(`${cluster.slots.join(', ')} up`);

    const fuzzCount = o.fuzz ?? Math.floor(o.records / 100);
    const rate = o.rate ?? 1000;
    const seconds = (o.records + fuzzCount) / rate;
    const planPrice = findPlan(config.plans, 'basic')?.priceMicros ?? 0n;
    const faultLog: ClusterFaultRecord[] = [];
    const loadStarted = Date.now();
    let producing = true;
    const fault = async (kind: ClusterFault, share: number, inject: () => Promise<string>): Promise<void> => {
      while (Date.now() < loadStarted + share * seconds * 1000) await sleep(100);
      const at = Date.now();
      log(`fault ${kind} at t+${((at - loadStarted) / 1000).toFixed(1)} s`);
      const detail = await inject().catch((err: Error) => `FAILED: ${err.message.slice(0, 2000)}`);
      const record = {
        kind,
        at: new Date(at).toISOString(),
        t: Math.round((at - loadStarted) / 100) / 10,
        detail,
        seconds: Math.round((Date.now() - at) / 100) / 10,
      };
      faultLog.push(record);
      log(`fault ${kind} done in ${record.seconds} s: ${detail}`);
    };
    const [producer] = await Promise.all([
      produceRun(
        { js: jetstream(producerNc, { timeout: 10_000 }), records: o.records, accounts: o.accounts, seed: o.seed, rate: rate, fuzzCount, log },
        config,
      ).finally(() => (producing = false)),
      (async () => {
        await fault('nats_leader_kill', 0.15, () => killStreamLeader(nats, bus.jsm, log));
        await fault('redis_failover', 0.4, () => redisEngine.failover(log));
        await fault('api_restart', 0.65, async () => {
          const pid = cluster.pid('api-0');
          const restarted = cluster.killAndRestart('api-0');
          // While api-0 is down, api-1 answers /readyz: NATS, Redis and the store reachable from it.
          const other = await otherApiReady(`http://127.0.0.1:${apiPorts[1]}`);
          await restarted;
          if (other !== 200) throw new Error(`api-1 /readyz answered ${other} while api-0 was down`);
          return `SIGKILL api-0 (pid ${pid}), the API the payments go through; api-1 /readyz 200 meanwhile; api-0 started again`;
        });
      })(),
      apiLoad({
        target,
        ledger,
        accounts: o.accounts,
        seed: o.seed,
        payments: o.payments ?? Math.min(Math.floor(o.accounts / 4), 300),
        seconds: seconds * 0.9,
        planPriceMicros: planPrice,
        stop: () => !producing,
      }),
    ]);
    const loadSeconds = Math.round((Date.now() - loadStarted) / 100) / 10;
    log(`load phase over in ${loadSeconds} s: ${producer.acked} publishes acked, ${producer.retries} retried; waiting for settled`);

    const settleStart = Date.now();
    const reader = accountReader(redis, mongo.db, config);
    await waitSettled(bus, reader, 3_600_000);
    for (let i = 0; i < 12 && (await verifyLedger(mongo.db, await reader.list())).mismatches.length > 0; i++) await sleep(5000);
    await waitSettled(bus, reader, 600_000);
    const settleSeconds = Math.round((Date.now() - settleStart) / 100) / 10;
    log(`settled in ${settleSeconds} s; checking`);

    const result = await check({ bus, db: mongo.db, config, ledger, reader, env, log });
    const crashes = [...cluster.crashes];
    const exitCodes = await cluster.stopAll();
    const cleanStop = Object.values(exitCodes).every((c) => c === 0);
    const faultsOk = faultLog.length === CLUSTER_FAULTS.length && faultLog.every((f) => !f.detail.startsWith('FAILED'));
    const ok = runPassed(result, crashes, cleanStop) && faultsOk;
    return {
      records: o.records,
      accounts: o.accounts,
      faults: faultLog.length,
      balances_equal: `${result.balances_compared - result.balances_wrong} of ${result.balances_compared}`,
      lost: result.lost,
      double_charged: result.double_charged + result.phantom_charged,
      verify: result.ledger_mismatch === 0 ? 'clean' : `${result.ledger_mismatch} mismatches`,
      redis: o.redis,
      seconds: Math.round((Date.now() - t0) / 1000),
      detail: {
        date: new Date().toISOString(),
        machine: `${cpus().length} cores ${cpus()[0]?.model ?? '?'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
        load_avg_start: loadStart,
        load_avg_end: loadavg().map((x) => Math.round(x * 100) / 100),
        engines: {
          nats: `${nats.url} (services as ${nats.services.user}, producer as ${nats.producer.user})`,
          redis: redact(redisEngine.url),
          store: `${store.mongoUrl} (FerretDB, ${store.postgresUrl})`,
          stream_replicas: replicas,
        },
        check: result,
        producer,
        api: ledger.statuses,
        fault_log: faultLog,
        crashes,
        exit_codes: exitCodes,
        load_seconds: loadSeconds,
        settle_seconds: settleSeconds,
        log_dir: logDir,
      },
      ok,
    };
  } finally {
    await cluster.stopAll();
    redis.disconnect();
    await mongo.close().catch(() => undefined);
    await bus.close().catch(() => undefined);
    await producerNc.drain().catch(() => undefined);
    await Promise.all([nats.close(), redisEngine.close(), store.close()]);
  }
}
