/**
 * End-to-end pipeline benchmark on the embedded default (SPEC 11): its own nats-server,
 * redis-server and FerretDB on free ports, one bridge and one worker process (the
 * compiled build), N records over A accounts published as fast as JetStream acks them.
 *
 *   npm run build && npx tsx test/bench/pipeline.ts --records 200000 --accounts 10000 [--shards 16] [--preload]
 *
 * --profile DIR writes a V8 CPU profile of the bridge and the worker there.
 * --preload publishes the whole stream before the services start and times only their
 * drain: the pipeline's own rate, without the publisher competing for the same cores.
 * Any tally variable in the environment (PROJECTION_FLUSH_MS, BRIDGE_LINGER_MS...) reaches
 * the services.
 *
 * Prints records/s from first publish to last charge durable (every NATS message acked,
 * which the bridge does only once the shard log holds it), store documents written per
 * 1000 records, peak RSS per process, and checks every balance against the domain core.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { USAGE_STREAM, connectBus, ensureStreams, streamOptions } from '../../shared/bus/index.js';
import { loadConfig } from '../../shared/config/index.js';
import { publishAll, type RecordedLine } from '../support/stream.js';
import { StreamGenerator } from '../../services/cli/load/generate.js';
import { runReplay } from '../../services/cli/load/replay.js';
import { benchEnv, checkBalances, cpuSnapshot, peakRss, recordedBatches, spawnServices, startBenchServers, stopServices, waitDrained } from './harness.js';

const { values } = parseArgs({
  options: {
    records: { type: 'string', default: '200000' },
    accounts: { type: 'string', default: '10000' },
    shards: { type: 'string', default: '16' },
    preload: { type: 'boolean', default: false },
    generator: { type: 'boolean', default: false },
    replay: { type: 'boolean', default: false },
    profile: { type: 'string' },
  },
});
const N = Number(values.records);
const A = Number(values.accounts);

/** Skewed popularity: a few heavy accounts, a long tail (index ~ A * u^3). */
function stream(now: number): RecordedLine[] {
  let s = 12345;
  const rand = (): number => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const lines: RecordedLine[] = [];
  for (let i = 0; i < N; i++) {
    const account = `acct-${Math.floor(A * rand() ** 3)}`;
    const r = rand();
    const body =
      r < 0.5
        ? { kind: 'llm_token', applies_to: 'llm', quantity: 1 + Math.floor(rand() * 20_000) }
        : r < 0.8
          ? { kind: 'vm_hour', applies_to: 'vm', quantity: Math.floor(rand() * 400) / 100 }
          : { kind: 'hero_os_hour', quantity: Math.floor(rand() * 1_000_000) / 1_000_000 };
    const payload = JSON.stringify({ id: `b-${i}`, account_id: account, ...body, occurred_at: new Date(now - Math.floor(rand() * 86_400_000)).toISOString() });
    lines.push({ subject: `usage.${account}`, payload });
  }
  return lines;
}

const bench = await startBenchServers();
const { servers } = bench;
const env = benchEnv(servers, 'bench', Number(values.shards));
const config = loadConfig(env);
const bus = await connectBus(servers.natsUrl, 'bench', servers.natsSecurity);
await ensureStreams(bus.jsm, streamOptions(config));
const now = Date.now();
// --generator: `tally generate`'s stream (what `npm run bench` replays) instead of the simple one above.
const lines = values.generator ? [...new StreamGenerator({ records: N, accounts: A, seed: 1, now, badRate: 0, dupRate: 0 }).lines()] : stream(now);
const spawnOptions = values.profile ? { cpuProfDir: values.profile } : {};
let procs = values.preload ? [] : await spawnServices(env, spawnOptions);
let started = performance.now();
const cpuPublish = await cpuSnapshot(procs, servers);
if (values.replay) {
  // `tally replay`'s engine, as `npm run bench` publishes.
  const report = await runReplay({ nc: bus.nc, lines: recordedBatches(lines), window: 4000 });
  if (report.errors > 0) throw new Error(`${report.errors} publishes failed`);
} else {
  await publishAll(bus.js, lines, true, 4000);
}
const published = performance.now();
const publishSeconds = (published - started) / 1000;
const cpuPublished = await cpuSnapshot(procs, servers);
// Preloaded: what nats-server receives from the services alone, counted from before they start.
const natsInBefore = values.preload ? await natsInMsgs() : null;
if (values.preload) {
  procs = await spawnServices(env, spawnOptions);
  started = performance.now();
}
const cpuBefore = values.preload ? await cpuSnapshot(procs, servers) : cpuPublish;
await waitDrained(bus.jsm, (await bus.jsm.streams.info(USAGE_STREAM)).state.last_seq);
const done = performance.now();
const cpuAfter = await cpuSnapshot(procs, servers);
const natsIn = natsInBefore === null ? null : (await natsInMsgs()) - natsInBefore;

/**
 * Messages nats-server received from its clients so far (`in_msgs` of its monitor's /varz,
 * the port read from its command line): during a preloaded drain, the bridge's acks, its
 * progress heartbeats and its fetch requests (and the services' own few at start).
 */
async function natsInMsgs(): Promise<number> {
  const args = (await readFile(`/proc/${servers.pids().nats}/cmdline`, 'utf8')).split('\0');
  const varz = (await (await fetch(`http://127.0.0.1:${args[args.indexOf('-m') + 1]}/varz`)).json()) as { in_msgs: number };
  return varz.in_msgs;
}
const cpu = diff(cpuBefore, cpuAfter);

function diff(before: Record<string, number | null>, after: Record<string, number | null>): Record<string, number | null> {
  return Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v === null || before[k] == null ? null : +(v - before[k]!).toFixed(1)]));
}
const rss = await peakRss(procs, servers);
await stopServices(procs);

const worker = procs[0]!
  .log()
  .split('\n')
  .filter((l) => l.includes('"worker stopped"'))
  .map((l) => JSON.parse(l) as { writes: Record<string, number> })
  .pop();
const writes = worker ? Object.values(worker.writes).reduce((a, b) => a + b, 0) : NaN;
const check = await checkBalances(servers.mongoUrl, 'bench', config, [{ lines, now }]);
await bus.close();
await bench.stop();

const seconds = (done - started) / 1000;
const result = {
  machine: `${cpus().length} cores (${cpus()[0]?.model ?? '?'}), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
  records: N,
  accounts: A,
  shards: Number(values.shards),
  preload: values.preload,
  generator: values.generator,
  replay: values.replay,
  publish_s: +publishSeconds.toFixed(2),
  end_to_end_s: +seconds.toFixed(2),
  ...(values.preload ? { publish_cpu_s: diff(cpuPublish, cpuPublished) } : {}),
  records_per_s: Math.round(N / seconds),
  cpu_s: cpu,
  ...(natsIn === null ? {} : { nats_in_msgs_per_record: +(natsIn / N).toFixed(3) }),
  store_writes: worker?.writes,
  docs_per_1000_records: +((writes / N) * 1000).toFixed(1),
  peak_rss_mb: rss,
  balances_wrong: check.wrong,
  ledger_mismatches: check.ledgerMismatches,
};
console.log(JSON.stringify(result, null, 2));
process.exitCode = check.wrong === 0 && check.ledgerMismatches === 0 ? 0 : 1;
