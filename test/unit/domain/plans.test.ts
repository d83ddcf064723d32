import { describe, expect, it } from 'vitest';
import {
  decideAllocateVm,
  decideBuyPlan,
  DEFAULT_PLANS,
  findPlan,
  isPlanActive,
  perVmAuditCostMicros,
  type BuyPlanInput,
  type AllocateVmInput,
} from '../../../shared/domain/index.js';
import { DAY, NOW } from './helpers.js';

const basic = findPlan(DEFAULT_PLANS, 'basic');
const pro = findPlan(DEFAULT_PLANS, 'pro');
const rich = { balanceMicros: 50_000_000n, kycVerified: true, planPeriodEnd: null };

function buy(overrides: Partial<BuyPlanInput> = {}) {
  return decideBuyPlan({ plan: basic, account: rich, kycRequired: true, now: NOW, ...overrides });
}

describe('default plans', () => {
  it('match the seed: basic 10 USD / 5 VMs / 30 days, pro 20 USD / 10 VMs / 30 days', () => {
    expect(basic).toEqual({ id: 'basic', priceMicros: 10_000_000n, vmCount: 5, periodDays: 30 });
    expect(pro).toEqual({ id: 'pro', priceMicros: 20_000_000n, vmCount: 10, periodDays: 30 });
    expect(findPlan(DEFAULT_PLANS, 'gold')).toBeUndefined();
  });
});

describe('perVmAuditCostMicros: price / VM count, half-even', () => {
  it.each([
    [10_000_000n, 5, 2_000_000n],
    [20_000_000n, 10, 2_000_000n],
    [10_000_000n, 3, 3_333_333n], // 3333333.33 -> 3333333
    [5n, 2, 2n], // 2.5 -> 2
    [7n, 2, 4n], // 3.5 -> 4
    [2n, 3, 1n], // 0.67 -> 1
  ])('%i micros over %i VMs is %i', (priceMicros, vmCount, want) => {
    expect(perVmAuditCostMicros({ id: 'p', priceMicros, vmCount, periodDays: 30 })).toBe(want);
  });
});

describe('decideBuyPlan', () => {
  it('debits the price and grants the quota until now + period', () => {
    expect(buy()).toEqual({ ok: true, planId: 'basic', debitMicros: 10_000_000n, quotaTotal: 5, periodEnd: NOW + 30 * DAY });
  });

  it.each<[string, Partial<BuyPlanInput>, string]>([
    ['unknown plan', { plan: undefined }, 'unknown_plan'],
    ['no account', { account: null }, 'account_not_found'],
    ['KYC required and missing', { account: { ...rich, kycVerified: false } }, 'kyc_required'],
    ['plan active', { account: { ...rich, planPeriodEnd: NOW + 1 } }, 'plan_active'],
    ['balance short by 1 micro', { account: { ...rich, balanceMicros: 9_999_999n } }, 'insufficient_balance'],
    ['negative balance', { account: { ...rich, balanceMicros: -1n } }, 'insufficient_balance'],
  ])('%s -> %s', (_why, overrides, code) => {
    const result = buy(overrides);
    expect(result.ok ? 'ok' : result.code).toBe(code);
  });

  it.each<[string, Partial<BuyPlanInput>]>([
    ['KYC not required', { kycRequired: false, account: { ...rich, kycVerified: false } }],
    ['balance exactly the price', { account: { ...rich, balanceMicros: 10_000_000n } }],
    ['plan ended exactly now', { account: { ...rich, planPeriodEnd: NOW } }],
    ['plan ended earlier', { account: { ...rich, planPeriodEnd: NOW - DAY } }],
  ])('succeeds when %s', (_why, overrides) => {
    expect(buy(overrides).ok).toBe(true);
  });

  it.each<[string, Partial<BuyPlanInput>, string]>([
    ['unknown_plan before account_not_found', { plan: undefined, account: null }, 'unknown_plan'],
    ['account_not_found before kyc_required', { account: null }, 'account_not_found'],
    ['kyc_required before plan_active', { account: { balanceMicros: 0n, kycVerified: false, planPeriodEnd: NOW + DAY } }, 'kyc_required'],
    ['plan_active before insufficient_balance', { account: { balanceMicros: 0n, kycVerified: true, planPeriodEnd: NOW + DAY } }, 'plan_active'],
  ])('precedence: %s', (_why, overrides, code) => {
    const result = buy(overrides);
    expect(result.ok ? 'ok' : result.code).toBe(code);
  });
});
describe('decideAllocateVm', () => {
  const active = { currentPlanId: 'basic', planPeriodEnd: NOW + DAY, quotaTotal: 5, quotaUsed: 2 };
  const allocate = (overrides: Partial<AllocateVmInput> = {}) => decideAllocateVm({ account: active, plan: basic, now: NOW, ...overrides });

  it('takes the next slot, expires with the plan, and records the per-VM cost', () => {
    expect(allocate()).toEqual({ ok: true, planId: 'basic', slot: 2, expiresAt: NOW + DAY, auditCostMicros: 2_000_000n });
  });

  it('gives the last slot, then refuses', () => {
    expect(allocate({ account: { ...active, quotaUsed: 4 } })).toMatchObject({ ok: true, slot: 4 });
    expect(allocate({ account: { ...active, quotaUsed: 5 } })).toMatchObject({ ok: false, code: 'quota_exhausted' });
  });

  it.each<[string, Partial<AllocateVmInput>, string]>([
    ['no account', { account: null }, 'account_not_found'],
    ['no plan', { account: { ...active, currentPlanId: null, planPeriodEnd: null } }, 'no_active_plan'],
    ['plan ended exactly now', { account: { ...active, planPeriodEnd: NOW } }, 'no_active_plan'],
    ['plan ended and quota used up', { account: { ...active, planPeriodEnd: NOW - 1, quotaUsed: 5 } }, 'no_active_plan'],
    ['quota used up', { account: { ...active, quotaUsed: 5 } }, 'quota_exhausted'],
  ])('%s -> %s', (_why, overrides, code) => {
    const result = allocate(overrides);
    expect(result.ok ? 'ok' : result.code).toBe(code);
  });

  it('leaves the audit cost unknown when the plan is no longer known', () => {
    expect(allocate({ plan: undefined })).toMatchObject({ ok: true, auditCostMicros: null });
  });
});

describe('isPlanActive', () => {
  it('is true until the period end, exclusive', () => {
    expect(isPlanActive(null, NOW)).toBe(false);
    expect(isPlanActive(NOW + 1, NOW)).toBe(true);
    expect(isPlanActive(NOW, NOW)).toBe(false);
  });
});
