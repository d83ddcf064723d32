/**
 * The side-by-side benchmark (issue 8): raw JetStream ceiling, the naive design, tally end
 * to end, latency at half rate, peak RSS, balance check; one run, one set of servers.
 *
 *   npm run bench -- --records 300000 --accounts 10000 [--profile DIR] [--nats-cli] [--out FILE]
 *
 * Prints a table, then as its LAST line a JSON object {records_per_s, naive_records_per_s,
 * raw_consume_per_s, p50_ms, p99_ms, rss_mb}. `--out` keeps the whole result as JSON.
 * Exits 1 if any balance is wrong. Results and method: docs/benchmarks.md.
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { runBench, type BenchResult } from './bench.js';
import { formatSummary } from './profile.js';

const { values } = parseArgs({
  options: {
    records: { type: 'string', default: '300000' },
    accounts: { type: 'string', default: '10000' },
    seed: { type: 'string', default: '1' },
    shards: { type: 'string' },
    naive: { type: 'string' },
    'latency-records': { type: 'string' },
    'bad-rate': { type: 'string', default: '0' },
    'dup-rate': { type: 'string', default: '0' },
    'nats-cli': { type: 'boolean', default: false },
    profile: { type: 'string' },
    out: { type: 'string' },
  },
});
const num = (v: string | undefined): number | undefined => (v === undefined ? undefined : Number(v));

function table(r: BenchResult): string {
  const rss = Object.entries(r.rss_mb).map(([k, v]) => `${k} ${v ?? '?'}`).join(', ');
  const rows: [string, string, string][] = [
    ['raw ceiling: JetStream pull + JSON.parse + ack', `${r.raw.consume_per_s} rec/s`, `${r.raw.records} records; publish ${r.raw.publish_per_s} rec/s`],
    ...(r.nats_cli ? [['nats bench js (official CLI, 200 B)', `${r.nats_cli.fetch_per_s} msg/s`, `fetch; pub async ${r.nats_cli.pub_per_s} msg/s`] as [string, string, string]] : []),
    ['naive: 1 BullMQ job + 1 updateOne per record', `${r.naive.per_s} rec/s`, `${r.naive.records} records; lost to $inc races: ${r.naive.lost_micros} micros`],
    ['tally end to end (first publish -> last charge)', `${r.tally.records_per_s} rec/s`, `${r.tally.records} records in ${r.tally.seconds} s; publish ${r.tally.publish_per_s} rec/s`],
    ['latency publish -> charged, p50 / p99', `${r.latency.p50_ms} / ${r.latency.p99_ms} ms`, `at ${r.latency.achieved_per_s} rec/s (target ${r.latency.target_per_s}), ${r.latency.samples} samples, max ${r.latency.max_ms} ms`],
    ['CPU seconds during the end-to-end phase', '', Object.entries(r.tally.cpu_s).map(([k, v]) => `${k} ${v ?? '?'}`).join(', ')],
    ['peak RSS (MiB)', '', rss],
    ['balances', r.ok ? 'ok' : 'WRONG', `${r.balances.accounts} accounts, ${r.balances.wrong} wrong, ${r.balances.ledgerMismatches} ledger mismatches; charged ${r.charged} of ${r.expected_charged}; projections settled in ${r.projections_settle_s} s; exit codes ${JSON.stringify(r.exit_codes)}`],
  ];
  const w0 = Math.max(...rows.map((x) => x[0].length));
  const w1 = Math.max(...rows.map((x) => x[1].length));
  return [
    `${r.date}  ${r.machine}  load average ${r.load_avg.join(' ')}  (${r.records} records, ${r.accounts} accounts, ${r.shards} shards)`,
    ...rows.map(([a, b, c]) => `${a.padEnd(w0)}  ${b.padStart(w1)}  ${c}`),
  ].join('\n');
}

const result = await runBench({
  records: Number(values.records),
  accounts: Number(values.accounts),
  seed: Number(values.seed),
  ...(values.shards !== undefined ? { shards: Number(values.shards) } : {}),
  badRate: Number(values['bad-rate']),
  dupRate: Number(values['dup-rate']),
  natsCli: values['nats-cli'],
  ...(values.naive !== undefined ? { naiveRecords: num(values.naive)! } : {}),
  ...(values['latency-records'] !== undefined ? { latencyRecords: num(values['latency-records'])! } : {}),
  ...(values.profile !== undefined ? { profileDir: values.profile } : {}),
  log: (line) => process.stderr.write(`bench: ${line}\n`),
});
if (values.out) await writeFile(values.out, `${JSON.stringify(result, null, 2)}\n`);
console.log(table(result));
for (const [name, summary] of Object.entries(result.profiles)) console.log(`\n${formatSummary(name, summary)}`);
console.log(JSON.stringify({
  records_per_s: result.tally.records_per_s,
  naive_records_per_s: result.naive.per_s,
  raw_consume_per_s: result.raw.consume_per_s,
  p50_ms: result.latency.p50_ms,
  p99_ms: result.latency.p99_ms,
  rss_mb: result.rss_mb,
}));
process.exitCode = result.ok ? 0 : 1;
