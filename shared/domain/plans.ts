/**
 * Plans and VM quota (SPEC 7, the seed's quota purchase model): the registry, and the
 * buy-plan and allocate-VM decisions as pure functions. Making them atomic is the store's
 * job; these say what should happen given one consistent view of the account.
 */
import { arrayAt, intAt, invalid, join, objectAt } from './configJson.js';
import type { ErrorCode } from './errors.js';
import { formatUsd, parseMicros, roundHalfEven, type Micros } from './money.js';
import { DAY_MS } from './time.js';
import type { Plan } from './types.js';

export type { Plan } from './types.js';

const PLAN_ID = /^[A-Za-z0-9_-]{1,32}$/;

/** The seed's pricing table: 10 USD for 5 VMs and 20 USD for 10 VMs, each for 30 days. */
export const DEFAULT_PLANS: readonly Plan[] = Object.freeze([
  Object.freeze({ id: 'basic', priceMicros: 10_000_000n, vmCount: 5, periodDays: 30 }),
  Object.freeze({ id: 'pro', priceMicros: 20_000_000n, vmCount: 10, periodDays: 30 }),
]);

function parsePlan(x: unknown, path: string): Plan {
  const doc = objectAt(x, path, ['id', 'price_micros', 'vm_count', 'period_days']);
  const id = doc['id'];
  if (typeof id !== 'string' || !PLAN_ID.test(id)) invalid(join(path, 'id'), 'must be 1..32 of [A-Za-z0-9_-]');
  const priceMicros = parseMicros(doc['price_micros']);
  if (priceMicros === null) invalid(join(path, 'price_micros'), 'must be an integer >= 0 (micros)');
  const vmCount = intAt(doc['vm_count'], join(path, 'vm_count'), 1, 10_000);
  const periodDays = intAt(doc['period_days'], join(path, 'period_days'), 1, 3650);
  return Object.freeze({ id, priceMicros, vmCount, periodDays });
}

/** Validates PLANS_JSON, `[{"id", "price_micros", "vm_count", "period_days"}, ...]`: non-empty, ids unique. */
export function parsePlans(json: unknown): readonly Plan[] {
  const plans = arrayAt(json, '').map((x, i) => parsePlan(x, join('', i)));
  if (plans.length === 0) invalid('', 'must list at least one plan');
  plans.forEach((plan, i) => {
    if (plans.findIndex((p) => p.id === plan.id) !== i) invalid(join(join('', i), 'id'), `repeats "${plan.id}"`);
  });
  return plans;
}

export function findPlan(plans: readonly Plan[], id: string): Plan | undefined {
  return plans.find((plan) => plan.id === id);
}

/** A plan is active until its period end, exclusive: at the instant it ends it has expired. */
export function isPlanActive(periodEnd: number | null, now: number): boolean {
  return periodEnd !== null && now < periodEnd;
}

/**
 * The audit cost of one VM: plan price / VM count, rounded half-even to whole micros
 * (exact for the default plans: 2 USD each).
 */
export function perVmAuditCostMicros(plan: Plan): Micros {
  return roundHalfEven(plan.priceMicros, BigInt(plan.vmCount));
}

export type Refusal<C extends ErrorCode> = { ok: false; code: C; message: string };

export interface BuyPlanInput {
  /** The requested plan, as found in the registry (undefined: no such plan). */
  plan: Plan | undefined;
  /** The account as read, or null when it does not exist. */
  account: { balanceMicros: Micros; kycVerified: boolean; planPeriodEnd: number | null } | null;
  /** @defaultValue false (KYC_REQUIRED) */
  kycRequired: boolean;
  now: number;
}

export interface PlanPurchase {
  ok: true;
  planId: string;
  debitMicros: Micros;
  quotaTotal: number;
  periodEnd: number;
}

export type BuyPlanCode = 'unknown_plan' | 'account_not_found' | 'kyc_required' | 'plan_active' | 'insufficient_balance';

/**
 * Buy a plan. Checks run in this order, first failure wins: unknown_plan, account_not_found,
 * kyc_required, plan_active, insufficient_balance. plan_active comes before the balance so
 * a user is never told to top up for a purchase that would be refused anyway.
 */
export function decideBuyPlan(input: BuyPlanInput): PlanPurchase | Refusal<BuyPlanCode> {
  const { plan, account, now } = input;
  if (plan === undefined) return { ok: false, code: 'unknown_plan', message: 'no such plan' };
  if (account === null) return { ok: false, code: 'account_not_found', message: 'no such account' };
  if (input.kycRequired && !account.kycVerified) {
    return { ok: false, code: 'kyc_required', message: 'the account must pass KYC first' };
  }
  const activeUntil = account.planPeriodEnd;
  if (activeUntil !== null && isPlanActive(activeUntil, now)) {
    return { ok: false, code: 'plan_active', message: `a plan is active until ${new Date(activeUntil).toISOString()}` };
  }
  if (account.balanceMicros < plan.priceMicros) {
    const message = `balance ${formatUsd(account.balanceMicros)} is below the price ${formatUsd(plan.priceMicros)}`;
    return { ok: false, code: 'insufficient_balance', message };
  }
  return {
    ok: true,
    planId: plan.id,
    debitMicros: plan.priceMicros,
    quotaTotal: plan.vmCount,
    periodEnd: now + plan.periodDays * DAY_MS,
  };
}

export interface AllocateVmInput {
  account: { currentPlanId: string | null; planPeriodEnd: number | null; quotaTotal: number; quotaUsed: number } | null;
  /**
   * The plan the account bought (the purchase's snapshot, or the registry's entry);
   * undefined when it is no longer known, which leaves the audit cost unknown.
   */
  plan: Plan | undefined;
  now: number;
}

export interface VmAllocation {
  ok: true;
  planId: string;
  /** 0-based slot in the quota, the key of the store's `vm:<account>:<period>:<slot>` claim. */
  slot: number;
  /** Allocations end with the plan's period. */
  expiresAt: number;
  auditCostMicros: Micros | null;
}

export type AllocateVmCode = 'account_not_found' | 'no_active_plan' | 'quota_exhausted';

/** Allocate one VM from the active plan's quota. Order: account_not_found, no_active_plan, quota_exhausted. */
export function decideAllocateVm(input: AllocateVmInput): VmAllocation | Refusal<AllocateVmCode> {
  const { account, plan, now } = input;
  if (account === null) return { ok: false, code: 'account_not_found', message: 'no such account' };
  const { currentPlanId, planPeriodEnd } = account;
  if (currentPlanId === null || planPeriodEnd === null || !isPlanActive(planPeriodEnd, now)) {
    return { ok: false, code: 'no_active_plan', message: 'buy a plan first' };
  }
  if (account.quotaUsed >= account.quotaTotal) {
    return { ok: false, code: 'quota_exhausted', message: `all ${account.quotaTotal} VMs of the plan are in use` };
  }
  return {
    ok: true,
    planId: currentPlanId,
    slot: account.quotaUsed,
    expiresAt: planPeriodEnd,
    auditCostMicros: plan === undefined ? null : perVmAuditCostMicros(plan),
  };
}
