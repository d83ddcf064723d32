/**
 * The chaos proof of exactly once (issue 17):
 *
 *   npm run chaos -- --records N [--accounts A] [--seed S] [--minutes M] [--faults F] [--fuzz K]
 *
 * Starts its own servers and the product as separate processes, loads it for M minutes
 * while faults strike at seeded random moments, waits until everything has settled, checks
 * every record, dead letter and balance independently (test/chaos/checker.ts), and stops
 * every process. Progress on stderr; the LAST stdout line is one JSON object:
 * {"records", "accounts", "faults", "faults_by_kind", "lost", "double_charged",
 * "balances_wrong", "ledger_mismatch", "dead_letters_wrong", "seconds"}. Exits 1 on any
 * loss, double charge or mismatch, a crash, or a process that did not stop cleanly.
 * `--failpoints worker.skip-dedup=1` arms a failpoint in the workers (the planted double
 * charge the checker must catch); `--out FILE` keeps the whole result.
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { runChaos } from './chaos.js';

const { values } = parseArgs({
  options: {
    records: { type: 'string', default: '100000' },
    accounts: { type: 'string', default: '10000' },
    seed: { type: 'string', default: '1' },
    minutes: { type: 'string' },
    faults: { type: 'string' },
    fuzz: { type: 'string', default: '10000' },
    failpoints: { type: 'string' },
    out: { type: 'string' },
  },
});
const records = Number(values.records);
// Default load phase: 1,500 records a second, at least a minute.
const minutes = values.minutes !== undefined ? Number(values.minutes) : Math.max(1, Math.ceil(records / 1500 / 60));
const log = (line: string): void => {
  process.stderr.write(`${new Date().toISOString()} chaos: ${line}\n`);
};
const result = await runChaos({
  records,
  accounts: Number(values.accounts),
  seed: Number(values.seed),
  minutes,
  fuzz: Number(values.fuzz),
  ...(values.faults !== undefined ? { faults: Number(values.faults) } : {}),
  ...(values.failpoints !== undefined ? { workerEnv: { TALLY_FAILPOINTS: values.failpoints } } : {}),
  log,
});
if (values.out) await writeFile(values.out, `${JSON.stringify(result, null, 2)}\n`);
const d = result.detail;
log(`faults: ${d.fault_log.map((f) => `${f.at} ${f.kind} (${f.detail})`).join('; ')}`);
log(
  `stream ${d.check.stream_messages} messages: ${d.check.expected_charged} to charge, ${d.check.expected_dead} dead letters (${d.fuzz} fuzz inputs), ${d.check.duplicates} repeats; log charged ${d.check.charged}`,
);
log(`api: ${JSON.stringify(d.api)}; ${d.credits} payments credited, ${d.purchases} plans bought`);
log(
  `exit codes ${JSON.stringify(d.exit_codes)}; crashes ${d.crashes.length}; settled in ${d.settle_seconds} s; ${d.ticks} ladder ticks, ${d.tier_transitions} tier transitions; load average ${d.load_avg_start.join(' ')} -> ${d.load_avg_end.join(' ')}`,
);
for (const c of d.crashes) log(`crash of ${c.slot} (code ${c.code}, signal ${c.signal}):\n${c.tail}`);
for (const e of d.check.examples) log(`difference: ${e}`);
const { detail: _detail, ok, ...line } = result;
console.log(JSON.stringify(line));
process.exitCode = ok ? 0 : 1;
