/**
 * One benchmark run, phase by phase, on one set of embedded servers (run.ts is the CLI):
 *   1. raw ceiling: JetStream pull + JSON.parse + ack, nothing else (raw.ts);
 *   2. the naive design: a job and an $inc per record, on a subset (naive.ts);
 *   3. tally end to end: bridge and worker processes, every record published as fast as
 *      JetStream acks it, timed from the first publish to the last charge durable;
 *   4. latency at half the rate of 3 (latency.ts); then peak RSS and the balance check.
 * Phases run one after another so they never compete for the two cores.
 */
import { mkdir, readdir } from 'node:fs/promises';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { USAGE_STREAM, connectBus, ensureStreams, streamOptions } from '../../shared/bus/index.js';
import { loadConfig } from '../../shared/config/index.js';
import { connectMongo, sumShardLog } from '../../shared/store/index.js';
import { StreamGenerator } from '../../services/cli/load/generate.js';
import { runReplay } from '../../services/cli/load/replay.js';
import type { RecordedLine } from '../support/stream.js';
import { benchEnv, checkBalances, cpuSnapshot, peakRss, recordedBatches, spawnServices, startBenchServers, stopServices, waitDrained, type BalanceCheck } from './harness.js';
import { latencyAtRate, type LatencyResult } from './latency.js';
import { naiveDesign, type NaiveResult } from './naive.js';
import { natsCliReference, rawCeiling, type RawCeiling } from './raw.js';
import { summarizeFile, type ProfileSummary } from './profile.js';

export interface BenchOptions {
  records: number;
  accounts: number;
  /** @defaultValue 1 */
  seed?: number;
  /** @defaultValue the configured SHARDS */
  shards?: number;
  /** Records through the naive design. @defaultValue min(5000, records) */
  naiveRecords?: number;
  /** Records of the latency phase. @defaultValue 15 s at half the measured rate, within [500, records] */
  latencyRecords?: number;
  badRate?: number;
  dupRate?: number;
  /** Also run `nats bench js` for a reference figure. */
  natsCli?: boolean;
  /** Run bridge and worker under `--cpu-prof`, profiles written here and summarized. */
  profileDir?: string;
  /** Progress lines (stderr). */
  log?: (line: string) => void;
}

export interface TallyResult {
  records: number;
  publish_per_s: number;
  seconds: number;
  records_per_s: number;
  /** Stream messages (what JetStream kept after its own Nats-Msg-Id dedup). */
  stream_messages: number;
  /** CPU seconds each process used during this phase (the benchmark's own publisher not included). */
  cpu_s: Record<string, number | null>;
}

export interface BenchResult {
  date: string;
  machine: string;
  load_avg: number[];
  records: number;
  accounts: number;
  shards: number;
  raw: RawCeiling;
  nats_cli: { pub_per_s: number; fetch_per_s: number } | null;
  naive: NaiveResult;
  tally: TallyResult;
  latency: LatencyResult;
  rss_mb: Record<string, number | null>;
  /** Distinct valid records charged in the shard log, against what the domain core says. */
  charged: number;
  expected_charged: number;
  balances: BalanceCheck;
  /** From the end of the latency phase until every account projection matched (0: already did). */
  projections_settle_s: number;
  /** Exit codes of bridge and worker after SIGTERM (0: drained and stopped cleanly). */
  exit_codes: Record<string, number | null>;
  profiles: Record<string, ProfileSummary>;
  ok: boolean;
}


export async function runBench(o: BenchOptions): Promise<BenchResult> {
  const log = o.log ?? (() => undefined);
  const load = loadavg().map((x) => Math.round(x * 100) / 100);
  const bench = await startBenchServers();
  const { servers } = bench;
  const env = benchEnv(servers, 'bench', o.shards);
  const config = loadConfig(env);
  const bus = await connectBus(servers.natsUrl, 'bench');
  try {
    await ensureStreams(bus.jsm, streamOptions(config));
    const now = Date.now();
    const gen = { accounts: o.accounts, badRate: o.badRate ?? 0, dupRate: o.dupRate ?? 0 };
    const lines = [...new StreamGenerator({ ...gen, records: o.records, seed: o.seed ?? 1, now }).lines()];

    log(`raw ceiling: ${lines.length} records`);
    const raw = await rawCeiling(bus, lines);
    const natsCli = o.natsCli ? await natsCliReference(servers.natsUrl, lines.length) : null;

    const naiveLines = lines.slice(0, o.naiveRecords ?? Math.min(5000, lines.length));
    log(`naive design: ${naiveLines.length} records`);
    const naive = await naiveDesign(servers, config, naiveLines, now);

    if (o.profileDir) await mkdir(o.profileDir, { recursive: true });
    const procs = await spawnServices(env, o.profileDir ? { cpuProfDir: o.profileDir } : {});
    let latency: LatencyResult;
    let tally: TallyResult;
    let latencyLines: RecordedLine[];
    let rss: Record<string, number | null>;
    let balances: BalanceCheck;
    let settleSeconds: number;
    let exitCodes: Record<string, number | null>;
    try {
      log(`tally end to end: ${lines.length} records`);
      const cpuBefore = await cpuSnapshot(procs, servers);
      const started = performance.now();
      const published = await runReplay({ js: bus.js, lines: recordedBatches(lines), window: 4000 });
      if (published.errors > 0) throw new Error(`${published.errors} publishes failed (${published.first_error})`);
      const streamMessages = (await bus.jsm.streams.info(USAGE_STREAM)).state.last_seq;
      await waitDrained(bus.jsm, streamMessages);
      const seconds = (performance.now() - started) / 1000;
      const cpuAfter = await cpuSnapshot(procs, servers);
      const cpu = Object.fromEntries(Object.entries(cpuAfter).map(([k, v]) => [k, v === null || cpuBefore[k] == null ? null : Math.round((v - cpuBefore[k]!) * 10) / 10]));
      tally = { records: lines.length, publish_per_s: published.rate, seconds: Math.round(seconds * 100) / 100, records_per_s: Math.round(lines.length / seconds), stream_messages: streamMessages, cpu_s: cpu };

      const rate = Math.max(1, tally.records_per_s / 2);
      const n = o.latencyRecords ?? Math.min(lines.length, Math.max(500, Math.round(rate * 15)));
      latencyLines = [...new StreamGenerator({ ...gen, records: n, seed: (o.seed ?? 1) + 1, now: Date.now(), idPrefix: 'lat' }).lines()];
      log(`latency: ${n} records at ${Math.round(rate)}/s`);
      latency = await latencyAtRate(bus, servers.mongoUrl, 'bench', latencyLines, rate);
      // Balances are projections the worker writes behind the log, in bounded flushes; after
      // a burst over many accounts they lag it. Wait for them rather than stop mid-flush.
      log('waiting for the account projections to match the log');
      const settling = performance.now();
      for (;;) {
        balances = await checkBalances(servers.mongoUrl, 'bench', config, [...lines, ...latencyLines], Date.now());
        if ((balances.wrong === 0 && balances.ledgerMismatches === 0) || performance.now() - settling > 600_000) break;
        await new Promise((r) => setTimeout(r, 3000));
      }
      settleSeconds = Math.round((performance.now() - settling) / 100) / 10;
      rss = await peakRss(procs, servers);
    } finally {
      exitCodes = await stopServices(procs);
    }

    const mongo = await connectMongo(servers.mongoUrl, 'bench');
    const { charged } = await sumShardLog(mongo.db).finally(() => mongo.close());
    const profiles: Record<string, ProfileSummary> = {};
    if (o.profileDir) {
      for (const file of (await readdir(o.profileDir)).filter((f) => f.endsWith('.cpuprofile'))) {
        // Node names them CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile.
        const pid = Number(file.split('.')[3]);
        const name = procs.find((p) => p.child.pid === pid)?.name ?? file;
        profiles[name] = await summarizeFile(join(o.profileDir, file));
      }
    }
    return {
      date: new Date().toISOString(),
      machine: `${cpus().length} cores (${cpus()[0]?.model ?? '?'}), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
      load_avg: load,
      records: o.records, accounts: o.accounts, shards: config.shards,
      raw, nats_cli: natsCli, naive, tally, latency, rss_mb: rss, charged, expected_charged: balances.unique, balances,
      projections_settle_s: settleSeconds, exit_codes: exitCodes, profiles,
      ok: balances.wrong === 0 && balances.ledgerMismatches === 0 && charged === balances.unique && naive.failed === 0 && latency.samples > 0 && Object.values(exitCodes).every((c) => c === 0),
    };
  } finally {
    await bus.close();
    await bench.stop();
  }
}
