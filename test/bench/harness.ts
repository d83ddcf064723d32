/**
 * What every pipeline benchmark needs: embedded servers in a temporary folder, bridge and
 * worker as child processes of the compiled build (so each has its own CPU and RSS to
 * measure), a drain check, peak RSS, and the balance check against the domain core.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JetStreamManager } from '@nats-io/jetstream';
import { pino } from 'pino';
import { BRIDGE_CONSUMER, USAGE_STREAM } from '../../shared/bus/index.js';
import type { Config } from '../../shared/config/index.js';
import { connectMongo, verifyLedger } from '../../shared/store/index.js';
import { listAccounts } from '../../shared/store/internal.js';
import { startEmbedded, type Embedded } from '../../shared/runtime/index.js';
import { DAY_MS, formatRecordedLine } from '../../shared/domain/index.js';
import { expectedBalances, type RecordedLine } from '../support/stream.js';

export const ROOT = join(import.meta.dirname, '..', '..');

export interface BenchServers {
  servers: Embedded;
  /** The temporary folder everything lives in (removed by stop). */
  dataDir: string;
  stop(): Promise<void>;
}

/** Services a bench started and has not seen exit: killed if the bench is interrupted. */
const running = new Set<ChildProcess>();
let reaping = false;

/**
 * A bench stops by itself and leaves nothing behind, interrupted too (Ctrl-C, a timeout's
 * SIGTERM): a signal kills the services it started (SIGKILL: they would otherwise wait for
 * servers that are going away) and exits, and the exit stops the embedded servers
 * (startEmbedded's exit hook). Installed with the first service.
 */
function reapOnSignal(): void {
  if (reaping) return;
  reaping = true;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      for (const child of running) child.kill('SIGKILL');
      process.exit(128 + constants.signals[signal]);
    });
  }
}

export async function startBenchServers(): Promise<BenchServers> {
  const dataDir = await mkdtemp(join(tmpdir(), 'tally-bench-'));
  const servers = await startEmbedded({ dataDir, logger: pino({ level: 'warn' }) });
  return {
    servers,
    dataDir,
    async stop() {
      await servers.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** The environment of the pipeline's child processes. */
export function benchEnv(servers: Embedded, db: string, shards?: number, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    NATS_URL: servers.natsUrl,
    NATS_NKEY_SEED: servers.serviceNkey,
    REDIS_URL: servers.redisUrl,
    MONGO_URL: servers.mongoUrl,
    MONGO_DB: db,
    ...(shards !== undefined ? { SHARDS: String(shards) } : {}),
    LOG_LEVEL: process.env['BENCH_LOG_LEVEL'] ?? 'info',
    ...extra,
  };
}

export type ServiceName = 'worker' | 'bridge' | 'api' | 'scheduler';

export interface ServiceProcess {
  name: ServiceName;
  child: ChildProcess;
  /** What the process wrote (pino JSON lines); the API's only as a bounded tail (it logs every request). */
  log(): string;
}

/** The line each service logs once it is up. */
const STARTED: Record<ServiceName, string> = {
  worker: '"worker started"',
  bridge: '"bridge started"',
  api: '"api listening"',
  scheduler: '"scheduler started"',
};
const API_LOG_TAIL = 1 << 16;

/**
 * Starts `tally worker` and `tally bridge` (and `tally api` when named; it needs HTTP_PORT,
 * ADMIN_TOKEN and WEBHOOK_SECRET in `env`) from dist/ and resolves once each has logged
 * that it started. `cpuProfDir`: each writes a V8 .cpuprofile there when it exits;
 * `envFor`: variables for one service only; `logFile`: where each one's output is appended too
 * (the log kept in memory is then a bounded tail); `startTimeoutMs`: 60 s unless told.
 */
export async function spawnServices(
  env: NodeJS.ProcessEnv,
  options: {
    cpuProfDir?: string;
    names?: readonly ServiceName[];
    envFor?: Partial<Record<ServiceName, Record<string, string>>>;
    logFile?: (name: ServiceName) => string;
    startTimeoutMs?: number;
  } = {},
): Promise<ServiceProcess[]> {
  const prof = options.cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', options.cpuProfDir] : [];
  // BENCH_LOG_DIR: every line each service writes, kept in DIR/<name>-<n>.log.
  const logDir = process.env['BENCH_LOG_DIR'];
  let n = 0;
  const logFile = options.logFile ?? (logDir ? (name: ServiceName) => join(logDir, `${name}-${n++}.log`) : undefined);
  const procs = (options.names ?? ['worker', 'bridge']).map((name) => {
    // BENCH_NODE_ARGS_WORKER="--trace-gc" (and _BRIDGE, _API): V8 flags for one service, to look inside it.
    const nodeArgs = (process.env[`BENCH_NODE_ARGS_${name.toUpperCase()}`] ?? '').split(' ').filter(Boolean);
    const child = spawn(process.execPath, [...prof, ...nodeArgs, join(ROOT, 'dist/services/cli/main.js'), name], {
      env: { ...env, ...options.envFor?.[name] },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    running.add(child);
    child.once('exit', () => running.delete(child));
    reapOnSignal();
    let log = '';
    let started = false;
    const keep = (d: Buffer): void => {
      const tail = started ? '' : log.slice(-200); // a line may arrive in two chunks
      log += d.toString();
      started ||= (tail + d.toString()).includes(STARTED[name]);
      if ((name === 'api' || logFile) && log.length > 2 * API_LOG_TAIL) log = log.slice(-API_LOG_TAIL);
    };
    child.stderr!.on('data', keep);
    child.stdout!.on('data', keep);
    if (logFile) {
      const file = createWriteStream(logFile(name), { flags: 'a' });
      child.stderr!.pipe(file);
      child.stdout!.pipe(file);
    }
    return { name, child, log: () => log, started: () => started };
  });
  const deadline = Date.now() + (options.startTimeoutMs ?? 60_000);
  for (const p of procs) {
    while (!p.started()) {
      if (p.child.exitCode !== null || Date.now() > deadline) throw new Error(`${p.name} did not start:\n${p.log().slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return procs.map(({ started: _, ...p }) => p);
}

/** SIGTERM, then wait: a clean exit is what writes the CPU profile and the worker's final counters. Exit codes by name. */
export async function stopServices(procs: readonly ServiceProcess[]): Promise<Record<string, number | null>> {
  const codes = await Promise.all(
    procs.map(async (p) => {
      if (p.child.exitCode === null && p.child.signalCode === null) {
        const exited = once(p.child, 'exit');
        p.child.kill('SIGTERM');
        await exited;
      }
      return [p.name, p.child.exitCode] as const;
    }),
  );
  return Object.fromEntries(codes);
}

/** Resolves once the bridges' consumer has been delivered `lastSeq` and holds nothing pending or un-acked. */
export async function waitDrained(jsm: JetStreamManager, lastSeq: number, timeoutMs = 1_800_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const info = await jsm.consumers.info(USAGE_STREAM, BRIDGE_CONSUMER);
    if (info.num_pending === 0 && info.num_ack_pending === 0 && info.delivered.stream_seq >= lastSeq) return;
    if (Date.now() > deadline) throw new Error(`not drained: pending ${info.num_pending}, un-acked ${info.num_ack_pending}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Peak resident set (VmHWM) of a live process, in MiB. */
export async function peakRssMb(pid: number | undefined): Promise<number | null> {
  if (!pid) return null;
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const kb = /VmHWM:\s+(\d+) kB/.exec(status)?.[1];
  return kb ? Math.round(Number(kb) / 1024) : null;
}

/** CPU time (user + system) a live process has used so far, in seconds. */
export async function cpuSeconds(pid: number | undefined): Promise<number | null> {
  if (!pid) return null;
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  // Fields after the parenthesized command name; utime and stime are the 12th and 13th, in clock ticks (100/s on Linux).
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return f.length > 13 ? Math.round(Number(f[11]) + Number(f[12])) / 100 : null;
}

const pidsOf = (procs: readonly ServiceProcess[], servers: Embedded): [string, number | undefined][] => [
  ...procs.map((p) => [p.name, p.child.pid] as [string, number | undefined]),
  ...Object.entries(servers.pids()),
];

/** Peak RSS (MiB) of each service process and each embedded server; read before anything stops. */
export async function peakRss(procs: readonly ServiceProcess[], servers: Embedded): Promise<Record<string, number | null>> {
  return Object.fromEntries(await Promise.all(pidsOf(procs, servers).map(async ([name, pid]) => [name, await peakRssMb(pid)] as const)));
}

/** CPU seconds used so far by the same processes; two snapshots give a phase's CPU per process. */
export async function cpuSnapshot(procs: readonly ServiceProcess[], servers: Embedded): Promise<Record<string, number | null>> {
  return Object.fromEntries(await Promise.all(pidsOf(procs, servers).map(async ([name, pid]) => [name, await cpuSeconds(pid)] as const)));
}

/**
 * Seconds the main thread of a live process (the event loop of a Node service) has waited
 * on a run queue for a core so far: the second field of /proc/<pid>/schedstat (ns). Over a
 * phase, this divided by the requests served is the time a request waited for the CPU alone.
 */
export async function runQueueWaitSeconds(pid: number | undefined): Promise<number | null> {
  if (!pid) return null;
  const stat = await readFile(`/proc/${pid}/schedstat`, 'utf8').catch(() => '');
  const ns = stat.split(' ')[1];
  return ns === undefined ? null : Number(ns) / 1e9;
}

/** Run-queue wait so far of the same processes' main threads, and of this one (`bench`, the HTTP readers). */
export async function waitSnapshot(procs: readonly ServiceProcess[], servers: Embedded): Promise<Record<string, number | null>> {
  const pids: [string, number | undefined][] = [...pidsOf(procs, servers), ['bench', process.pid]];
  return Object.fromEntries(await Promise.all(pids.map(async ([name, pid]) => [name, await runQueueWaitSeconds(pid)] as const)));
}

export interface BalanceCheck {
  accounts: number;
  /** Accounts whose balance differs from the domain core's, plus accounts missing or extra. */
  wrong: number;
  /** Accounts whose balance is not the fold of their ledger (`tally verify`). */
  ledgerMismatches: number;
  /** Distinct valid records in the input: what must have been charged. */
  unique: number;
}

/** Lines and the instant their expectation is judged at: the `now` they were generated (published) for. */
export interface JudgedLines {
  lines: readonly RecordedLine[];
  now: number;
}

/**
 * Every balance in the store against what the domain core computes from the same lines,
 * each stream judged at its own `now`: a fresh `Date.now()` minutes after the pipeline
 * charged a record near the late-arrival horizon would call it `too_late` (bench.ts keeps its
 * streams clear of the horizon by HORIZON_MARGIN_MS, so publish time and check time agree).
 */
export async function checkBalances(mongoUrl: string, db: string, config: Config, streams: readonly JudgedLines[]): Promise<BalanceCheck> {
  const mongo = await connectMongo(mongoUrl, db);
  try {
    const verify = await verifyLedger(mongo.db);
    const expected = expectedStreams(config, streams);
    const accounts = await listAccounts(mongo.db);
    const wrong = accounts.filter((a) => a.balance_micros !== (expected.balances.get(a._id) ?? 0n)).length + Math.abs(expected.balances.size - accounts.length);
    return { accounts: accounts.length, wrong, ledgerMismatches: verify.mismatches.length, unique: expected.unique };
  } finally {
    await mongo.close();
  }
}

/** `expectedBalances` of several streams, each at its own `now`, summed per account. */
export function expectedStreams(config: Config, streams: readonly JudgedLines[]): { balances: Map<string, bigint>; unique: number } {
  const balances = new Map<string, bigint>();
  let unique = 0;
  for (const s of streams) {
    const e = expectedBalances(config, s.lines, s.now);
    unique += e.unique;
    for (const [id, b] of e.balances) balances.set(id, (balances.get(id) ?? 0n) + b);
  }
  return { balances, unique };
}

/**
 * How far inside the late-arrival horizon the oldest record of a spread stream stays at its
 * `now`: the pipeline judges `too_late` when a bridge consumes the record, minutes after the
 * stream was made, and the expectation at the stream's `now`; both agree while the run's
 * phases take less than this.
 */
export const HORIZON_MARGIN_MS = 3_600_000;
/** An on-time record of the generator occurs up to this long before its arrival (services/cli/load/generate.ts). */
const ARRIVAL_JITTER_MS = 5000;

/**
 * The generator's span for a stream spread over `spreadDays` before its `now` (0: the last
 * hour): late records stay within the days left, and the oldest occurred_at stays
 * HORIZON_MARGIN_MS inside `lateArrivalDays` (a 35-day spread at a 35-day horizon is 35 days
 * less that margin).
 */
export function spreadSpan(spreadDays: number, lateArrivalDays: number): { spanSeconds?: number; days?: number } {
  if (spreadDays <= 0) return {};
  const spanMs = Math.min(spreadDays * DAY_MS, lateArrivalDays * DAY_MS - HORIZON_MARGIN_MS - ARRIVAL_JITTER_MS);
  return { spanSeconds: Math.floor(spanMs / 1000), days: Math.max(0, lateArrivalDays - 1 - spreadDays) };
}

/**
 * Lines in the recorded format, 1000 to a batch, for runReplay (which publishes a batch
 * without pausing, see ReplayOptions.lines). `subject` maps each message's subject.
 */
export async function* recordedBatches(lines: readonly RecordedLine[], subject: (s: string) => string = (s) => s): AsyncGenerator<string[]> {
  for (let i = 0; i < lines.length; i += 1000) yield lines.slice(i, i + 1000).map((l) => formatRecordedLine(subject(l.subject), l.payload));
}
