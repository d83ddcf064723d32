/** JSON views of the store's documents: money as integers (SPEC 2, toJsonMicros), instants as RFC 3339. */
import { toJsonMicros } from '../../shared/domain/index.js';
import type { AccountDoc, AllocationDoc, LedgerDoc, LedgerLine, TierTransitionDoc } from '../../shared/store/index.js';

const iso = (d: Date | null | undefined): string | null => (d ? d.toISOString() : null);

export function accountView(doc: AccountDoc) {
  return {
    account_id: doc._id,
    balance_micros: toJsonMicros(doc.balance_micros),
    first_paid_at: iso(doc.first_paid_at),
    last_active_at: iso(doc.last_active_at),
    discount_tier: doc.discount_tier,
    current_plan_id: doc.current_plan_id,
    plan_seq: doc.plan_seq ?? 0,
    vm_quota_total: doc.vm_quota_total,
    vm_quota_used: doc.vm_quota_used,
    vm_quota_period_end: iso(doc.vm_quota_period_end),
    kyc_verified: doc.kyc_verified,
    /** The account's own low-balance threshold; null: LOW_BALANCE_MICROS. */
    low_balance_micros: doc.low_balance_micros == null ? null : toJsonMicros(doc.low_balance_micros),
    created_at: iso(doc.created_at),
    updated_at: iso(doc.updated_at),
  };
}

export function allocationView(doc: AllocationDoc) {
  return {
    allocation_id: doc._id,
    account_id: doc.account_id,
    plan_id: doc.plan_id,
    plan_seq: doc.plan_seq,
    slot: doc.slot,
    status: doc.status,
    expires_at: iso(doc.expires_at),
    audit_cost_micros: doc.audit_cost_micros === null ? null : toJsonMicros(doc.audit_cost_micros),
    created_at: iso(doc.created_at),
    expired_at: iso(doc.expired_at),
  };
}

export function purchaseView(doc: LedgerDoc) {
  return {
    entry_id: doc._id,
    plan_id: doc.plan_id ?? null,
    plan_seq: doc.plan_seq ?? null,
    debit_micros: toJsonMicros(-doc.amount_micros),
    vm_count: doc.vm_count ?? null,
    period_end: iso(doc.period_end),
    at: iso(doc.at),
  };
}

export function ledgerLineView(line: LedgerLine) {
  return {
    id: line.id,
    kind: line.kind,
    amount_micros: toJsonMicros(line.amount_micros),
    at: iso(line.at),
    seq: line.seq,
    balance_after_micros: line.balance_after === null ? null : toJsonMicros(line.balance_after),
    folded: line.folded,
    ...(line.records !== undefined ? { records: line.records } : {}),
    ...(line.plan_id !== undefined ? { plan_id: line.plan_id } : {}),
    ...(line.paid_at !== undefined ? { paid_at: iso(line.paid_at) } : {}),
    ...(line.reason !== undefined ? { reason: line.reason, by: line.by } : {}),
  };
}

export function adjustmentView(doc: LedgerDoc) {
  return {
    adjustment_id: doc._id.slice(doc._id.indexOf(':') + 1),
    account_id: doc.account_id,
    amount_micros: toJsonMicros(doc.amount_micros),
    reason: doc.reason ?? null,
    by: doc.by ?? null,
    at: iso(doc.at),
  };
}

export function transitionView(doc: TierTransitionDoc) {
  return { from: doc.from, to: doc.to, at: iso(doc.at), tick_id: doc.tick_id };
}
