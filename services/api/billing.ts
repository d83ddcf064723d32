import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Db } from 'mongodb';
import type { Logger } from 'pino';
import { TallyError, decideAllocateVm, decideBuyPlan, findPlan, type Plan } from '../../shared/domain/index.js';
import { requestFold } from '../../shared/app/index.js';
import { awaitJob, enqueueFold, type FoldSigner, type JobOutcome, type ShardQueues } from '../../shared/queue/index.js';
import type { AccountReader } from '../../shared/readModel/index.js';
import {
  adjustmentEntryId,
  alertsEntryId,
  allocationId,
  foldOfAllocation,
  foldOfLedger,
  insertAllocation,
  insertLedgerEntry,
  kycEntryId,
  paymentEntryId,
  planEntryId,
  readLedgerEntry,
  type AccountDoc,
  type AllocationDoc,
  type FoldedEntry,
  type LedgerDoc,
} from '../../shared/store/index.js';

export interface BillingConfig {
  plans: readonly Plan[];
  kycRequired: boolean;
}

export interface BillingDeps {
  db: Db;
  queues: ShardQueues;
  accounts: AccountReader;
  logger: Logger;
  /**
   * Where fold requests go to the shard owner directly, signed (decision 013); without it
   * (the CLI, tests with no NATS) every fold is a BullMQ job.
   */
  folds?: { nc: NatsConnection; signer: FoldSigner };
  /** @defaultValue Date.now */
  clock?: () => number;
  /** How long a request waits for the shard owner to fold its entry. @defaultValue 5000 */
  foldWaitMs?: number;
  /** Told after every write, folded or not, with the account written (the API drops what it cached of it). */
  onWrite?: (accountId: string) => void;
}

/** What a write did: the entry is durable either way; `account` is the projection once folded, null while pending. */
export interface Outcome<T> {
  value: T;
  folded: boolean;
  account: AccountDoc | null;
}

export interface AdjustmentInput {
  adjustmentId: string;
  accountId: string;
  /** Signed, non-zero. */
  amountMicros: bigint;
  reason: string;
  by: NonNullable<LedgerDoc['by']>;
}

export interface PaymentInput {
  paymentId: string;
  accountId: string;
  amountMicros: bigint;
  paidAt: number;
}

/**
 * Plans, VMs, payments, KYC, adjustments and alert settings (SPEC 7, 13). The API never updates an account: each operation
 * is one insert with a deterministic key (the claim that makes it atomic on FerretDB, SPEC
 * "What is atomic"), then a fold job for the owner of the account's shard, the projection's
 * only writer. The checks read the projection; the claim key decides races.
 */
export class BillingService {
  private readonly clock: () => number;
  private readonly foldWaitMs: number;

  constructor(
    private readonly config: BillingConfig,
    private readonly deps: BillingDeps,
  ) {
    this.clock = deps.clock ?? Date.now;
    this.foldWaitMs = deps.foldWaitMs ?? 5000;
  }

  async account(accountId: string): Promise<AccountDoc> {
    const doc = await this.deps.accounts.account(accountId);
    if (!doc) throw new TallyError('account_not_found', `no account ${accountId}`);
    return doc;
  }

  /**
   * Credits a payment once per payment id: the insert of `payment:<id>` is the credit. A
   * replay finds the entry and folds it again, which the owner ignores if it is folded
   * already, so a crash between insert and fold job is healed by the provider's retry.
   */
  async creditPayment(input: PaymentInput): Promise<Outcome<{ entry: LedgerDoc; duplicate: boolean }>> {
    const doc = this.entry(input.accountId, {
      _id: paymentEntryId(input.paymentId),
      kind: 'payment',
      amount_micros: input.amountMicros,
      paid_at: new Date(input.paidAt),
    });
    return this.once(
      doc,
      (e) => e.kind === 'payment' && e.amount_micros === doc.amount_micros && e.paid_at?.getTime() === input.paidAt,
      () => new TallyError('payment_conflict', `payment ${input.paymentId} was already received with a different account, amount or paid_at`),
    );
  }

  /** Buys a plan: the claim `plan:<account>:<n>`, n = purchases so far + 1, so of concurrent purchases one wins. */
  async buyPlan(accountId: string, planId: string): Promise<Outcome<LedgerDoc>> {
    const now = this.clock();
    const plan = findPlan(this.config.plans, planId);
    const acc = plan === undefined ? null : await this.deps.accounts.account(accountId);
    const decision = decideBuyPlan({
      plan,
      account: acc && { balanceMicros: acc.balance_micros, kycVerified: acc.kyc_verified, planPeriodEnd: acc.vm_quota_period_end?.getTime() ?? null },
      kycRequired: this.config.kycRequired,
      now,
    });
    if (!decision.ok) throw new TallyError(decision.code, decision.message);
    const seq = (acc?.plan_seq ?? 0) + 1;
    const shard = this.deps.queues.shardOf(accountId);
    const doc: LedgerDoc = {
      _id: planEntryId(accountId, seq),
      kind: 'plan_purchase',
      account_id: accountId,
      shard,
      amount_micros: -decision.debitMicros,
      at: new Date(now),
      plan_id: decision.planId,
      plan_seq: seq,
      period_end: new Date(decision.periodEnd),
      vm_count: decision.quotaTotal,
    };
    if ((await insertLedgerEntry(this.deps.db, doc)) === 'exists') {
      throw new TallyError('plan_active', 'a concurrent purchase for this account won; its plan is active');
    }
    return this.fold(shard, accountId, foldOfLedger(doc), doc);
  }

  /**
   * Allocates one VM: claims the lowest free slot `vm:<account>:<plan>:<slot>`, slot
   * 1..vm_count. Starting at used + 1 and moving up only past taken slots keeps the claimed
   * slots contiguous, and no slot above vm_count exists: N concurrent requests against
   * quota Q get exactly min(N, Q) slots.
   */
  async allocateVm(accountId: string): Promise<Outcome<AllocationDoc>> {
    const now = this.clock();
    const acc = await this.deps.accounts.account(accountId);
    const plan = acc?.current_plan_id ? findPlan(this.config.plans, acc.current_plan_id) : undefined;
    const decision = decideAllocateVm({
      account: acc && {
        currentPlanId: acc.current_plan_id,
        planPeriodEnd: acc.vm_quota_period_end?.getTime() ?? null,
        quotaTotal: acc.vm_quota_total,
        quotaUsed: acc.vm_quota_used,
      },
      plan,
      now,
    });
    if (!decision.ok) throw new TallyError(decision.code, decision.message);
    const total = acc?.vm_quota_total ?? 0;
    const planSeq = acc?.plan_seq ?? 0;
    const shard = this.deps.queues.shardOf(accountId);
    for (let slot = decision.slot + 1; slot <= total; slot++) {
      const doc: AllocationDoc = {
        _id: allocationId(accountId, planSeq, slot),
        account_id: accountId,
        shard,
        plan_id: decision.planId,
        plan_seq: planSeq,
        slot,
        expires_at: new Date(decision.expiresAt),
        audit_cost_micros: decision.auditCostMicros,
        status: 'active',
        created_at: new Date(now),
      };
      if ((await insertAllocation(this.deps.db, doc)) === 'inserted') return this.fold(shard, accountId, foldOfAllocation(doc), doc);
    }
    throw new TallyError('quota_exhausted', `all ${total} VMs of the plan are in use`);
  }

  /** Records a KYC decision (admin) as a ledger entry of amount 0; the owner sets kyc_verified. */
  async setKyc(accountId: string, verified: boolean): Promise<Outcome<LedgerDoc>> {
    return this.setting(accountId, 'kyc', { kyc_verified: verified });
  }

  /**
   * An operator's credit or debit, once per adjustment id (`adjustment:<id>`, its own key
   * namespace): a replay with the same account, amount and reason folds the stored entry
   * again (answered as that entry), anything else under the id is 409 `conflict`. It never
   * sets first_paid_at (only payments do) nor the tier. Like a payment it needs no account
   * read first: money for an account not seen yet opens it (SPEC 6), and a read model being
   * rebuilt cannot turn an operator's credit into a 404.
   */
  async adjust(input: AdjustmentInput): Promise<Outcome<{ entry: LedgerDoc; duplicate: boolean }>> {
    const doc = this.entry(input.accountId, {
      _id: adjustmentEntryId(input.adjustmentId),
      kind: 'adjustment',
      amount_micros: input.amountMicros,
      reason: input.reason,
      by: input.by,
    });
    return this.once(
      doc,
      (e) => e.kind === 'adjustment' && e.amount_micros === doc.amount_micros && e.reason === doc.reason,
      () => new TallyError('conflict', `adjustment ${input.adjustmentId} was already made with a different account, amount or reason`),
    );
  }

  /** Sets (or, with null, clears) the account's own low-balance threshold: an entry of amount 0 the owner folds, so it is in the log. */
  async setAlerts(accountId: string, lowBalanceMicros: bigint | null): Promise<Outcome<LedgerDoc>> {
    return this.setting(accountId, 'alerts', { low_balance_micros: lowBalanceMicros });
  }

  /** An account setting (KYC, alert threshold) of a known account: a ledger entry of amount 0 under a fresh key, applied by the owner in log order. */
  private async setting(
    accountId: string,
    kind: 'kyc' | 'alerts',
    fields: Pick<LedgerDoc, 'kyc_verified' | 'low_balance_micros'>,
  ): Promise<Outcome<LedgerDoc>> {
    await this.account(accountId);
    const doc = this.entry(accountId, { _id: (kind === 'kyc' ? kycEntryId : alertsEntryId)(accountId, randomUUID()), kind, amount_micros: 0n, ...fields });
    await insertLedgerEntry(this.deps.db, doc);
    return this.fold(doc.shard, accountId, foldOfLedger(doc), doc);
  }

  /** A ledger entry of the account, on its shard, made now. */
  private entry(accountId: string, fields: Omit<LedgerDoc, 'account_id' | 'shard' | 'at'>): LedgerDoc {
    return { ...fields, account_id: accountId, shard: this.deps.queues.shardOf(accountId), at: new Date(this.clock()) };
  }

  /**
   * An entry once per key (payments, adjustments): the insert is the operation. A replay
   * that `same` recognises folds the stored entry again, which the owner ignores if it is
   * folded already, so a crash between insert and fold job is healed by the caller's retry;
   * anything else under the key is refused with `conflict()`.
   */
  private async once(
    doc: LedgerDoc,
    same: (existing: LedgerDoc) => boolean,
    conflict: () => TallyError,
  ): Promise<Outcome<{ entry: LedgerDoc; duplicate: boolean }>> {
    const entry = await this.insertOrSame(doc, same);
    if (entry === null) throw conflict();
    return this.fold(doc.shard, doc.account_id, foldOfLedger(entry), { entry, duplicate: entry !== doc });
  }

  /**
   * Inserts `doc`, or finds the entry already under its key: that entry when it is of the
   * same account and `same` says the rest matches (a replay), null when it does not.
   */
  private async insertOrSame(doc: LedgerDoc, same: (existing: LedgerDoc) => boolean): Promise<LedgerDoc | null> {
    if ((await insertLedgerEntry(this.deps.db, doc)) === 'inserted') return doc;
    const existing = await readLedgerEntry(this.deps.db, doc._id);
    if (!existing) throw new Error(`ledger entry ${doc._id} reported as existing but not found`);
    return existing.account_id === doc.account_id && same(existing) ? existing : null;
  }

  /** Has the owner fold the entry and waits (bounded) for it, so the answer shows the new state. */
  private async fold<T>(shard: number, accountId: string, entry: FoldedEntry, value: T): Promise<Outcome<T>> {
    const outcome = await this.foldNow(shard, entry);
    this.deps.onWrite?.(accountId);
    if (outcome.state !== 'folded' && outcome.state !== 'refused') {
      this.deps.logger.warn({ entry: entry.id, shard, state: outcome.state }, 'entry stored, fold not confirmed in time');
      return { value, folded: false, account: null };
    }
    if (outcome.state === 'refused') {
      throw new TallyError('amount_out_of_range', `the entry would take the balance of ${accountId} outside Int64; it is recorded and never applied`);
    }
    return { value, folded: true, account: outcome.account ?? (await this.deps.accounts.account(accountId)) };
  }

  /**
   * A request to the owner over NATS; else (no owner listening, or it answered that it
   * folded nothing) the BullMQ fold job, which whoever owns the shard next takes, waited for
   * in the time left. A request that timed out leaves the job behind, not waited for: the
   * entry is folded once either way.
   */
  private async foldNow(
    shard: number,
    entry: FoldedEntry,
  ): Promise<{ state: 'folded' | 'refused' | 'timeout' | JobOutcome['state']; account?: AccountDoc | undefined }> {
    const started = performance.now();
    const folds = this.deps.folds;
    const asked = folds ? await requestFold(folds.nc, folds.signer, shard, [entry], this.foldWaitMs) : null;
    if (asked?.state === 'folded') return { state: asked.refused.length > 0 ? 'refused' : 'folded', account: asked.accounts.get(entry.a) };
    if (asked?.state === 'failed') this.deps.logger.warn({ entry: entry.id, shard, error: asked.error }, 'fold request failed; adding a fold job');
    const job = await this.foldJob(shard, entry, asked?.state === 'timeout' ? 0 : this.foldWaitMs - (performance.now() - started));
    if (job.state !== 'completed') return { state: asked?.state === 'timeout' ? 'timeout' : job.state };
    return { state: job.result?.refused?.length ? 'refused' : 'folded' };
  }

  /** The durable way: a BullMQ job for the shard's owner, waited for at most `waitMs` (0: added, not waited for). */
  private async foldJob(shard: number, entry: FoldedEntry, waitMs: number): Promise<JobOutcome> {
    const queue = this.deps.queues.forShard(shard);
    if (waitMs <= 0) {
      await enqueueFold(queue, entry);
      return { state: 'pending' };
    }
    // Before the add: the listener then hears every event of the job (ShardQueues.events).
    const events = await this.deps.queues.events(shard);
    return awaitJob(queue, await enqueueFold(queue, entry), events, waitMs);
  }
}
