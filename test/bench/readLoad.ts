/**
 * Read load against the hot path (issue 16 item 7, SPEC 10): does hammering the public and
 * the operator read routes slow the stream? One set of embedded servers, bridge, worker
 * and API as processes of the compiled build; the same kind of stream (`tally generate`,
 * 100k records over 2,000 accounts) timed from its first publish to settled (the bridges'
 * consumer has nothing pending or un-acked), in one run: quiet, loaded, quiet, loaded,
 * quiet (`--rounds 2`). The load is 20 HTTP clients in a process of their own, each
 * looping on `GET /v1/stats` and `GET /v1/accounts/<busiest account>/ledger` (admin
 * token); it is already going when the stream arrives (both routes have answered, then
 * `--warmup-s`) and stops once the stream settles, or after 60 s. Each client sends its
 * next request as soon as the last is answered, or `--pace-ms` after it.
 *
 *   npm run build && npx tsx test/bench/readLoad.ts [--records 100000] [--accounts 2000] [--clients 20] [--rounds 2] [--pace-ms 0]
 *
 * Prints each run's time, the loaded/quiet ratio, request and status counts, CPU seconds
 * per process per run, the machine, and as its LAST line a JSON object.
 */
import { spawn } from 'node:child_process';
import { Agent, request } from 'node:http';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { USAGE_STREAM, connectBus, ensureStreams, streamOptions } from '../../shared/bus/index.js';
import { loadConfig } from '../../shared/config/index.js';
import { freePort } from '../../shared/runtime/index.js';
import { StreamGenerator } from '../../services/cli/load/generate.js';
import { runReplay } from '../../services/cli/load/replay.js';
import type { RecordedLine } from '../support/stream.js';
import {
  ROOT,
  benchEnv,
  checkBalances,
  cpuSeconds,
  cpuSnapshot,
  recordedBatches,
  spawnServices,
  startBenchServers,
  stopServices,
  waitDrained,
} from './harness.js';

const { values } = parseArgs({
  options: {
    records: { type: 'string', default: '100000' },
    accounts: { type: 'string', default: '2000' },
    clients: { type: 'string', default: '20' },
    'max-load-s': { type: 'string', default: '60' },
    'warmup-s': { type: 'string', default: '2' },
    rounds: { type: 'string', default: '2' },
    'pace-ms': { type: 'string', default: '0' },
    'max-run-s': { type: 'string', default: '1800' },
    // Internal: this file run as the load process.
    client: { type: 'boolean', default: false },
    url: { type: 'string' },
    account: { type: 'string' },
  },
});
const ADMIN_TOKEN = 'bench-read-load-admin-token-0123';

/** One GET on a kept-alive connection; resolves with the status once the body is read. */
function get(agent: Agent, url: URL, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ agent, host: url.hostname, port: url.port, path, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * The load process: `clients` loops until SIGTERM or `max-load-s`, then one JSON line of
 * counts. node:http on kept-alive connections, like a curl loop's own cost is C, so the
 * load generator takes as little of the shared cores as it can.
 */
async function clientLoops(url: URL, account: string, clients: number, maxMs: number, paceMs: number): Promise<void> {
  let stop = false;
  process.once('SIGTERM', () => (stop = true));
  const deadline = Date.now() + maxMs;
  const agent = new Agent({ keepAlive: true, maxSockets: clients });
  const started = Date.now();
  const counts = { stats: 0, ledger: 0, errors: 0, statuses: {} as Record<string, number>, seconds: 0 };
  let ready = false;
  const paths = ['/v1/stats', `/v1/accounts/${account}/ledger`] as const;
  const loop = async (i: number): Promise<void> => {
    for (let n = i; !stop && Date.now() < deadline; n++) {
      const path = paths[n % 2]!;
      try {
        const status = await get(agent, url, path);
        counts.statuses[status] = (counts.statuses[status] ?? 0) + 1;
        if (path === '/v1/stats') counts.stats++;
        else counts.ledger++;
        if (!ready && counts.stats > 0 && counts.ledger > 0) {
          ready = true;
          process.stdout.write('"ready"\n');
        }
      } catch {
        counts.errors++;
      }
      if (paceMs > 0) await new Promise((r) => setTimeout(r, paceMs));
    }
  };
  await Promise.all(Array.from({ length: clients }, (_, i) => loop(i)));
  counts.seconds = +((Date.now() - started) / 1000).toFixed(1);
  process.stdout.write(`${JSON.stringify(counts)}\n`);
}

if (values.client) {
  await clientLoops(new URL(values.url!), values.account!, Number(values.clients), Number(values['max-load-s']) * 1000, Number(values['pace-ms']));
  process.exit(0);
}

const RECORDS = Number(values.records);
const ACCOUNTS = Number(values.accounts);
const log = (line: string): void => void process.stderr.write(`read-load: ${line}\n`);

const bench = await startBenchServers();
const { servers } = bench;
const env = benchEnv(servers, 'readload', undefined, { ADMIN_TOKEN });
const config = loadConfig(env);
const bus = await connectBus(servers.natsUrl, 'read-load', servers.natsSecurity);
await ensureStreams(bus.jsm, streamOptions(config));
const procs = await spawnServices(env);

const port = await freePort();
const api = spawn(process.execPath, [join(ROOT, 'dist/services/cli/main.js'), 'api'], {
  env: { ...env, HTTP_PORT: String(port), LOG_LEVEL: 'warn' },
  stdio: ['ignore', 'ignore', 'inherit'],
});
const apiUrl = `http://127.0.0.1:${port}`;
for (
  let i = 0;
  !(await fetch(`${apiUrl}/healthz`).then(
    (r) => r.ok,
    () => false,
  ));
  i++
) {
  if (i > 600 || api.exitCode !== null) throw new Error('tally api did not start');
  await new Promise((r) => setTimeout(r, 100));
}

interface Run {
  name: string;
  seconds: number;
  cpu_s: Record<string, number | null>;
  /** Store reads the API made for its cached views while the stream flowed, by view. */
  view_reads: Record<string, number>;
  load?: { stats: number; ledger: number; errors: number; statuses: Record<string, number>; seconds: number; requests_per_s: number };
}

const ROUNDS = Number(values.rounds);
// quiet, loaded, quiet, ..., quiet: every loaded run between two quiet ones, so a drift of
// the shared machine's speed shows instead of passing for the load's effect.
const plan = Array.from({ length: 2 * ROUNDS + 1 }, (_, i) => (i % 2 === 1 ? 'loaded' : 'quiet'));
const streams = plan.map((_, i) => [...new StreamGenerator({ records: RECORDS, accounts: ACCOUNTS, seed: i + 1, now: Date.now() }).lines()]);
// The account with the most records: the longest ledger, the one an operator would open.
const perAccount = new Map<string, number>();
for (const l of streams[0]!) perAccount.set(l.subject, (perAccount.get(l.subject) ?? 0) + 1);
const busiest = [...perAccount].sort((a, b) => b[1] - a[1])[0]![0].slice('usage.'.length);

/** tally_api_view_read_seconds_count by view, from the API's /metrics. */
async function viewReads(): Promise<Record<string, number>> {
  const text = await (await fetch(`${apiUrl}/metrics`)).text();
  return Object.fromEntries([...text.matchAll(/^tally_api_view_read_seconds_count\{view="(\w+)"\} (\d+)/gm)].map((m) => [m[1]!, Number(m[2])]));
}

async function timedRun(name: string, lines: readonly RecordedLine[], loaded: boolean): Promise<Run> {
  log(`${name}: ${RECORDS} records${loaded ? `, ${values.clients} clients on /v1/stats and /v1/accounts/${busiest}/ledger` : ''}`);
  const clients = loaded
    ? spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          import.meta.filename,
          '--client',
          '--url',
          apiUrl,
          '--account',
          busiest,
          '--clients',
          String(values.clients),
          '--max-load-s',
          String(values['max-load-s']),
          '--pace-ms',
          String(values['pace-ms']),
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      )
    : null;
  let clientOut = '';
  clients?.stdout!.on('data', (d: Buffer) => (clientOut += d.toString()));
  // The load is already going when the stream arrives: both routes have answered (their
  // first reads are done), then --warmup-s more. Routes that do not answer within a minute
  // are part of the result: the stream starts anyway.
  const waitUntil = Date.now() + 60_000;
  while (clients && !clientOut.includes('"ready"') && Date.now() < waitUntil) {
    if (clients.exitCode !== null || clients.signalCode !== null) throw new Error('the load clients exited');
    await new Promise((r) => setTimeout(r, 50));
  }
  const answered = clients === null || clientOut.includes('"ready"');
  if (!answered) log(`${name}: the routes gave no answer within 60 s; starting the stream anyway`);
  if (clients) await new Promise((r) => setTimeout(r, Number(values['warmup-s']) * 1000));
  const readsBefore = await viewReads();
  const cpuBefore = await cpuSnapshot(procs, servers);
  const extraBefore = { api: await cpuSeconds(api.pid), clients: await cpuSeconds(clients?.pid) };
  const started = performance.now();
  const published = await runReplay({ nc: bus.nc, lines: recordedBatches(lines), window: 4000 });
  if (published.errors > 0) throw new Error(`${published.errors} publishes failed (${published.first_error})`);
  await waitDrained(bus.jsm, (await bus.jsm.streams.info(USAGE_STREAM)).state.last_seq, Number(values['max-run-s']) * 1000);
  const seconds = (performance.now() - started) / 1000;
  const cpuAfter = { ...(await cpuSnapshot(procs, servers)), api: await cpuSeconds(api.pid), clients: await cpuSeconds(clients?.pid) };
  const before: Record<string, number | null> = { ...cpuBefore, ...extraBefore };
  const cpu = Object.fromEntries(
    Object.entries(cpuAfter)
      .filter(([, v]) => v !== null)
      .map(([k, v]) => [k, before[k] == null ? null : +(v! - before[k]!).toFixed(1)]),
  );
  const readsAfter = await viewReads();
  const run: Run = {
    name,
    seconds: +seconds.toFixed(2),
    cpu_s: cpu,
    view_reads: Object.fromEntries(Object.entries(readsAfter).map(([k, v]) => [k, v - (readsBefore[k] ?? 0)])),
  };
  if (clients) {
    // Stopped by itself after --max-load-s, or now.
    if (clients.exitCode === null && clients.signalCode === null) {
      const exited = new Promise((r) => clients.once('exit', r));
      clients.kill('SIGTERM');
      await exited;
    }
    const counts = JSON.parse(clientOut.trim().split('\n').pop()!) as Omit<NonNullable<Run['load']>, 'requests_per_s'>;
    run.load = { ...counts, requests_per_s: Math.round((counts.stats + counts.ledger) / counts.seconds) };
  }
  log(
    `${name}: ${run.seconds} s, store reads for the API's views during it ${JSON.stringify(run.view_reads)}${run.load ? `; ${run.load.stats + run.load.ledger} requests ${JSON.stringify(run.load.statuses)}` : ''}`,
  );
  // Let the worker's projection flush of this run finish before the next one starts.
  await new Promise((r) => setTimeout(r, config.projectionFlushMs + 2000));
  return run;
}

const runs: Run[] = [];
let balances;
try {
  for (const [i, kind] of plan.entries()) runs.push(await timedRun(`${kind} ${Math.floor(i / 2) + 1}`, streams[i]!, kind === 'loaded'));
  balances = await checkBalances(servers.mongoUrl, 'readload', config, [{ lines: streams.flat(), now: Date.now() }]);
} finally {
  api.kill('SIGTERM');
  await stopServices(procs);
  await bus.close();
  await bench.stop();
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const quiet = runs.filter((r) => !r.load);
const loaded = runs.filter((r) => r.load);
const ratio = +(mean(loaded.map((r) => r.seconds)) / mean(quiet.map((r) => r.seconds))).toFixed(3);
const machine = `${cpus().length} cores (${cpus()[0]?.model ?? '?'}), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
console.log(
  `${new Date().toISOString()}  ${machine}  load average ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);
console.log(
  `${RECORDS} records over ${ACCOUNTS} accounts per run; ${values.clients} clients on /v1/stats and /v1/accounts/${busiest}/ledger during the loaded runs, ${values['pace-ms']} ms between a client's requests`,
);
for (const r of runs) {
  console.log(
    `${r.name.padEnd(9)} ${String(r.seconds).padStart(7)} s  ${Math.round(RECORDS / r.seconds)} records/s  view reads ${JSON.stringify(r.view_reads)}  cpu ${Object.entries(
      r.cpu_s,
    )
      .map(([k, v]) => `${k} ${v ?? '?'}`)
      .join(', ')}`,
  );
  if (r.load)
    console.log(
      `${''.padEnd(9)} ${r.load.stats} stats + ${r.load.ledger} ledger requests in ${r.load.seconds} s (${r.load.requests_per_s}/s), statuses ${JSON.stringify(r.load.statuses)}, errors ${r.load.errors}`,
    );
}
console.log(
  `mean loaded / mean quiet: ${ratio} (${((ratio - 1) * 100).toFixed(1)}%); balances: ${balances.wrong} wrong, ${balances.ledgerMismatches} ledger mismatches`,
);
console.log(
  JSON.stringify({
    machine,
    records: RECORDS,
    accounts: ACCOUNTS,
    clients: Number(values.clients),
    pace_ms: Number(values['pace-ms']),
    quiet_s: quiet.map((r) => r.seconds),
    loaded_s: loaded.map((r) => r.seconds),
    ratio,
    load: loaded.map((r) => r.load),
    view_reads_during_streams: runs.map((r) => r.view_reads),
    cpu_s: Object.fromEntries(runs.map((r) => [r.name, r.cpu_s])),
    balances_wrong: balances.wrong,
    ledger_mismatches: balances.ledgerMismatches,
  }),
);
process.exitCode = balances.wrong === 0 && balances.ledgerMismatches === 0 ? 0 : 1;
