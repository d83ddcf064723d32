import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DAY_MS,
  DEFAULT_LADDER,
  DEFAULT_PRICE_BOOK,
  deltasOf,
  entryUsageOf,
  horizonKeys,
  parseRecordedLine,
  parseUsageQuery,
  Quoter,
  unpackUsage,
  usageRows,
  validateRecord,
  type AccountDoc,
  type ShardLogDoc,
  type UsageRecord,
} from '../../../../shared/domain/index.js';
import { shardOf } from '../../../../shared/queue/index.js';
import { ShardState, type PricingContext } from '../../../../services/worker/core/shardState.js';
import { arbStreamLine } from '../../domain/arbitraries.js';
import { CTX, DAY, NOW } from '../../domain/helpers.js';

/**
 * Issue 29: the usage rollups are the charges, by construction. Over random streams (ids
 * that recur, late records, any batching, shard moves = a new owner rebuilt from a
 * projection checkpoint and the log tail, hours folded into days as the owner's clock moves
 * on) every account's rows sum to the usage charges of its ledger (balance minus payments),
 * and per (account, day, kind) equal what `tally quote` computes for the same stream.
 */
const ctx: PricingContext = { priceBook: DEFAULT_PRICE_BOOK, ladder: DEFAULT_LADDER, lowBalanceMicros: 1_000_000n, lateArrivalDays: 35 };
const ACCOUNTS = ['a', 'b', 'c', 'd', 'e'] as const;
const PAID = 5_000_000_000n;

const arbLine = arbStreamLine(ACCOUNTS, ['r1', 'r2', 'r3', 'r4', 'r5', 'r6']);

function recordOf(text: string): UsageRecord {
  const result = validateRecord(parseRecordedLine(text)!, CTX);
  if (!result.ok) throw new Error(`generated an invalid line: ${result.code}`);
  return result.record;
}

const empty = { seq: 0, checkpoint: 0, accounts: [], tail: [], horizon: [] };

interface Run {
  docs: AccountDoc[];
  log: ShardLogDoc[];
  /** The shard's recent hours (RecentUsage.pack) as the last owner holds them, lines sorted. */
  recent: string[];
}

/**
 * One shard's owner(s): a payment per account, then the records in batches cut by `cuts`;
 * an entry applied at `NOW + k * stepMs` (the owner's clock); after batch k in `moves` the
 * owner is replaced by one rebuilt from the projections as of an earlier checkpoint and the tail.
 */
function runShard(shard: number, records: UsageRecord[], cuts: number[], moves: Set<number>, stepMs: number, accounts: string[]): Run {
  let { state } = ShardState.fromSnapshot(shard, empty, ctx);
  const log: ShardLogDoc[] = [];
  let checkpoint = { seq: 0, accounts: [] as AccountDoc[] };
  const pay = state.planFolds(
    accounts.map((a) => ({ id: `payment:${a}`, a, d: PAID, paid: NOW - 40 * DAY })),
    'pay',
    NOW - 40 * DAY,
  );
  state.apply(pay);
  log.push(pay);
  for (let i = 0, k = 0; i < records.length; k++) {
    const size = cuts[k % cuts.length]!;
    const { doc } = state.planUsage(records.slice(i, i + size), `job-${k}`, NOW + k * stepMs);
    state.apply(doc);
    log.push(doc);
    i += size;
    if (k % 3 === 0) checkpoint = { seq: state.seq, accounts: structuredClone([...state.accountDocs()]) };
    if (moves.has(k)) {
      const tail = structuredClone(log.filter((e) => e.seq > checkpoint.seq));
      const horizon = log.filter((e) => e.seq <= checkpoint.seq).map((e) => ({ at: e.at.getTime(), keys: horizonKeys(e) }));
      const snap = { seq: state.seq, checkpoint: checkpoint.seq, accounts: structuredClone(checkpoint.accounts), tail, horizon };
      state = ShardState.fromSnapshot(shard, snap, ctx).state;
    }
  }
  return { docs: [...state.accountDocs()], log, recent: sortedLines(state.position.recent) };
}

const sortedLines = (text: string | undefined): string[] => (text ? text.split('\n').sort() : []);
const sum = (xs: Iterable<bigint>): bigint => [...xs].reduce((a, b) => a + b, 0n);

describe('usage rollups (issue 29)', () => {
  it('sum to the ledger usage and equal tally quote per (account, day, kind), whatever the batching, shard moves, duplicates and late records (property)', () => {
    fc.assert(
      fc.property(
        fc.array(arbLine, { maxLength: 150 }),
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 8 }),
        fc.uniqueArray(fc.integer({ min: 0, max: 30 }), { maxLength: 4 }),
        fc.constantFrom(0, 60_000, DAY_MS),
        (lines, shards, cuts, moveAt, stepMs) => {
          const firstPaidAt = new Map(ACCOUNTS.map((a) => [a, NOW - 40 * DAY] as const));
          const quoter = new Quoter({ priceBook: DEFAULT_PRICE_BOOK, ladder: DEFAULT_LADDER, lateArrivalDays: 35, firstPaidAt });
          const quoted = new Map<string, { records: number; quantity: bigint; charged: bigint }>();
          for (const text of lines) {
            const answer = quoter.quoteLine(text, NOW);
            if (!('charge_micros' in answer)) continue;
            const r = recordOf(text);
            const key = `${r.accountId} ${r.occurredAt - (r.occurredAt % DAY_MS)} ${r.kind}`;
            const q = quoted.get(key) ?? { records: 0, quantity: 0n, charged: 0n };
            quoted.set(key, { records: q.records + 1, quantity: q.quantity + r.quantity, charged: q.charged + BigInt(answer.charge_micros) });
          }

          const byShard = new Map<number, UsageRecord[]>();
          for (const text of lines) {
            const record = recordOf(text);
            const shard = shardOf(record.accountId, shards);
            byShard.set(shard, [...(byShard.get(shard) ?? []), record]);
          }
          const rolled = new Map<string, { records: number; quantity: bigint; charged: bigint }>();
          const query = parseUsageQuery({ from: '2024-06-01T00:00:00Z', to: '2025-06-01T00:00:00Z', group_by: 'kind' }, NOW, 35);
          for (const [shard, records] of byShard) {
            const accounts = ACCOUNTS.filter((a) => shardOf(a, shards) === shard);
            const { docs, log, recent } = runShard(shard, records, cuts, new Set(moveAt), stepMs, accounts);
            // A new owner rebuilt from the whole log holds the same rollups (and recent hours) as the owner(s) that ran.
            const rebuilt = ShardState.fromSnapshot(shard, { ...empty, seq: log.at(-1)!.seq, tail: structuredClone(log) }, ctx).state;
            for (const doc of docs) expect(rebuilt.getAccount(doc._id)?.usage).toBe(doc.usage);
            expect(sortedLines(rebuilt.position.recent)).toEqual(recent);
            for (const doc of docs) {
              const buckets = unpackUsage(doc.usage);
              const rows = usageRows(buckets, query);
              // The ledger: balance = payments - usage.
              expect(sum(rows.map((r) => r.charged))).toBe(PAID - doc.balance_micros);
              expect(sum(rows.map((r) => r.charged))).toBe(
                -sum(
                  log.flatMap((e) =>
                    deltasOf(e)
                      .filter((d) => d.a === doc._id)
                      .map((d) => d.d),
                  ),
                ),
              );
              for (const row of rows)
                rolled.set(`${doc._id} ${row.start} ${row.group}`, { records: row.records, quantity: row.quantity, charged: row.charged });
            }
          }
          expect(rolled).toEqual(quoted);
        },
      ),
      { numRuns: 300 },
    );
  }, 60_000);

  it('a usage entry carries buckets whose charges sum to its deltas, account by account', () => {
    fc.assert(
      fc.property(fc.array(arbLine, { maxLength: 60 }), (lines) => {
        const { state } = ShardState.fromSnapshot(0, empty, ctx);
        const { doc } = state.planUsage(lines.map(recordOf), 'job', NOW);
        const usage = entryUsageOf(doc);
        for (const delta of deltasOf(doc)) {
          const buckets = usage.get(delta.a) ?? [];
          expect(sum(buckets.map((b) => b.charged))).toBe(-delta.d);
          expect(buckets.reduce((n, b) => n + b.records, 0)).toBe(delta.n);
        }
        expect([...usage.keys()].sort()).toEqual(
          deltasOf(doc)
            .map((d) => d.a)
            .sort(),
        );
      }),
      { numRuns: 300 },
    );
  });
});
