/**
 * One chaos run (issue 17): the product as separate processes on its own servers, a steady
 * stream with bad records, duplicates, re-sends and fuzz inputs, payments, purchases and VM
 * allocations through the API, the ladder tick every few seconds, and faults at seeded
 * random moments; then, once everything has settled, the independent checker
 * (checker.ts) and a SIGTERM to every process, each of which must exit 0.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { connectBus, ensureStreams, streamOptions } from '../../shared/bus/index.js';
import { findPlan } from '../../shared/domain/index.js';
import { loadConfig } from '../../shared/config/index.js';
import { redisConnection } from '../../shared/queue/index.js';
import { freePort } from '../../shared/runtime/index.js';
import { connectMongo, verifyLedger } from '../../shared/store/index.js';
import { COLLECTIONS } from '../../shared/store/internal.js';
import { accountReader, waitSettled } from '../bench/endToEnd.js';
import { benchEnv, startBenchServers } from '../bench/harness.js';
import { apiLoad, newLedger, payVeterans, type ApiTarget } from './apiLoad.js';
import { check, runPassed, type CheckResult } from './checker.js';
import { Cluster, chaosSlots, type Crash } from './cluster.js';
import { FAULT_KINDS, runFaults, schedule, type FaultRecord } from './faults.js';
import { FLOOR_ACCOUNTS, floorRecords } from './fuzz.js';
import { produceRun, type ProducerReport } from './producer.js';

export interface ChaosOptions {
  records: number;
  accounts: number;
  seed: number;
  /** Length of the load phase (faults strike within it). */
  minutes: number;
  /** Faults in all (at least one of each kind). @defaultValue one per kind, or 1.2 per minute if more */
  faults?: number;
  /** Bad inputs mixed into the stream. @defaultValue 10000 */
  fuzz?: number;
  /** Payments through the API. @defaultValue min(accounts / 4, 1000) */
  payments?: number;
  /** More variables for every service (e.g. TALLY_FAILPOINTS, to show the checker catches a planted double charge). */
  env?: Record<string, string>;
  /** Variables for the workers only. */
  workerEnv?: Record<string, string>;
  /** Inject no faults (the planted-defect check). */
  noFaults?: boolean;
  log?: (line: string) => void;
}

/** What every run's report holds beside its figures: when, where, and what the checker and producers saw. */
export interface RunDetail {
  date: string;
  machine: string;
  load_avg_start: number[];
  load_avg_end: number[];
  check: CheckResult;
  producer: ProducerReport;
  api: Record<string, number>;
  crashes: Crash[];
  exit_codes: Record<string, number | null>;
  settle_seconds: number;
}

export interface ChaosResult {
  records: number;
  accounts: number;
  faults: number;
  faults_by_kind: Record<string, number>;
  lost: number;
  double_charged: number;
  balances_wrong: number;
  ledger_mismatch: number;
  dead_letters_wrong: number;
  seconds: number;
  /** Everything else, for the log and the docs. */
  detail: RunDetail & {
    fuzz: number;
    credits: number;
    purchases: number;
    adjustments: number;
    fault_log: FaultRecord[];
    /** Ladder ticks recorded, and tier transitions they wrote. */
    ticks: number;
    tier_transitions: number;
    data_dir: string;
  };
  ok: boolean;
}

/**
 * The service settings of the run: short leases and duplicate window, so faults bite within
 * seconds. The bridges hold at most 10,000 messages each and JetStream's ack wait is 30 s:
 * every message held gets a `+WPI` heartbeat each third of the ack wait, so 200k held
 * messages with an 8 s ack wait cost ~75k heartbeats a second, more than a starved 2-core
 * machine sends in time; JetStream then redelivers what is merely waiting (68k redeliveries
 * and ~120 records/s in a first 1M run under a load average of 20). A bridge lingers 1 s
 * for a shard's batch: at 1,500 records a second over 16 shards and 2 bridges, 250 ms made
 * jobs of ~8 records, one shard-log entry each (125k entries for a million records, which
 * every takeover reads back); 1 s makes them ~4 times larger.
 */
export const CHAOS_ENV = {
  WORKER_LEASE_TTL_MS: '4000',
  NATS_ACK_WAIT_MS: '30000',
  BRIDGE_MAX_IN_FLIGHT: '10000',
  BRIDGE_LINGER_MS: '1000',
  NATS_DUPLICATE_WINDOW_MS: '10000',
  PROJECTION_FLUSH_MS: '5000',
  LADDER_TICK_INTERVAL_MS: '5000',
  SHARDS: '16',
  RATE_LIMIT_IP_PER_MINUTE: '1000000',
  RATE_LIMIT_KEY_PER_MINUTE: '1000000',
} as const;

export async function runChaos(o: ChaosOptions): Promise<ChaosResult> {
  const log = o.log ?? (() => undefined);
  const t0 = Date.now();
  const loadStart = loadavg().map((x) => Math.round(x * 100) / 100);
  const bench = await startBenchServers();
  const { servers } = bench;
  const logDir = await mkdtemp(join(tmpdir(), 'tally-chaos-logs-'));
  log(`servers up in ${bench.dataDir}; service logs in ${logDir}`);
  const port = await freePort();
  const target: ApiTarget = {
    url: `http://127.0.0.1:${port}`,
    adminToken: `chaos-admin-${randomBytes(12).toString('hex')}`,
    webhookSecret: `chaos-webhook-${randomBytes(12).toString('hex')}`,
  };
  const vars = { ...CHAOS_ENV, ADMIN_TOKEN: target.adminToken, WEBHOOK_SECRET: target.webhookSecret, HTTP_PORT: String(port), ...o.env };
  const env = benchEnv(servers, 'chaos', undefined, vars);
  const config = loadConfig(Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined)));
  const cluster = new Cluster(env, logDir, log, chaosSlots(o.workerEnv));
  const bus = await connectBus(servers.natsUrl, 'chaos', servers.natsSecurity);
  const mongo = await connectMongo(servers.mongoUrl, config.mongoDb);
  const redis = redisConnection(servers.redisUrl);
  redis.on('error', () => undefined); // Redis restarts during the run; ioredis reconnects by itself
  const ledger = newLedger();
  let crashes: Crash[] = [];
  try {
    await ensureStreams(bus.jsm, streamOptions(config));
    await cluster.startAll();
    log('2 bridges, 2 workers, api and scheduler up');

    const veterans = Math.max(1, Math.floor(o.accounts / 100));
    await payVeterans(target, ledger, o.accounts, veterans, o.seed);
    log(`${veterans} veteran accounts paid 10-40 days ago`);
    for (const r of floorRecords(Date.now())) await bus.js.publish(r.subject, r.payload);
    await waitSettled(bus, accountReader(redis, mongo.db, config), 600_000);
    log(`${FLOOR_ACCOUNTS} accounts charged INT64_MAX: any further charge to them is refused as amount_out_of_range`);

    const seconds = o.minutes * 60;
    const fuzzCount = o.fuzz ?? 10_000;
    const total = o.records + fuzzCount;
    const plan = o.noFaults ? [] : schedule(Math.max(o.faults ?? 0, FAULT_KINDS.length, Math.ceil(o.minutes * 1.2)), seconds, o.seed);
    const planPrice = findPlan(config.plans, 'basic')?.priceMicros ?? 0n;
    let producing = true;
    const started = Date.now();
    const [producer, faultLog] = await Promise.all([
      produceRun({ js: bus.js, records: o.records, accounts: o.accounts, seed: o.seed, rate: total / seconds, fuzzCount, log }, config).finally(
        () => (producing = false),
      ),
      runFaults(plan, { cluster, servers, redisUrl: servers.redisUrl, leaseTtlMs: config.workerLeaseTtlMs, rand: Math.random }, started, log, () => false),
      apiLoad({
        target,
        ledger,
        accounts: o.accounts,
        seed: o.seed,
        payments: o.payments ?? Math.min(Math.floor(o.accounts / 4), 1000),
        seconds: seconds * 0.9,
        planPriceMicros: planPrice,
        stop: () => !producing,
      }),
    ]);
    log(`load phase over in ${Math.round((Date.now() - started) / 1000)} s: ${producer.acked} publishes acked, ${faultLog.length} faults; waiting for settled`);
    log(`api answers: ${JSON.stringify(ledger.statuses)}`);

    const settleStart = Date.now();
    const reader = accountReader(redis, mongo.db, config);
    await waitSettled(bus, reader, 1_800_000);
    // Folds of payments and purchases travel as jobs, not stream messages (a 202 is one still
    // pending): give them up to a minute to be folded. The checker's own `tally verify` then
    // reports any ledger entry still unfolded.
    for (let i = 0; i < 12 && (await verifyLedger(mongo.db, await reader.list())).mismatches.length > 0; i++) await new Promise((r) => setTimeout(r, 5000));
    await waitSettled(bus, reader, 600_000);
    const settleSeconds = Math.round((Date.now() - settleStart) / 100) / 10;
    log(`settled in ${settleSeconds} s; checking`);

    const result = await check({ bus, db: mongo.db, config, ledger, reader, env, log });
    crashes = [...cluster.crashes];
    const ticks = await mongo.db.collection(COLLECTIONS.ticks).countDocuments();
    const tierTransitions = await mongo.db.collection(COLLECTIONS.tierTransitions).countDocuments();
    const exitCodes = await cluster.stopAll();
    const faultsByKind: Record<string, number> = Object.fromEntries(FAULT_KINDS.map((k) => [k, 0]));
    for (const f of faultLog) faultsByKind[f.kind] = (faultsByKind[f.kind] ?? 0) + 1;
    const cleanStop = Object.values(exitCodes).every((c) => c === 0) && faultLog.every((f) => !f.detail.startsWith('FAILED'));
    const ok = runPassed(result, crashes, cleanStop);
    return {
      records: o.records,
      accounts: o.accounts,
      faults: faultLog.length,
      faults_by_kind: faultsByKind,
      lost: result.lost,
      double_charged: result.double_charged + result.phantom_charged,
      balances_wrong: result.balances_wrong,
      ledger_mismatch: result.ledger_mismatch,
      dead_letters_wrong: result.dead_letters_wrong,
      seconds: Math.round((Date.now() - t0) / 1000),
      detail: {
        date: new Date().toISOString(),
        machine: `${cpus().length} cores ${cpus()[0]?.model ?? '?'}, ${Math.round(totalmem() / 2 ** 30)} GiB`,
        load_avg_start: loadStart,
        load_avg_end: loadavg().map((x) => Math.round(x * 100) / 100),
        check: result,
        producer,
        fuzz: producer.fuzz,
        api: ledger.statuses,
        credits: ledger.credits.size,
        purchases: ledger.debits.size,
        adjustments: ledger.adjustments.size,
        fault_log: faultLog,
        crashes,
        exit_codes: exitCodes,
        settle_seconds: settleSeconds,
        ticks,
        tier_transitions: tierTransitions,
        data_dir: bench.dataDir,
      },
      ok,
    };
  } finally {
    await cluster.stopAll();
    redis.disconnect();
    await mongo.close();
    await bus.close();
    await bench.stop();
  }
}
