/**
 * The billing phase of `npm run bench` alone (test/bench/billing.ts): its own servers, the
 * worker, bridge and API of the compiled build, the ledger seeded to `--ledger-entries`,
 * then signed payment webhooks, plan purchases and VMs from `--clients` senders. Prints
 * each step's rate and p50/p99, the CPU seconds each process spent in them and the shard-log
 * entries written (one per fold job unless grouped), so
 * two builds can be compared pair by pair (issue 30).
 *
 *   npm run build && npx tsx test/bench/webhooks.ts [--ledger-entries 100000] [--webhooks 4000] [--clients 8] [--profile DIR]
 */
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { connectBus, ensureStreams, streamOptions } from '../../shared/bus/index.js';
import { loadConfig } from '../../shared/config/index.js';
import { redisConnection } from '../../shared/queue/index.js';
import { freePort } from '../../shared/runtime/index.js';
import { connectMongo } from '../../shared/store/index.js';
import { COLLECTIONS } from '../../shared/store/internal.js';
import { billingLoad } from './billing.js';
import { accountReader, waitSettled } from './endToEnd.js';
import { benchEnv, cpuSnapshot, spawnServices, startBenchServers, stopServices } from './harness.js';

const { values } = parseArgs({
  options: {
    'ledger-entries': { type: 'string', default: '100000' },
    webhooks: { type: 'string', default: '4000' },
    accounts: { type: 'string', default: '100000' },
    clients: { type: 'string', default: '8' },
    purchases: { type: 'string', default: '500' },
    profile: { type: 'string' },
  },
});

const bench = await startBenchServers();
const { servers } = bench;
const secrets = { ADMIN_TOKEN: `bench-admin-${randomBytes(12).toString('hex')}`, WEBHOOK_SECRET: `bench-webhook-${randomBytes(12).toString('hex')}` };
const port = await freePort();
const env = benchEnv(servers, 'bench', undefined, { ...secrets, HTTP_PORT: String(port), RATE_LIMIT_IP_PER_MINUTE: '1000000' });
const config = loadConfig(env);
const bus = await connectBus(servers.natsUrl, 'bench', servers.natsSecurity);
const redis = redisConnection(servers.redisUrl);
const mongo = await connectMongo(servers.mongoUrl, 'bench');
await ensureStreams(bus.jsm, streamOptions(config));
const procs = await spawnServices(env, { names: ['worker', 'bridge', 'api'], ...(values.profile ? { cpuProfDir: values.profile } : {}) });
let exitCodes: Record<string, number | null> = {};
try {
  await waitSettled(bus, accountReader(redis, mongo.db, config), 120_000);
  const load = loadavg().map((x) => Math.round(x * 100) / 100);
  const log = mongo.db.collection(COLLECTIONS.shardLog);
  const entriesBefore = await log.countDocuments();
  // CPU seconds per process over the webhooks alone and over all three steps, the seeding left out.
  const marks: Partial<Record<'seeded' | 'webhooks' | 'vms', Record<string, number | null>>> = {};
  const billing = await billingLoad({
    mark: async (point) => {
      // `bench`: this process, the senders (not counted per request: no deployment runs them).
      const { user, system } = process.cpuUsage();
      if (point !== 'purchases') marks[point] = { ...(await cpuSnapshot(procs, servers)), bench: (user + system) / 1e6 };
    },
    db: mongo.db,
    shards: config.shards,
    api: { url: `http://127.0.0.1:${port}`, adminToken: secrets.ADMIN_TOKEN, webhookSecret: secrets.WEBHOOK_SECRET },
    accounts: Number(values.accounts),
    clients: Number(values.clients),
    ledgerEntries: Number(values['ledger-entries']),
    webhooks: Number(values.webhooks),
    seconds: 60,
    purchases: Number(values.purchases),
  });
  const spent = (from: Record<string, number | null> = {}, to: Record<string, number | null> = {}) =>
    Object.fromEntries(Object.entries(to).map(([k, v]) => [k, v === null || from[k] == null ? null : Math.round((v - from[k]!) * 10) / 10]));
  const perRequest = (cpu: Record<string, number | null>, requests: number) =>
    requests === 0 ? null : Math.round((Object.entries(cpu).reduce<number>((sum, [k, v]) => sum + (k === 'bench' ? 0 : (v ?? 0)), 0) * 1e6) / requests) / 1000;
  const webhookCpu = spent(marks.seeded, marks.webhooks);
  const cpu = spent(marks.seeded, marks.vms);
  // Shard-log entries the three steps wrote: one per fold job, fewer when folds were grouped.
  const logEntries = (await log.countDocuments()) - entriesBefore;
  const requests = billing.webhooks.requests + billing.purchases.requests + billing.vms.requests;
  console.log(
    JSON.stringify({
      load,
      ...billing,
      cpu_s: cpu,
      cpu_ms_per_request: perRequest(cpu, requests),
      webhooks_cpu_s: webhookCpu,
      webhook_cpu_ms: perRequest(webhookCpu, billing.webhooks.requests),
      log_entries: logEntries,
    }),
  );
} finally {
  exitCodes = await stopServices(procs);
  redis.disconnect();
  await mongo.close();
  await bus.close();
  await bench.stop();
}
if (Object.values(exitCodes).some((c) => c !== 0)) {
  console.error('exit codes', exitCodes);
  process.exitCode = 1;
}
