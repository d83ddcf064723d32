/**
 * One benchmark run, phase by phase, on one set of embedded servers (run.ts is the CLI):
 *   1. raw ceiling: JetStream pull + JSON.parse + ack, nothing else (raw.ts);
 *   2. the naive design: a job and an $inc per record, on a subset (naive.ts);
 *   3. tally end to end (endToEnd.ts): bridge, worker and api processes; the stream
 *      published by the official NATS Go client, timed from the first publish to settled
 *      (`tally stats --wait`'s condition), with HTTP clients reading accounts meanwhile and
 *      the store documents it writes counted (scale.ts); then the same reads quiet, and
 *      `tally accounts`;
 *   4. latency at half the rate of 3 (latency.ts), the balance check; then webhooks, plan
 *      purchases and VM allocations at a seeded ledger of `ledgerEntries` (billing.ts);
 *      then `httpRecords` more records through `POST /v1/usage`, 4 clients posting 1,000
 *      a request with a producer key while the pipeline charges them (httpIngest.ts);
 *      peak RSS, and a graceful stop (the worker reports its writes over the whole run);
 *   5. the dedup horizon's bytes per id and, with `takeoverIds`, the 5M-id takeover (scale.ts).
 * Phases run one after another so they never compete for the two cores.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir } from 'node:fs/promises';
import { cpus, loadavg, setPriority, totalmem } from 'node:os';
import { join } from 'node:path';
import { connectBus, ensureStreams, streamOptions } from '../../shared/bus/index.js';
import { loadConfig } from '../../shared/config/index.js';
import { redisConnection } from '../../shared/queue/index.js';
import { AccountReadModel } from '../../shared/readModel/index.js';
import { freePort } from '../../shared/runtime/index.js';
import { connectMongo, sumShardLog } from '../../shared/store/index.js';
import { StreamGenerator } from '../../services/cli/load/generate.js';
import { billingLoad, type BillingResult } from './billing.js';
import { accountReader, endToEnd, readAccounts, usagePath, waitSettled, writeRecorded, type EndToEnd, type Producer } from './endToEnd.js';
import {
  benchEnv,
  checkBalances,
  cpuSnapshot,
  expectedStreams,
  peakRss,
  spawnServices,
  spreadSpan,
  startBenchServers,
  stopServices,
  waitSnapshot,
  type BalanceCheck,
  type ServiceProcess,
} from './harness.js';
import { httpIngest, type HttpIngestResult } from './httpIngest.js';
import type { LoadResult } from './httpLoad.js';
import { latencyAtRate, type LatencyResult } from './latency.js';
import { naiveDesign, type NaiveResult } from './naive.js';
import { natsCliReference, rawCeiling, type RawCeiling } from './raw.js';
import { summarizeFile, type ProfileSummary } from './profile.js';
import { PhaseWrites, docsPer1000, horizonBytesPerId, takeoverScript, timeTallyCommand, usageCost, workerWrites, type WorkerWrites } from './scale.js';

export interface BenchOptions {
  records: number;
  accounts: number;
  /** @defaultValue 1 */
  seed?: number;
  /** @defaultValue the configured SHARDS */
  shards?: number;
  /** Who publishes the end-to-end stream: the NATS Go client, or `tally replay`'s engine. @defaultValue 'go' */
  producer?: Producer;
  /** Records through the naive design. @defaultValue min(5000, records) */
  naiveRecords?: number;
  /** Records of the latency phase. @defaultValue 15 s at half the measured rate, within [500, records] */
  latencyRecords?: number;
  badRate?: number;
  dupRate?: number;
  /** Also run `nats bench js` for a reference figure. */
  natsCli?: boolean;
  /** HTTP clients reading accounts during the end-to-end phase, and each one's pause between reads. @defaultValue 8, 10 ms */
  readClients?: number;
  readPauseMs?: number;
  /** Reads after the stream has settled. @defaultValue 5000 */
  quietReads?: number;
  /** Ledger entries before the webhooks, webhooks at most (within `webhookSeconds`), plan purchases at most. @defaultValue 100000, 10000, 20, 1000 */
  ledgerEntries?: number;
  webhooks?: number;
  webhookSeconds?: number;
  purchases?: number;
  /** Records posted to `POST /v1/usage` after the billing phase (0: skip). @defaultValue records */
  httpRecords?: number;
  /** Ids of the dedup-horizon measurement (0: skip). @defaultValue 1000000 */
  horizonIds?: number;
  /** Run test/bench/takeover.ts with this many ids (when it exists). @defaultValue not run */
  takeoverIds?: number;
  /** More variables for the services, e.g. a shorter PROJECTION_FLUSH_MS (tests). */
  env?: Record<string, string>;
  /** Run bridge, worker and api under `--cpu-prof`, profiles written here and summarized. */
  profileDir?: string;
  /** Arrivals spread over this many days before now (issue 29's 35-day stream); 0: over the last hour. @defaultValue 0 */
  spreadDays?: number;
  /**
   * Nice value of the API's event-loop thread (root may go below 0), set once it listens: the
   * bench runs every process on the same two cores, where a deployment gives the API cores
   * of its own (deploy/helm: a CPU request per service). @defaultValue not changed (0)
   */
  apiPriority?: number;
  /** Progress lines (stderr). */
  log?: (line: string) => void;
}

export interface TallyResult extends EndToEnd {
  /** CPU seconds each process used during this phase (the producer and the readers not included). */
  cpu_s: Record<string, number | null>;
  /** Seconds each process's main thread waited on a run queue for a core during this phase (bench: the readers' own process). */
  run_queue_wait_s: Record<string, number | null>;
  /** Event-loop delay of the usage readers' own process (readerProcess.ts) during the phase, p99 and max, ms: what their clock adds. */
  reader_loop_delay_ms: { p99: number; max: number };
  /** Accounts whose read-model balance differed from the domain core's at the first `pending` 0 (settled means readable). */
  readable_wrong: number;
  /** The same reads as during the phase, after it settled. */
  quiet_reads: LoadResult;
  /** The usage queries of the phase, after it settled. */
  quiet_usage_reads: LoadResult;
}

export interface ScaleResult {
  /** `tally accounts > /dev/null` after the end-to-end phase settled. */
  accounts_command: { seconds: number; lines: number };
  /** `tally usage --window day > FILE` (every account) after the end-to-end phase settled. */
  usage_command: { seconds: number; lines: number };
  /** test/bench/usageCost.ts on a stream of this run's size: the rollups' CPU per record and heap per account. */
  usage_cost: Record<string, number | null>;
  /** Store documents the worker wrote for the end-to-end phase (through its first projection flush after settling). */
  phase_writes: WorkerWrites & { flushes: number };
  docs_per_1000_records: ReturnType<typeof docsPer1000>;
  /** What the worker reported at its stop: every phase, the billing phase's folds included. */
  run_writes: WorkerWrites | null;
  horizon: { ids: number; bytes_per_id: number | null; table_bytes_per_id: number | null } | null;
  takeover: { ids: number | null; seconds: number | null; note: string };
}

export interface BenchResult {
  date: string;
  machine: string;
  load_avg: number[];
  /** The nice value of the API's event-loop thread (BenchOptions.apiPriority); 0 unless changed. */
  api_priority: number;
  records: number;
  accounts: number;
  shards: number;
  raw: RawCeiling;
  nats_cli: { pub_per_s: number; fetch_per_s: number } | null;
  naive: NaiveResult;
  tally: TallyResult;
  latency: LatencyResult;
  billing: BillingResult;
  /** With the CPU seconds each process used from the first request to settled. */
  http_ingest: (HttpIngestResult & { cpu_s: Record<string, number | null> }) | null;
  scale: ScaleResult;
  /** Peak RSS per process (VmHWM at the end of the run). */
  rss_mb: Record<string, number | null>;
  /** Distinct valid records charged in the shard log, against what the domain core says (plus those HTTP ingest accepted). */
  charged: number;
  expected_charged: number;
  balances: BalanceCheck;
  /** From the end of the latency phase until every account projection in the store matched (0: already did). */
  projections_settle_s: number;
  /** Exit codes after SIGTERM (0: drained and stopped cleanly). */
  exit_codes: Record<string, number | null>;
  /** The end of the log of each service that did not exit 0. */
  exit_logs: Record<string, string>;
  profiles: Record<string, ProfileSummary>;
  ok: boolean;
}

const SERVICES = ['worker', 'bridge', 'api'] as const;
const onlyOk = (r: LoadResult, codes: readonly string[]): boolean => Object.keys(r.statuses).every((s) => codes.includes(s));

export async function runBench(o: BenchOptions): Promise<BenchResult> {
  const log = o.log ?? (() => undefined);
  const load = loadavg().map((x) => Math.round(x * 100) / 100);
  const bench = await startBenchServers();
  const { servers } = bench;
  const secrets = { ADMIN_TOKEN: `bench-admin-${randomBytes(12).toString('hex')}`, WEBHOOK_SECRET: `bench-webhook-${randomBytes(12).toString('hex')}` };
  const port = await freePort();
  // One address sends every request here, so the per-IP limit is lifted to the schema's maximum.
  const env = benchEnv(servers, 'bench', o.shards, { ...secrets, HTTP_PORT: String(port), RATE_LIMIT_IP_PER_MINUTE: '1000000', ...o.env });
  const api = { url: `http://127.0.0.1:${port}`, adminToken: secrets.ADMIN_TOKEN, webhookSecret: secrets.WEBHOOK_SECRET };
  const config = loadConfig(env);
  const bus = await connectBus(servers.natsUrl, 'bench', servers.natsSecurity);
  const redis = redisConnection(servers.redisUrl);
  const mongo = await connectMongo(servers.mongoUrl, 'bench');
  const reader = accountReader(redis, mongo.db, config);
  const reads = { api, accounts: o.accounts, readClients: o.readClients ?? 8, readPauseMs: o.readPauseMs ?? 10 };
  const profiling = o.profileDir ? { cpuProfDir: o.profileDir } : {};
  try {
    await ensureStreams(bus.jsm, streamOptions(config));
    const now = Date.now();
    const spread = o.spreadDays ?? 0;
    // A stream over `spread` days keeps its late records inside the horizon, its oldest an hour clear of it.
    const span = spreadSpan(spread, config.lateArrivalDays);
    const gen = { accounts: o.accounts, badRate: o.badRate ?? 0, dupRate: o.dupRate ?? 0, ...span };
    const lines = [...new StreamGenerator({ ...gen, records: o.records, seed: o.seed ?? 1, now }).lines()];

    log(`raw ceiling: ${lines.length} records`);
    const raw = await rawCeiling(bus, lines);
    const natsCli = o.natsCli ? await natsCliReference(servers.natsUrl, servers.serviceNkey, lines.length) : null;

    const naiveLines = lines.slice(0, o.naiveRecords ?? Math.min(5000, lines.length));
    log(`naive design: ${naiveLines.length} records`);
    const naive = await naiveDesign(servers, config, naiveLines, now);

    const file = join(bench.dataDir, 'stream.ndjson');
    await writeRecorded(file, lines);
    if (o.profileDir) await mkdir(o.profileDir, { recursive: true });
    // The worker at debug level logs each projection flush (what PhaseWrites counts); nothing else of it logs at debug.
    const procs = await spawnServices(env, { ...profiling, names: SERVICES, envFor: { worker: { LOG_LEVEL: 'debug' } } });
    const worker = procs.find((p) => p.name === 'worker')!;
    if (o.apiPriority !== undefined) setPriority(procs.find((p) => p.name === 'api')!.child.pid!, o.apiPriority);
    let tally: TallyResult;
    let phaseWrites: ScaleResult['phase_writes'];
    let accountsCommand: ScaleResult['accounts_command'];
    let usageCommand: ScaleResult['usage_command'];
    let latency: LatencyResult;
    let balances: BalanceCheck;
    let settleSeconds: number;
    let billing: BillingResult;
    let ingest: BenchResult['http_ingest'] = null;
    let rss: Record<string, number | null>;
    let exitCodes: Record<string, number | null>;
    try {
      // Every shard's read model loaded before the clock starts.
      await waitSettled(bus, reader, 120_000);
      log(`tally end to end: ${lines.length} records, producer ${o.producer ?? 'go'}, ${reads.readClients} readers`);
      const writes = new PhaseWrites(mongo.db, new AccountReadModel(redis, config.mongoDb, config.shards));
      await writes.start();
      const cpuBefore = await cpuSnapshot(procs, servers);
      const waitBefore = await waitSnapshot(procs, servers);
      const e2e = await endToEnd({ ...reads, producer: o.producer ?? 'go', bus, target: servers, reader, lines, file });
      const settledAt = Date.now();
      const cpuAfter = await cpuSnapshot(procs, servers);
      const cpu = cpuDelta(cpuBefore, cpuAfter);
      const runQueueWait = cpuDelta(waitBefore, await waitSnapshot(procs, servers));
      const expected = expectedStreams(config, [{ lines, now }]).balances;
      const served = await reader.list();
      const readableWrong = served.filter((a) => a.balance_micros !== (expected.get(a._id) ?? 0n)).length + Math.abs(expected.size - served.length);
      log('reads, quiet; tally accounts');
      const quiet = await readAccounts(reads, () => false, o.quietReads ?? 5000);
      const quietUsage = await readAccounts(reads, () => false, o.quietReads ?? 5000, usagePath(Date.now()));
      tally = {
        ...e2e,
        cpu_s: cpu,
        run_queue_wait_s: runQueueWait,
        reader_loop_delay_ms: e2e.usage_reads.loop_delay_ms,
        readable_wrong: readableWrong,
        quiet_reads: quiet,
        quiet_usage_reads: quietUsage,
      };
      accountsCommand = await timeTallyCommand(env, join(bench.dataDir, 'accounts.ndjson'), ['accounts']);
      log('tally usage --window day');
      usageCommand = await timeTallyCommand(env, join(bench.dataDir, 'usage.ndjson'), ['usage', '--window', 'day']);
      log('waiting for the first projection flush after the phase');
      phaseWrites = await writes.stop(() => worker.log(), settledAt, config.projectionFlushMs + 10_000);

      const rate = Math.max(1, tally.records_per_s / 2);
      const n = o.latencyRecords ?? Math.min(lines.length, Math.max(500, Math.round(rate * 15)));
      const latencyNow = Date.now();
      const latencyLines = [...new StreamGenerator({ ...gen, records: n, seed: (o.seed ?? 1) + 1, now: latencyNow, idPrefix: 'lat' }).lines()];
      log(`latency: ${n} records at ${Math.round(rate)}/s`);
      latency = await latencyAtRate(bus, servers.mongoUrl, 'bench', latencyLines, rate);
      // The store's projections are a takeover snapshot the worker writes every
      // PROJECTION_FLUSH_MS; wait for them rather than stop mid-flush.
      log('waiting for the account projections to match the log');
      const settling = performance.now();
      for (;;) {
        // Each stream judged at the instant it was made for, not at this try's clock (a 35-day
        // stream would lose records to `too_late` in the expectation the pipeline rightly charged).
        balances = await checkBalances(servers.mongoUrl, 'bench', config, [
          { lines, now },
          { lines: latencyLines, now: latencyNow },
        ]);
        if ((balances.wrong === 0 && balances.ledgerMismatches === 0) || performance.now() - settling > 600_000) break;
        await new Promise((r) => setTimeout(r, 3000));
      }
      settleSeconds = Math.round((performance.now() - settling) / 100) / 10;

      log(`webhooks, plans and VMs at ${o.ledgerEntries ?? 100_000} ledger entries`);
      billing = await billingLoad({
        db: mongo.db,
        shards: config.shards,
        api,
        accounts: o.accounts,
        clients: 8,
        ledgerEntries: o.ledgerEntries ?? 100_000,
        webhooks: o.webhooks ?? 10_000,
        seconds: o.webhookSeconds ?? 20,
        purchases: o.purchases ?? 1000,
      });
      const httpRecords = o.httpRecords ?? o.records;
      if (httpRecords > 0) {
        const httpLines = [...new StreamGenerator({ ...gen, records: httpRecords, seed: (o.seed ?? 1) + 2, now: Date.now(), idPrefix: 'http' }).lines()];
        log(`HTTP ingest: ${httpRecords} records, 4 clients, 1000 a request`);
        const before = await cpuSnapshot(procs, servers);
        const measured = await httpIngest({ api, bus, reader, lines: httpLines });
        const after = await cpuSnapshot(procs, servers);
        ingest = { ...measured, cpu_s: cpuDelta(before, after) };
      }
      rss = await peakRss(procs, servers);
    } finally {
      exitCodes = await stopServices(procs);
    }

    const { charged } = await sumShardLog(mongo.db);
    const horizonIds = o.horizonIds ?? 1_000_000;
    log(horizonIds > 0 ? `dedup horizon: ${horizonIds} ids` : 'dedup horizon: skipped');
    const horizon = horizonIds > 0 ? await horizonBytesPerId(horizonIds) : null;
    log('usage rollups: CPU per record and heap per account');
    const rollupCost = await usageCost(lines.length, o.accounts, Math.max(spread, 1));
    const takeover = o.takeoverIds !== undefined ? await takeoverScript(o.takeoverIds) : { ids: null, seconds: null, note: 'not run (--takeover)' };
    const profiles = o.profileDir ? await readProfiles(o.profileDir, procs) : {};
    const scale: ScaleResult = {
      accounts_command: accountsCommand,
      usage_command: usageCommand,
      usage_cost: rollupCost,
      phase_writes: phaseWrites,
      docs_per_1000_records: docsPer1000(phaseWrites, lines.length),
      run_writes: workerWrites(worker.log()),
      horizon,
      takeover,
    };
    // Every record posted over HTTP is new (its own ids), so it is charged once on top of the stream's.
    const expectedCharged = balances.unique + (ingest?.accepted ?? 0);
    const requestsOk =
      onlyOk(tally.reads, ['200', '404']) &&
      onlyOk(tally.quiet_reads, ['200', '404']) &&
      onlyOk(tally.usage_reads, ['200', '404']) &&
      onlyOk(tally.quiet_usage_reads, ['200', '404']) &&
      onlyOk(billing.webhooks, ['200', '202']) &&
      onlyOk(billing.purchases, ['201', '202', '402']) &&
      onlyOk(billing.vms, ['201', '202']) &&
      (ingest === null || (onlyOk(ingest.requests, ['200']) && ingest.rejected === 0));
    return {
      date: new Date().toISOString(),
      machine: `${cpus().length} cores (${cpus()[0]?.model ?? '?'}), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
      load_avg: load,
      api_priority: o.apiPriority ?? 0,
      records: o.records,
      accounts: o.accounts,
      shards: config.shards,
      raw,
      nats_cli: natsCli,
      naive,
      tally,
      latency,
      billing,
      http_ingest: ingest,
      scale,
      rss_mb: rss,
      charged,
      expected_charged: expectedCharged,
      balances,
      projections_settle_s: settleSeconds,
      exit_codes: exitCodes,
      exit_logs: Object.fromEntries(procs.filter((p) => exitCodes[p.name] !== 0).map((p) => [p.name, p.log().slice(-4000)])),
      profiles,
      ok:
        balances.wrong === 0 &&
        balances.ledgerMismatches === 0 &&
        charged === expectedCharged &&
        tally.readable_wrong === 0 &&
        naive.failed === 0 &&
        latency.samples > 0 &&
        requestsOk &&
        Object.values(exitCodes).every((c) => c === 0),
    };
  } finally {
    redis.disconnect();
    await mongo.close();
    await bus.close();
    await bench.stop();
  }
}

/** CPU seconds each process used between two snapshots, to a tenth. */
function cpuDelta(before: Record<string, number | null>, after: Record<string, number | null>): Record<string, number | null> {
  return Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v === null || before[k] == null ? null : Math.round((v - before[k]!) * 10) / 10]));
}

/** Node names profiles CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile; the pid says whose. */
async function readProfiles(dir: string, procs: readonly ServiceProcess[]): Promise<Record<string, ProfileSummary>> {
  const profiles: Record<string, ProfileSummary> = {};
  for (const file of (await readdir(dir)).filter((f) => f.endsWith('.cpuprofile'))) {
    const name = procs.find((p) => p.child.pid === Number(file.split('.')[3]))?.name;
    if (name) profiles[name] = await summarizeFile(join(dir, file));
  }
  return profiles;
}
