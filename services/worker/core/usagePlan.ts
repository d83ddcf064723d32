import {
  addInt64,
  packDeltas,
  packEntryUsage,
  packRecords,
  priceRecord,
  recordKey,
  type AccountDelta,
  type Ladder,
  type PriceBook,
  type RefusedRecord,
  type ShardLogDoc,
  type UsageRecord,
  UsageTally,
} from '../../../shared/domain/index.js';
import type { RecordHorizon } from './recordHorizon.js';

export interface PricingContext {
  priceBook: PriceBook;
  ladder: Ladder;
  lowBalanceMicros: bigint;
  /** Usage rollups: hours older than this (plus a day) are folded into days (hourFoldBefore). @defaultValue 35 (LATE_ARRIVAL_DAYS) */
  lateArrivalDays: number;
  /**
   * The chaos run's planted defect (failpoint `worker.skip-dedup`): true when a repeat is to
   * be charged again, for the checker to catch. Passed in so that planning stays pure.
   * @defaultValue never
   */
  skipDedup?: () => boolean;
}

/** A usage batch priced against a shard's state: the next log entry and what it means for the job. */
export interface PlannedUsage {
  /** The entry's content; its position (`_id`, `seq`) and header are the caller's. */
  ids: string[];
  sseq: number[];
  accounts: AccountDelta[];
  /** The charged records' usage rollups (ShardLogDoc.usage), by account in the order of `accounts`. */
  usage: string;
  refusedRecords: RefusedRecord[];
  charged: number;
  /** The same (account_id, id) from another message: counted, charged nothing (SPEC 3). */
  duplicates: number;
  /** The same message again (redelivery, a retried or re-added job): neither charged nor counted. */
  redelivered: number;
  /** Positions, in the batch, of the records refused as `amount_out_of_range` (now or before). */
  refused: number[];
}

/** What the plan needs of an account: its balance and first_paid_at (ms) as the owner holds them. */
export type AccountLookup = (accountId: string) => { balance: bigint; firstPaidAt: number | null };

/**
 * Prices a batch (SPEC 4, 5) without changing anything. A record is charged unless its
 * (account_id, id) is inside the horizon or earlier in the batch, and refused when its
 * charge would take the account's balance, or the entry's delta for the account, outside
 * Int64 (SPEC 2: nothing wraps). Pure: the owner applies the entry once the store has it.
 */
export function planUsage(
  records: readonly UsageRecord[],
  streamSeqs: readonly number[],
  horizon: RecordHorizon,
  lookup: AccountLookup,
  ctx: PricingContext,
): PlannedUsage {
  const groups = new Map<string, { delta: AccountDelta; ids: string[]; sseq: number[]; balance: bigint; usage: UsageTally }>();
  const inBatch = new Map<string, number>();
  const plan: PlannedUsage = { ids: [], sseq: [], accounts: [], usage: '', refusedRecords: [], charged: 0, duplicates: 0, redelivered: 0, refused: [] };
  records.forEach((record, i) => {
    const key = recordKey(record.accountId, record.id);
    const s = streamSeqs[i] ?? 0;
    const seen = horizon.get(key) ?? inBatch.get(key);
    // The failpoint plants a double charge (a repeat charged again) for the chaos checker to catch; a no-op unless armed.
    if (seen !== undefined && !(seen !== s && seen !== -s && ctx.skipDedup?.() === true)) {
      if (s !== 0 && seen === -s) plan.refused.push(i);
      else if (s !== 0 && seen === s) plan.redelivered++;
      else plan.duplicates++;
      return;
    }
    const account = lookup(record.accountId);
    const { chargeMicros } = priceRecord(record, account.firstPaidAt, ctx.priceBook, ctx.ladder);
    const group = groups.get(record.accountId);
    const d = addInt64(group?.delta.d ?? 0n, -chargeMicros);
    const balance = d === null ? null : addInt64(group?.balance ?? account.balance, -chargeMicros);
    if (d === null || balance === null) {
      inBatch.set(key, -s);
      plan.refusedRecords.push({ a: record.accountId, id: record.id, s });
      plan.refused.push(i);
      return;
    }
    inBatch.set(key, s);
    plan.charged++;
    const usage = group?.usage ?? new UsageTally();
    usage.add(record.occurredAt, record.kind, record.appliesTo, record.quantity, chargeMicros);
    if (group) {
      group.delta.d = d;
      group.delta.n++;
      if (record.occurredAt > group.delta.t) group.delta.t = record.occurredAt;
      group.ids.push(record.id);
      group.sseq.push(s);
      group.balance = balance;
    } else {
      groups.set(record.accountId, { delta: { a: record.accountId, d, n: 1, t: record.occurredAt }, ids: [record.id], sseq: [s], balance, usage });
    }
  });
  // Grouped as `accounts` is: the layout ShardLogDoc.rids documents.
  for (const g of groups.values()) {
    plan.accounts.push(g.delta);
    plan.ids.push(...g.ids);
    plan.sseq.push(...g.sseq);
  }
  plan.usage = packEntryUsage(Array.from(groups.values(), (g) => [g.delta.a, g.usage.values]));
  return plan;
}

/** The plan as a log entry at the given position. */
export function usageEntry(plan: PlannedUsage, header: Pick<ShardLogDoc, '_id' | 'shard' | 'seq' | 'at' | 'job'>): ShardLogDoc {
  const doc: ShardLogDoc = {
    ...header,
    ...packRecords(plan.ids, plan.sseq),
    duplicates: plan.duplicates,
    deltas: packDeltas(plan.accounts),
    usage: plan.usage,
    folds: [],
  };
  if (plan.refusedRecords.length > 0) doc.refused = plan.refusedRecords;
  return doc;
}
