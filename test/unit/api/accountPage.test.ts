import { describe, expect, it } from 'vitest';
import {
  DEFAULT_LADDER,
  DEFAULT_PLANS,
  newAccount,
  parseLadder,
  parseUsageQuery,
  usageAnswer,
  type AllocateVmCode,
  type BuyPlanCode,
} from '../../../shared/domain/index.js';
import { bannerFor, renderAccountPage, renderLoginPage, tierLabel } from '../../../services/api/index.js';

const PLAN_AND_VM_CODES: (BuyPlanCode | AllocateVmCode | 'invalid_request')[] = [
  'unknown_plan',
  'account_not_found',
  'kyc_required',
  'plan_active',
  'insufficient_balance',
  'invalid_request',
  'no_active_plan',
  'quota_exhausted',
];

describe('account page (pure rendering)', () => {
  it('shows every error code of the plan and VM routes as an error banner in words', () => {
    for (const code of [...PLAN_AND_VM_CODES, 'unauthorized', 'rate_limited', 'unavailable', 'internal']) {
      const banner = bannerFor(code);
      expect(banner?.tone, code).toBe('error');
      expect(banner?.text).toMatch(/^[A-Z].{20,}\.$/);
      expect(banner?.text, 'words, not an identifier').not.toMatch(/[a-z]+_[a-z]+/);
    }
    expect(bannerFor('plan_purchased')?.tone).toBe('success');
    expect(bannerFor('vm_allocated')?.tone).toBe('success');
  });

  it('never reflects an unknown code', () => {
    for (const code of ['<script>alert(1)</script>', 'toString', '__proto__', '', 42]) expect(bannerFor(code)).toBeNull();
  });

  it('labels tiers with the exact discount of the configured ladder', () => {
    expect(tierLabel('none', DEFAULT_LADDER)).toBe('No discount');
    expect(tierLabel('week', DEFAULT_LADDER)).toBe('Week tier · 50% off');
    expect(tierLabel('month', DEFAULT_LADDER)).toBe('Month tier · 75% off');
    expect(tierLabel('week', parseLadder([{ tier: 'week', min_days: 7, multiplier: '2/3' }]))).toBe('Week tier · 33% off');
  });

  it('renders plan buttons without a plan, the quota panel with one, and no script but our own files', () => {
    const now = Date.parse('2026-03-01T00:00:00Z');
    const base = {
      accountId: 'acct-1',
      now,
      usage: usageAnswer('acct-1', undefined, parseUsageQuery({ group_by: 'kind' }, now, 35)),
      banner: bannerFor('quota_exhausted'),
      plans: DEFAULT_PLANS,
      ladder: DEFAULT_LADDER,
      allocations: [],
      ledger: [],
      events: [],
    };
    const account = {
      ...newAccount('acct-1', 0, new Date(now)),
      seq: 3,
      balance_micros: 1_234_500_000n,
      first_paid_at: new Date(now - 10 * 86_400_000),
      discount_tier: 'week',
      low: false,
      depleted: false,
    };
    const noPlan = renderAccountPage({ ...base, account });
    expect(noPlan).toContain('$1,234.50');
    expect(noPlan).toContain('data-plan="basic"');
    expect(noPlan).toContain('Next: Month tier · 75% off from 2026-03-21 00:00 UTC.');
    expect(noPlan).toContain('role="alert" data-code="quota_exhausted"');
    const withPlan = renderAccountPage({
      ...base,
      account: { ...account, current_plan_id: 'pro', vm_quota_total: 10, vm_quota_used: 4, vm_quota_period_end: new Date(now + 2.5 * 86_400_000) },
    });
    expect(withPlan).not.toContain('data-plan=');
    expect(withPlan).toContain('>4 / 10<');
    expect(withPlan).toContain('data-testid="days-left">3<');
    for (const html of [noPlan, withPlan, renderLoginPage(null)]) {
      // Scripts by URL (our files) and the chart's JSON data block only: nothing inline runs.
      for (const tag of html.match(/<script[^>]*>/gi) ?? [])
        expect(tag).toMatch(/^<script (src="\/ops\/assets\/[\w.]+\.js" defer|type="application\/json" id="usage-data")>$/);
      expect(html).toContain('name="viewport"');
    }
    expect(renderLoginPage(null)).not.toMatch(/<script/i);
    expect(noPlan).toContain('No charges in this period.');
  });

  it('embeds the usage rows as JSON that no text can close, with the total in words', () => {
    const now = Date.parse('2026-03-01T00:00:00Z');
    const usage = usageAnswer('acct-1', undefined, parseUsageQuery({ group_by: 'kind' }, now, 35));
    usage.rows.push({
      start: '2026-02-20T00:00:00.000Z',
      kind: '</script><script>alert(1)</script>',
      records: 1,
      quantity: '1',
      charged_micros: 1_500_000,
    } as (typeof usage.rows)[number]);
    const html = renderAccountPage({
      accountId: 'acct-1',
      now,
      usage,
      banner: null,
      account: null,
      plans: DEFAULT_PLANS,
      ladder: DEFAULT_LADDER,
      allocations: [],
      ledger: [],
      events: [],
    });
    const block = /<script type="application\/json" id="usage-data">(.*?)<\/script>/s.exec(html)![1]!;
    expect(block).not.toContain('<');
    expect(JSON.parse(block)).toEqual(usage);
    expect(html).toContain('data-testid="usage-summary">$1.50 charged.<');
  });
});
