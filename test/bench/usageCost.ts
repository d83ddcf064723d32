/**
 * What the usage rollups (issue 29) cost the shard owner, in one process, no servers: a
 * generated stream (`tally generate`'s records spread over `--days`) priced and folded by one
 * ShardState in batches, as the worker does; then the rollups' own work on the same batches
 * alone (UsageTally, the entry's text, its parse, foldUsage, RecentUsage), so its share of the
 * core's CPU per record is measured rather than guessed; and the worker heap the rollups
 * hold per active account (heap with the projections' `usage` minus heap without, after GC);
 * and the usage text the owners' read-model writes carry (per-shard jobs, each changed account whole).
 *
 *   npx tsx --expose-gc test/bench/usageCost.ts [--records 1000000] [--accounts 100000] [--days 35] [--batch 500]
 *
 * Prints a JSON object as its LAST line.
 */
import { parseArgs } from 'node:util';
import {
  DAY_MS,
  DEFAULT_LADDER,
  DEFAULT_PRICE_BOOK,
  RecentUsage,
  UsageTally,
  entryUsageOf,
  foldUsage,
  hourFoldBefore,
  packEntryUsage,
  parseRecordedLine,
  validateRecord,
  type UsageRecord,
} from '../../shared/domain/index.js';
import { ShardState } from '../../services/worker/core/shardState.js';
import { shardOf } from '../../shared/queue/index.js';
import { StreamGenerator } from '../../services/cli/load/generate.js';

const { values } = parseArgs({
  options: {
    records: { type: 'string', default: '1000000' },
    accounts: { type: 'string', default: '100000' },
    days: { type: 'string', default: '35' },
    batch: { type: 'string', default: '500' },
  },
});
const RECORDS = Number(values.records);
const ACCOUNTS = Number(values.accounts);
const DAYS = Number(values.days);
const BATCH = Number(values.batch);
const LATE_DAYS = 35;
/**
 * The default SHARDS, and the records of one owner's job as the bridges cut them at the
 * bench's rate: ~7,000 records/s over 16 shards, a shard's batch sent after
 * BRIDGE_LINGER_MS (250) with ~100 records (BRIDGE_BATCH_SIZE, 1000, only at ~64,000/s).
 */
const SHARDS = 16;
const JOB_RECORDS = 100;
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');

const now = Date.now();
const ctx = { now, lateArrivalDays: LATE_DAYS, priceBook: DEFAULT_PRICE_BOOK };
const records: UsageRecord[] = [];
// Arrivals spread over the days before now; a late tenth up to a day earlier still (inside the horizon).
const gen = new StreamGenerator({ records: RECORDS, accounts: ACCOUNTS, seed: 7, now, spanSeconds: (DAYS - 1) * 86_400, days: 1 });
for (const line of gen.lines()) {
  const result = validateRecord(parseRecordedLine(JSON.stringify(line))!, ctx);
  if (result.ok) records.push(result.record);
}
const batches: UsageRecord[][] = [];
for (let i = 0; i < records.length; i += BATCH) batches.push(records.slice(i, i + BATCH));

const heap = (): number => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};

// The core as the worker runs it: plan (prices, dedups, derives the rollups), then apply (folds them).
let { state } = ShardState.fromSnapshot(
  0,
  { seq: 0, checkpoint: 0, accounts: [], tail: [], horizon: [] },
  { ...ctx, ladder: DEFAULT_LADDER, lowBalanceMicros: 1_000_000n },
);
let started = performance.now();
for (const [k, batch] of batches.entries()) state.apply(state.planUsage(batch, `job-${k}`, now).doc);
const coreMs = performance.now() - started;

// The rollups' share of that work, alone on the same batches.
/** A batch's usage per account, as an owner folds it into one log entry. */
function tallyPerAccount(batch: readonly UsageRecord[]): Map<string, UsageTally> {
  const tallies = new Map<string, UsageTally>();
  for (const r of batch) {
    let t = tallies.get(r.accountId);
    if (!t) tallies.set(r.accountId, (t = new UsageTally()));
    t.add(r.occurredAt, r.kind, r.appliesTo, r.quantity, 1000n);
  }
  return tallies;
}

const texts = new Map<string, string>();
const recent = new RecentUsage();
const foldBefore = hourFoldBefore(now, LATE_DAYS);
started = performance.now();
for (const batch of batches) {
  const tallies = tallyPerAccount(batch);
  const entry = { usage: packEntryUsage(Array.from(tallies, ([a, t]) => [a, t.values])) };
  for (const [a, buckets] of entryUsageOf(entry)) {
    texts.set(a, foldUsage(texts.get(a), buckets, foldBefore));
    recent.add(buckets, now);
  }
}
const rollupMs = performance.now() - started;
texts.clear();

// What the rollups add to the read model's writes (decision 010, "what this does not remove"):
// an owner writes every account its job changed, whole, usage text included, once per job;
// jobs are per shard, JOB_RECORDS each. The same folds cut that way:
// the bytes of usage text sent to Redis per record, how much of it the busiest account sends,
// and the time to JSON-encode that text (the part of the owner's write the rollups add).
const jobs: UsageRecord[][] = [];
const open = Array.from({ length: SHARDS }, (): UsageRecord[] => []);
for (const r of records) {
  const job = open[shardOf(r.accountId, SHARDS)]!;
  job.push(r);
  if (job.length === JOB_RECORDS) jobs.push(job.splice(0));
}
for (const job of open) if (job.length > 0) jobs.push(job);
const sent = new Map<string, number>();
let encodeMs = 0;
for (const job of jobs) {
  const tallies = tallyPerAccount(job);
  for (const [a, t] of tallies) texts.set(a, foldUsage(texts.get(a), t.values, foldBefore));
  const t0 = performance.now();
  for (const a of tallies.keys()) sent.set(a, (sent.get(a) ?? 0) + JSON.stringify(texts.get(a)).length);
  encodeMs += performance.now() - t0;
}
const sentBytes = [...sent.values()].reduce((n, b) => n + b, 0);
const topSent = Math.max(...sent.values());
texts.clear();

const docs = [...state.accountDocs()];
const usageBytes = docs.reduce((n, d) => n + (d.usage?.length ?? 0), 0);
const withRollups = heap();
for (const doc of docs) delete doc.usage;
const withoutRollups = heap();
state = null as unknown as ShardState;
const heapPerAccount = Math.round((withRollups - withoutRollups) / docs.length);
const perRecord = (ms: number): number => Math.round((ms * 1000 * 100) / records.length) / 100;

const result = {
  records: records.length,
  accounts: docs.length,
  days: DAYS,
  batch: BATCH,
  core_us_per_record: perRecord(coreMs),
  rollup_us_per_record: perRecord(rollupMs),
  rollup_share_of_core: Math.round((rollupMs / coreMs) * 1000) / 1000,
  rollup_text_bytes_per_account: Math.round(usageBytes / docs.length),
  rollup_heap_bytes_per_account: heapPerAccount,
  worker_heap_bytes_per_account: Math.round(withRollups / docs.length),
  model_usage_bytes_per_record: Math.round(sentBytes / records.length),
  model_usage_top_account_share: Math.round((topSent / sentBytes) * 1000) / 1000,
  model_usage_encode_us_per_record: perRecord(encodeMs),
  span_days: Math.round(((now - records.reduce((m, r) => Math.min(m, r.occurredAt), now)) / DAY_MS) * 10) / 10,
};
console.log(JSON.stringify(result));
