import {
  addInt64,
  deltasOf,
  encodeAccounts,
  entryUsageOf,
  foldUsage,
  horizonKeys,
  hourFoldBefore,
  newAccount,
  RecentUsage,
  shardLogId,
} from '../../../shared/domain/index.js';
import type {
  AccountDoc,
  BillingEventType,
  EventDoc,
  FoldedEntry,
  LogTotals,
  ModelPosition,
  ShardLogDoc,
  ShardSnapshot,
  UsageRecord,
} from '../../../shared/domain/index.js';
import { applyAccountFields } from './accountFolds.js';
import { RecordHorizon } from './recordHorizon.js';
import { planUsage, usageEntry, type PricingContext } from './usagePlan.js';

export type { PricingContext } from './usagePlan.js';

/** What the owner keeps per account: its projection. */
interface AccountState {
  doc: AccountDoc;
}

/** What a flush writes: every projection of the shard as of `seq`, encoded (a projection snapshot). */
export interface ProjectionWrite {
  seq: number;
  chunks: Uint8Array[];
  count: number;
}

export interface PlannedBatch {
  doc: ShardLogDoc;
  charged: number;
  duplicates: number;
  /** Positions of the batch's records refused as `amount_out_of_range` (now or before). */
  refused?: number[];
}

/**
 * The state of one shard as its owner sees it: balances, crossing flags, the records
 * charged inside the dedup horizon and the ledger entries folded. Records and ledger
 * entries are two namespaces (SPEC 3): a record is known by (account_id, id), a ledger
 * entry by its own key, and no record id can pass for a payment or a purchase, nor the
 * reverse. It does no I/O (the clock values come in as arguments); the owner's I/O (log
 * append, projection snapshots, takeover reads) goes through the ports of `ports.ts`,
 * implemented over the store by `mongoShardStore.ts` and `takeover.ts`.
 */
export class ShardState {
  private readonly accounts = new Map<string, AccountState>();
  /** Whether a projection changed since the last snapshot taken (`takeProjections`). */
  private unwritten = false;
  /**
   * Ledger entries (payments, purchases, KYC, allocations, tick changes) ever folded. Kept
   * beyond the dedup horizon: a webhook retried days later must still fold nothing.
   */
  private readonly folded = new Set<string>();
  /** Records charged and duplicates counted over the shard's whole log (stats, via the read model). */
  private counted: LogTotals = { charged: 0, duplicates: 0 };
  /** Accounts changed since the owner last wrote them to the read model. */
  private readonly unread = new Set<string>();
  /** Folded entries refused as `amount_out_of_range`: a retry is answered so again. */
  private readonly refusedFolds = new Set<string>();
  /** The shard's charges per recent hour and kind, for the operator's chart (via the read model). */
  private recent = new RecentUsage();

  private constructor(
    readonly shard: number,
    private seqValue: number,
    /** The records charged or refused inside the dedup horizon. */
    private readonly records: RecordHorizon,
    private readonly ctx: PricingContext,
  ) {}

  get seq(): number {
    return this.seqValue;
  }

  get idCount(): number {
    return this.records.size;
  }

  /** Keys added to the horizon since it was built or restored (the snapshot policy counts them). */
  get idsAdded(): number {
    return this.records.added;
  }

  /**
   * The dedup horizon through `seq` as binary chunks (RecordHorizon.serialize), for a
   * takeover to restore. Synchronous: call it right after `apply`, before anything else can
   * change the state.
   */
  snapshotRecords(): { seq: number; keys: number; chunks: Buffer[] } {
    return { seq: this.seqValue, keys: this.records.size, chunks: this.records.serialize() };
  }

  /**
   * Rebuilds from the store: projections, then every log entry they have not folded yet.
   * `horizon`: the one restored from a snapshot through an earlier position, which
   * `snap.horizon` (read with `recordsAfter` that position) completes.
   */
  static fromSnapshot(shard: number, snap: ShardSnapshot, ctx: PricingContext, horizon = new RecordHorizon()): { state: ShardState; events: EventDoc[] } {
    for (const batch of snap.horizon) horizon.add(batch.at, batch.keys);
    const state = new ShardState(shard, snap.seq, horizon, ctx);
    for (const id of snap.refusedFolds ?? []) state.refusedFolds.add(id);
    for (const doc of snap.accounts) state.accounts.set(doc._id, { doc });
    for (const id of snap.folded ?? []) state.folded.add(id);
    const events: EventDoc[] = [];
    for (const entry of snap.tail) events.push(...state.apply(entry));
    state.seqValue = snap.seq;
    state.recent = RecentUsage.of(state.accountDocs());
    // The tail is in the snapshot's totals already.
    state.counted = { ...(snap.totals ?? { charged: 0, duplicates: 0 }) };
    return { state, events };
  }

  /**
   * Prices a batch against the current state without changing it: the result is the next
   * log entry. Only `apply` of that entry, after the store accepted it, changes the state.
   * `streamSeqs[i]` is the JetStream sequence of record i's message (0: unknown).
   */
  planUsage(records: readonly UsageRecord[], job: string, now: number, streamSeqs: readonly number[] = []): PlannedBatch {
    const lookup = (id: string) => {
      const doc = this.accounts.get(id)?.doc;
      return { balance: doc?.balance_micros ?? 0n, firstPaidAt: doc?.first_paid_at?.getTime() ?? null };
    };
    const plan = planUsage(records, streamSeqs, this.records, lookup, this.ctx);
    const seq = this.seqValue + 1;
    const doc = usageEntry(plan, { _id: shardLogId(this.shard, seq), shard: this.shard, seq, at: new Date(now), job });
    return { doc, charged: plan.charged, duplicates: plan.duplicates, refused: plan.refused };
  }

  /** An empty next log entry: takes the next step so that no former owner can (see ShardOwner.catchUp). */
  planFence(now: number): ShardLogDoc {
    const seq = this.seqValue + 1;
    return { _id: shardLogId(this.shard, seq), shard: this.shard, seq, at: new Date(now), job: 'fence', duplicates: 0, folds: [] };
  }

  /**
   * The next log entry folding ledger entries written elsewhere (payments, purchases). An
   * entry is new unless folded before: record ids are not consulted (another namespace).
   */
  planFolds(entries: readonly FoldedEntry[], job: string, now: number): ShardLogDoc {
    const seq = this.seqValue + 1;
    const seen = new Set<string>();
    const balances = new Map<string, bigint>();
    const fresh: FoldedEntry[] = [];
    for (const e of entries) {
      const isNew = !this.folded.has(e.id) && !seen.has(e.id);
      seen.add(e.id);
      if (!isNew) continue;
      // Nothing wraps (SPEC 2): an entry that would take the balance outside Int64 is folded as refused, amount 0.
      const balance = addInt64(balances.get(e.a) ?? this.accounts.get(e.a)?.doc.balance_micros ?? 0n, e.d);
      if (balance === null) {
        fresh.push({ id: e.id, a: e.a, d: 0n, refused: true });
        continue;
      }
      balances.set(e.a, balance);
      fresh.push(e);
    }
    // An entry folded before is left out and not counted: `duplicates` counts records (the
    // stats' received = charged + duplicates + dead), and a replayed webhook or a re-run tick
    // is none, so a fold with nothing new writes no log entry at all.
    return { _id: shardLogId(this.shard, seq), shard: this.shard, seq, at: new Date(now), job, duplicates: 0, folds: fresh };
  }

  /**
   * Folds one accepted log entry into the state and returns the crossing events it caused
   * (ids derived from the entry's position, so a replay re-derives the same ids). During a
   * rebuild an account whose projection is already at or past the entry is left alone.
   */
  apply(entry: ShardLogDoc): EventDoc[] {
    const events: EventDoc[] = [];
    const at = entry.at.getTime();
    this.records.add(at, horizonKeys(entry));
    this.counted.duplicates += entry.duplicates;
    const deltas = deltasOf(entry);
    for (const delta of deltas) this.counted.charged += delta.n;
    const usage = entryUsageOf(entry);
    const foldBefore = hourFoldBefore(at, this.ctx.lateArrivalDays);
    // During a rebuild an account whose projection is already at or past the entry is left
    // alone. Decided once per account and entry: the entry's own first change moves the
    // account to its position, and a second fold of the same account must still apply.
    const passed = new Map<string, boolean>();
    const alreadyPast = (acc: AccountState): boolean => {
      let past = passed.get(acc.doc._id);
      if (past === undefined) passed.set(acc.doc._id, (past = acc.doc.seq >= entry.seq));
      return past;
    };
    for (const delta of deltas) {
      const acc = this.account(delta.a, at);
      if (alreadyPast(acc)) continue;
      acc.doc.balance_micros += delta.d;
      const buckets = usage.get(delta.a);
      if (buckets) {
        acc.doc.usage = foldUsage(acc.doc.usage, buckets, foldBefore);
        this.recent.add(buckets, at);
      }
      const last = acc.doc.last_active_at?.getTime() ?? 0;
      if (at > last) acc.doc.last_active_at = new Date(at);
      this.touch(acc, entry, events);
    }
    for (const fold of entry.folds) {
      this.folded.add(fold.id);
      if (fold.refused) this.refusedFolds.add(fold.id);
      const acc = this.account(fold.a, at);
      if (alreadyPast(acc)) continue;
      acc.doc.balance_micros += fold.d;
      if (fold.paid !== undefined && acc.doc.first_paid_at === null) acc.doc.first_paid_at = new Date(fold.paid);
      if (fold.plan) {
        acc.doc.current_plan_id = fold.plan.id;
        acc.doc.vm_quota_total = fold.plan.vms;
        acc.doc.vm_quota_used = 0;
        acc.doc.vm_quota_period_end = new Date(fold.plan.end);
      }
      applyAccountFields(acc.doc, fold);
      this.touch(acc, entry, events);
    }
    if (entry.seq > this.seqValue) this.seqValue = entry.seq;
    return events;
  }

  get totals(): LogTotals {
    return { ...this.counted };
  }

  /** Where the read model is to stand after a write: the position, the log's totals and the recent hours' charges. */
  get position(): ModelPosition {
    return { seq: this.seqValue, ...this.counted, recent: this.recent.pack() };
  }

  /** Forgets records charged before `before` (the dedup horizon moved on). */
  expireIds(before: number): number {
    return this.records.expire(before);
  }

  /** Every ledger entry this state has folded: what the tick's sweep leaves out, without reading the log. */
  get foldedIds(): ReadonlySet<string> {
    return this.folded;
  }

  /** Whether a ledger entry was folded as refused (`amount_out_of_range`). */
  isRefusedFold(id: string): boolean {
    return this.refusedFolds.has(id);
  }

  /**
   * Every projection of the shard as of the current position, encoded now (the docs are
   * live: they change with the next entry), when any changed since the last call; null
   * otherwise. A write that fails hands it back with `projectionsUnwritten`.
   */
  takeProjections(): ProjectionWrite | null {
    if (!this.unwritten) return null;
    this.unwritten = false;
    return { seq: this.seqValue, ...encodeAccounts(Array.from(this.accounts.values(), (acc) => acc.doc)) };
  }

  /** A projection snapshot was not written: the next flush writes one again. */
  projectionsUnwritten(): void {
    this.unwritten = true;
  }

  /** Whether a projection changed since the last snapshot taken. */
  hasUnwritten(): boolean {
    return this.unwritten;
  }

  /**
   * The accounts changed since the last call, for the read model (a write that fails hands
   * their ids back with `unreadAgain`). The docs are the live ones: encode them before awaiting.
   */
  takeUnread(): AccountDoc[] {
    const docs: AccountDoc[] = [];
    for (const id of this.unread) {
      const doc = this.accounts.get(id)?.doc;
      if (doc) docs.push(doc);
    }
    this.unread.clear();
    return docs;
  }

  unreadAgain(ids: Iterable<string>): void {
    for (const id of ids) this.unread.add(id);
  }

  getAccount(id: string): AccountDoc | undefined {
    return this.accounts.get(id)?.doc;
  }

  /** Every projection of the shard (the ladder tick reads them all). */
  accountDocs(): IterableIterator<AccountDoc> {
    return Array.from(this.accounts.values(), (acc) => acc.doc).values();
  }

  private touch(acc: AccountState, entry: ShardLogDoc, events: EventDoc[]): void {
    acc.doc.seq = entry.seq;
    acc.doc.updated_at = entry.at;
    this.unwritten = true;
    this.unread.add(acc.doc._id);
    const balance = acc.doc.balance_micros;
    // The account's own threshold, once an alerts fold set one: the crossing is of that line, so
    // a threshold raised above the balance fires low_balance at once, and once per crossing after.
    const low = balance < (acc.doc.low_balance_micros ?? this.ctx.lowBalanceMicros);
    const depleted = balance <= 0n;
    if (low && !acc.doc.low) events.push(this.event('low_balance', acc.doc, entry));
    if (depleted && !acc.doc.depleted) events.push(this.event('depleted', acc.doc, entry));
    acc.doc.low = low;
    acc.doc.depleted = depleted;
  }

  private event(type: BillingEventType, doc: AccountDoc, entry: ShardLogDoc): EventDoc {
    return {
      _id: `${type}:${doc._id}:${entry._id}`,
      type,
      account_id: doc._id,
      balance_micros: doc.balance_micros,
      shard: this.shard,
      seq: entry.seq,
      at: entry.at,
    };
  }

  /**
   * Usage for an unknown account creates it with balance 0 (SPEC 6). It starts below the
   * thresholds, so an account that never had money emits no crossing events.
   */
  private account(id: string, at: number): AccountState {
    let acc = this.accounts.get(id);
    if (!acc) {
      this.unwritten = true;
      acc = { doc: newAccount(id, this.shard, new Date(at)) };
      this.accounts.set(id, acc);
    }
    return acc;
  }
}
