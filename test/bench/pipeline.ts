/**
 * End-to-end pipeline benchmark on the embedded default (SPEC 11): its own nats-server,
 * redis-server and FerretDB on free ports, one bridge and one worker process (the
 * compiled build), N records over A accounts published as fast as JetStream acks them.
 *
 *   npm run build && npx tsx test/bench/pipeline.ts --records 200000 --accounts 10000
 *
 * Prints records/s from first publish to last charge durable (every NATS message acked,
 * which the bridge does only once the shard log holds it), store documents written per
 * 1000 records, peak RSS per process, and checks every balance against the domain core.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { BRIDGE_CONSUMER, USAGE_STREAM, connectBus, ensureStreams } from '../../shared/bus/index.js';
import { loadConfig } from '../../shared/config/index.js';
import { connectMongo, verifyLedger } from '../../shared/store/index.js';
import { startEmbedded } from '../../shared/runtime/index.js';
import { publishAll, expectedBalances, type RecordedLine } from '../support/stream.js';

const ROOT = join(import.meta.dirname, '..', '..');
const { values } = parseArgs({ options: { records: { type: 'string', default: '200000' }, accounts: { type: 'string', default: '10000' }, shards: { type: 'string', default: '32' } } });
const N = Number(values.records);
const A = Number(values.accounts);

/** Skewed popularity: a few heavy accounts, a long tail (index ~ A * u^3). */
function stream(now: number): RecordedLine[] {
  let s = 12345;
  const rand = (): number => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const lines: RecordedLine[] = [];
  for (let i = 0; i < N; i++) {
    const account = `acct-${Math.floor(A * rand() ** 3)}`;
    const r = rand();
    const body = r < 0.5
      ? { kind: 'llm_token', applies_to: 'llm', quantity: 1 + Math.floor(rand() * 20_000) }
      : r < 0.8 ? { kind: 'vm_hour', applies_to: 'vm', quantity: Math.floor(rand() * 400) / 100 } : { kind: 'hero_os_hour', quantity: Math.floor(rand() * 1_000_000) / 1_000_000 };
    const payload = JSON.stringify({ id: `b-${i}`, account_id: account, ...body, occurred_at: new Date(now - Math.floor(rand() * 86_400_000)).toISOString() });
    lines.push({ subject: `usage.${account}`, payload });
  }
  return lines;
}

async function peakRssMb(pid: number | undefined): Promise<number | null> {
  if (!pid) return null;
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const kb = /VmHWM:\s+(\d+) kB/.exec(status)?.[1];
  return kb ? Math.round(Number(kb) / 1024) : null;
}

const dataDir = await mkdtemp(join(tmpdir(), 'tally-bench-'));
const logger = pino({ level: 'warn' });
const servers = await startEmbedded({ dataDir, logger });
const env = { ...process.env, NATS_URL: servers.natsUrl, REDIS_URL: servers.redisUrl, MONGO_URL: servers.mongoUrl, MONGO_DB: 'bench', SHARDS: values.shards, LOG_LEVEL: 'info' };
const config = loadConfig(env);
const bus = await connectBus(servers.natsUrl, 'bench');
await ensureStreams(bus.jsm);
const procs = ['worker', 'bridge'].map((name) => {
  const child = spawn(process.execPath, [join(ROOT, 'dist/services/cli/main.js'), name], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stderr.on('data', (d: Buffer) => (log += d.toString()));
  return { name, child, log: () => log };
});
await new Promise((r) => setTimeout(r, 3000));

const now = Date.now();
const lines = stream(now);
const started = performance.now();
await publishAll(bus.js, lines, true, 4000);
const published = performance.now();
for (;;) {
  const info = await bus.jsm.consumers.info(USAGE_STREAM, BRIDGE_CONSUMER);
  if (info.num_pending === 0 && info.num_ack_pending === 0 && info.delivered.stream_seq >= N) break;
  await new Promise((r) => setTimeout(r, 20));
}
const done = performance.now();
const rss = Object.fromEntries(await Promise.all([
  ...procs.map(async (p) => [p.name, await peakRssMb(p.child.pid)] as const),
  ...Object.entries(servers.pids()).map(async ([name, pid]) => [name, await peakRssMb(pid)] as const),
]));
for (const p of procs) p.child.kill('SIGTERM');
await Promise.all(procs.map((p) => new Promise((r) => p.child.once('exit', r))));

const worker = procs[0]!.log().split('\n').filter((l) => l.includes('"worker stopped"')).map((l) => JSON.parse(l) as { writes: Record<string, number> }).pop();
const writes = worker ? Object.values(worker.writes).reduce((a, b) => a + b, 0) : NaN;
const mongo = await connectMongo(servers.mongoUrl, 'bench');
const verify = await verifyLedger(mongo.db);
const expected = expectedBalances(config, lines, now);
const accounts = await mongo.db.collection('accounts').find({}, { projection: { balance_micros: 1 } }).toArray();
const wrong = accounts.filter((a) => a['balance_micros'] !== (expected.balances.get(String(a._id)) ?? 0n)).length + Math.abs(expected.balances.size - accounts.length);
await mongo.close();
await bus.close();
await servers.stop();
await rm(dataDir, { recursive: true, force: true });

const seconds = (done - started) / 1000;
const result = {
  machine: `${cpus().length} cores (${cpus()[0]?.model ?? '?'}), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
  records: N, accounts: A, shards: Number(values.shards),
  publish_s: +((published - started) / 1000).toFixed(2), end_to_end_s: +seconds.toFixed(2),
  records_per_s: Math.round(N / seconds),
  store_writes: worker?.writes, docs_per_1000_records: +((writes / N) * 1000).toFixed(1),
  peak_rss_mb: rss, balances_wrong: wrong, ledger_mismatches: verify.mismatches.length,
};
console.log(JSON.stringify(result, null, 2));
process.exitCode = wrong === 0 && verify.mismatches.length === 0 ? 0 : 1;
