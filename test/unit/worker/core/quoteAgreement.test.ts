import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_LADDER,
  DEFAULT_PRICE_BOOK,
  deltasOf,
  forEachRecord,
  parseRecordedLine,
  Quoter,
  recordKey,
  validateRecord,
  type UsageRecord,
} from '../../../../shared/domain/index.js';
import { shardOf } from '../../../../shared/queue/index.js';
import { ShardState } from '../../../../services/worker/core/shardState.js';
import { arbStreamLine } from '../../domain/arbitraries.js';
import { CTX, DAY, NOW } from '../../domain/helpers.js';

const ACCOUNTS = ['a', 'b', 'c', 'd', 'e'] as const;

/** Valid records over a few accounts whose ids come from a pool so small that ids recur on many accounts (ledger-like ids among them). */
const arbLine = arbStreamLine(ACCOUNTS, ['r1', 'r2', 'r3', 'payment:a', 'plan:b:1']);

const arbFirstPaid = fc.dictionary(fc.constantFrom(...ACCOUNTS), fc.integer({ min: NOW - 60 * DAY, max: NOW - DAY }));

/** What the bridge does to a line: the validated record (every generated line is valid). */
function recordOf(text: string): UsageRecord {
  const result = validateRecord(parseRecordedLine(text)!, CTX);
  if (!result.ok) throw new Error(`generated an invalid line: ${result.code}`);
  return result.record;
}

describe('tally quote and the pipeline agree (issue 16)', () => {
  it('charge the same (account, id) pairs the same amounts, whatever the shards and batches (property)', () => {
    fc.assert(
      fc.property(
        fc.array(arbLine, { maxLength: 120 }),
        fc.integer({ min: 1, max: 6 }),
        fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 10 }),
        arbFirstPaid,
        (lines, shards, cuts, paid) => {
          const firstPaidAt = new Map(Object.entries(paid));
          const quoter = new Quoter({ priceBook: DEFAULT_PRICE_BOOK, ladder: DEFAULT_LADDER, lateArrivalDays: CTX.lateArrivalDays, firstPaidAt });
          const quoted: string[] = [];
          const quoteTotals = new Map<string, bigint>();
          for (const text of lines) {
            const answer = quoter.quoteLine(text, NOW);
            if (!('charge_micros' in answer)) continue;
            quoted.push(recordKey(answer.account_id, answer.id));
            quoteTotals.set(answer.account_id, (quoteTotals.get(answer.account_id) ?? 0n) + BigInt(answer.charge_micros));
          }

          // The pipeline: records grouped by shard in stream order, each shard's run cut into batches.
          const byShard = new Map<number, UsageRecord[]>();
          for (const text of lines) {
            const record = recordOf(text);
            const shard = shardOf(record.accountId, shards);
            byShard.set(shard, [...(byShard.get(shard) ?? []), record]);
          }
          const charged: string[] = [];
          const pipelineTotals = new Map<string, bigint>();
          for (const [shard, records] of byShard) {
            const { state } = ShardState.fromSnapshot(
              shard,
              { seq: 0, checkpoint: 0, accounts: [], tail: [], horizon: [] },
              { priceBook: DEFAULT_PRICE_BOOK, ladder: DEFAULT_LADDER, lowBalanceMicros: 1_000_000n, lateArrivalDays: 35 },
            );
            // Ledger ids chosen to collide with record ids: they must not change what is charged.
            const payments = [...firstPaidAt].filter(([account]) => shardOf(account, shards) === shard);
            state.apply(
              state.planFolds(
                payments.map(([account, at]) => ({ id: `payment:${account}`, a: account, d: 1n, paid: at })),
                'pay',
                NOW,
              ),
            );
            for (let i = 0, k = 0; i < records.length; k++) {
              const size = cuts[k % cuts.length]!;
              const { doc } = state.planUsage(records.slice(i, i + size), `job-${k}`, NOW);
              state.apply(doc);
              forEachRecord(doc, (account, id) => charged.push(recordKey(account, id)));
              for (const delta of deltasOf(doc)) pipelineTotals.set(delta.a, (pipelineTotals.get(delta.a) ?? 0n) - delta.d);
              i += size;
            }
          }

          expect([...charged].sort()).toEqual([...quoted].sort());
          expect(new Set(charged).size).toBe(charged.length);
          expect(pipelineTotals).toEqual(quoteTotals);
        },
      ),
      { numRuns: 300 },
    );
  });
});
