/**
 * The cluster run (issue 18): tally on a 3-node NATS JetStream cluster (streams at R3),
 * Redis with failover and FerretDB on a private PostgreSQL, as 2 bridges, 2 workers, 2 APIs
 * and a scheduler, through three faults while the stream flows (test/cluster/clusterRun.ts):
 *
 *   npm run test:cluster -- [--records N] [--accounts A] [--redis sentinel|cluster] [--seed S] [--rate R] [--out FILE]
 *
 * Progress on stderr; the LAST stdout line is one JSON object: {"records", "accounts",
 * "faults", "balances_equal": "N of N", "lost", "double_charged", "verify", "redis",
 * "seconds"}. Exits 1 on any loss, double charge, wrong balance or dead letter, a ledger
 * mismatch, a fault that failed, a service that exited on its own, or one that did not
 * stop cleanly.
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { runCluster } from './clusterRun.js';
import type { RedisKind } from './redis.js';

const { values } = parseArgs({
  options: {
    records: { type: 'string', default: '100000' },
    accounts: { type: 'string', default: '10000' },
    redis: { type: 'string', default: 'sentinel' },
    seed: { type: 'string', default: '1' },
    rate: { type: 'string' },
    fuzz: { type: 'string' },
    out: { type: 'string' },
  },
});
if (values.redis !== 'sentinel' && values.redis !== 'cluster') throw new Error(`--redis is sentinel or cluster, not ${values.redis}`);
const log = (line: string): void => {
  process.stderr.write(`${new Date().toISOString()} cluster: ${line}\n`);
};
const result = await runCluster({
  records: Number(values.records),
  accounts: Number(values.accounts),
  seed: Number(values.seed),
  redis: values.redis as RedisKind,
  ...(values.rate !== undefined ? { rate: Number(values.rate) } : {}),
  ...(values.fuzz !== undefined ? { fuzz: Number(values.fuzz) } : {}),
  log,
});
if (values.out) await writeFile(values.out, `${JSON.stringify(result, null, 2)}\n`);
const d = result.detail;
log(`machine: ${d.machine}; load average ${d.load_avg_start.join(' ')} -> ${d.load_avg_end.join(' ')}`);
log(`engines: ${JSON.stringify(d.engines)}`);
for (const f of d.fault_log) log(`fault ${f.kind} at t+${f.t} s (${f.seconds} s): ${f.detail}`);
log(
  `stream ${d.check.stream_messages} messages: ${d.check.expected_charged} to charge, ${d.check.expected_dead} dead letters, ${d.check.duplicates} repeats; log charged ${d.check.charged}; producer retried ${d.producer.retries} publishes`,
);
log(`api: ${JSON.stringify(d.api)}`);
log(`load phase ${d.load_seconds} s, settled in ${d.settle_seconds} s; exit codes ${JSON.stringify(d.exit_codes)}; crashes ${d.crashes.length}`);
for (const c of d.crashes) log(`crash of ${c.slot} (code ${c.code}, signal ${c.signal}):\n${c.tail}`);
for (const e of d.check.examples) log(`difference: ${e}`);
const { detail: _detail, ok, ...line } = result;
console.log(JSON.stringify(line));
process.exitCode = ok ? 0 : 1;
