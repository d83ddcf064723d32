import { DAY_MS, formatUsd, isPlanActive, nextTier, roundHalfEven, type Ladder, type Plan, type Tier, type usageAnswer } from '../../../shared/domain/index.js';
import type { AccountDoc, AllocationDoc, EventDoc, LedgerLine } from '../../../shared/store/index.js';
import type { Banner } from './banners.js';
import { esc, layout, when } from './html.js';

/** Everything the account page shows, read once per request. */
export interface AccountPageView {
  accountId: string;
  now: number;
  banner: Banner | null;
  /** null until the account's first payment or usage. */
  account: AccountDoc | null;
  plans: readonly Plan[];
  ladder: Ladder;
  allocations: readonly AllocationDoc[];
  /** Newest first. */
  ledger: readonly LedgerLine[];
  /** Newest first. */
  events: readonly EventDoc[];
  /** The last 30 days' charges by day and kind, as GET /v1/accounts/:id/usage?group_by=kind answers. */
  usage: ReturnType<typeof usageAnswer>;
}

const TIER_NAMES: Record<Tier, string> = { none: 'No discount', week: 'Week tier', month: 'Month tier' };

/** `Week tier · 50% off`: the discount on Hero OS and LLM usage, from the ladder's exact multiplier. */
export function tierLabel(tier: string, ladder: Ladder): string {
  const step = ladder.steps.find((s) => s.tier === tier);
  if (step === undefined) return TIER_NAMES.none;
  const { num, den } = step.multiplier;
  return `${TIER_NAMES[step.tier]} · ${roundHalfEven((den - num) * 100n, den)}% off`;
}

function bannerHtml(banner: Banner | null): string {
  if (banner === null) return '';
  // Errors interrupt (role=alert); outcomes are announced politely (role=status).
  const role = banner.tone === 'error' ? 'alert' : 'status';
  return `<div class="banner ${banner.tone} wide" role="${role}" data-code="${esc(banner.code)}">${esc(banner.text)}</div>`;
}

function balanceSection(view: AccountPageView): string {
  const acc = view.account;
  const tier = acc?.discount_tier ?? 'none';
  const firstPaid = acc?.first_paid_at?.getTime() ?? null;
  const next = nextTier(tier === 'week' || tier === 'month' ? tier : 'none', firstPaid, view.ladder);
  const nextLine =
    firstPaid === null
      ? 'Your first payment starts the discount ladder.'
      : next === null
        ? 'You have reached the top discount tier.'
        : `Next: ${esc(tierLabel(next.tier, view.ladder))} from ${esc(when(next.startsAt))}.`;
  return `<section aria-labelledby="balance-h"><h2 id="balance-h">Balance</h2>
<div class="balance"><span class="amount" data-testid="balance">${esc(formatUsd(acc?.balance_micros ?? 0n))}</span>
<span class="tier" data-tier="${esc(tier)}" data-testid="tier">${esc(tierLabel(tier, view.ladder))}</span></div>
<p class="muted" data-testid="next-tier">${nextLine}</p>
<p class="muted">Discounts apply to Hero OS and LLM usage; VMs are never discounted.${firstPaid === null ? '' : ` Customer since ${esc(when(firstPaid))}.`}</p></section>`;
}

/**
 * The last 30 days' charges by kind: the rows as JSON in a data block (never run; `<` escaped
 * so no text can close it), drawn by usageChart.js, with the total in words for readers
 * without script or sight.
 */
function usageSection(usage: AccountPageView['usage']): string {
  const data = JSON.stringify(usage).replace(/</g, '\\u003c');
  const total = usage.rows.reduce((n, r) => n + BigInt(r.charged_micros), 0n);
  return `<section class="wide" aria-labelledby="usage-h"><h2 id="usage-h">Charges, last 30 days</h2>
<figure id="usage-figure" data-usage-chart data-source="#usage-data"><figcaption class="muted">Charged per day (UTC), stacked by kind</figcaption>
<div id="usage-chart" data-chart role="img" aria-label="Bar chart of charges per day by kind; the totals are in the summary below"></div>
<p data-summary data-testid="usage-summary">${esc(total === 0n ? 'No charges in this period.' : `${formatUsd(total)} charged.`)}</p></figure>
<script type="application/json" id="usage-data">${data}</script></section>`;
}

function planButtons(plans: readonly Plan[]): string {
  const buttons = plans
    .map(
      (p) => `<form method="post" action="/account/plan" class="plan"><input type="hidden" name="plan_id" value="${esc(p.id)}">
<button type="submit" data-plan="${esc(p.id)}"><strong>Buy ${esc(p.id)} · ${esc(formatUsd(p.priceMicros))}</strong>${p.vmCount} VMs for ${p.periodDays} days</button></form>`,
    )
    .join('');
  return `<section aria-labelledby="plan-h"><h2 id="plan-h">Choose a plan</h2>
<p class="muted">No plan is active. A plan's price is taken from your balance and gives you a VM quota for its period.</p>
<div class="plans">${buttons}</div></section>`;
}

function quotaPanel(acc: AccountDoc, now: number): string {
  const end = acc.vm_quota_period_end?.getTime() ?? now;
  const left = acc.vm_quota_total - acc.vm_quota_used;
  const days = Math.max(0, Math.ceil((end - now) / DAY_MS));
  return `<section aria-labelledby="quota-h" data-testid="quota"><h2 id="quota-h">Plan ${esc(acc.current_plan_id ?? '')}</h2>
<dl><dt>VMs used</dt><dd data-testid="quota-used">${acc.vm_quota_used} / ${acc.vm_quota_total}</dd>
<dt>Period ends</dt><dd>${esc(when(end))}</dd><dt>Days left</dt><dd data-testid="days-left">${days}</dd></dl>
<meter min="0" max="${acc.vm_quota_total}" value="${acc.vm_quota_used}" aria-label="VM quota used">${acc.vm_quota_used} of ${acc.vm_quota_total}</meter>
<p class="muted">${left > 0 ? `${left} VM${left === 1 ? '' : 's'} left in this period.` : 'No VMs left in this period.'}</p>
<form method="post" action="/account/vms"><button type="submit" data-testid="allocate">Allocate VM</button></form></section>`;
}

function table(caption: string, id: string, head: string[], rows: string[][], empty: string): string {
  const th = head.map((h) => `<th scope="col"${h.startsWith('#') ? ' class="num"' : ''}>${esc(h.replace(/^#/, ''))}</th>`).join('');
  const body =
    rows.length === 0
      ? `<p class="muted">${esc(empty)}</p>`
      : `<div class="scroll"><table><thead><tr>${th}</tr></thead><tbody>${rows.map((r) => `<tr>${r.join('')}</tr>`).join('')}</tbody></table></div>`;
  return `<section class="wide" aria-labelledby="${id}"><h2 id="${id}">${esc(caption)}</h2>${body}</section>`;
}

const td = (text: string, num = false): string => `<td${num ? ' class="num"' : ''}>${esc(text)}</td>`;

const LEDGER_KINDS: Record<LedgerLine['kind'], string> = { usage: 'Usage', payment: 'Payment', plan_purchase: 'Plan purchase', adjustment: 'Adjustment' };

function lists(view: AccountPageView): string {
  const allocations = table(
    'Your VMs',
    'vms-h',
    ['VM', 'Plan', 'Status', 'Expires', '#Audit cost'],
    view.allocations.map((a) => [
      td(`#${a.slot} (plan ${a.plan_seq})`),
      td(a.plan_id),
      td(a.status),
      td(when(a.expires_at.getTime())),
      td(a.audit_cost_micros === null ? '—' : formatUsd(a.audit_cost_micros), true),
    ]),
    'No VMs allocated yet.',
  );
  const ledger = table(
    'Recent balance changes',
    'ledger-h',
    ['When', 'What', '#Amount', '#Balance after'],
    view.ledger.map((l) => [
      td(when(l.at.getTime())),
      td(
        `${LEDGER_KINDS[l.kind]}${l.plan_id ? ` (${l.plan_id})` : ''}${l.reason !== undefined ? `: ${l.reason}` : ''}${l.records !== undefined ? ` · ${l.records} records` : ''}${l.folded ? '' : ' · processing'}`,
      ),
      td(formatUsd(l.amount_micros), true),
      td(l.balance_after === null ? '—' : formatUsd(l.balance_after), true),
    ]),
    'No balance changes yet.',
  );
  const events = table(
    'Balance alerts',
    'events-h',
    ['When', 'Alert', '#Balance'],
    view.events.map((e) => [td(when(e.at.getTime())), td(e.type === 'depleted' ? 'Balance used up' : 'Low balance'), td(formatUsd(e.balance_micros), true)]),
    'No low-balance alerts.',
  );
  return allocations + ledger + events;
}

/** The signed-in account page: balance and tier, plan selector or quota panel, VMs, ledger, alerts. */
export function renderAccountPage(view: AccountPageView): string {
  const header = `<h1>tally · account <span data-testid="account-id">${esc(view.accountId)}</span></h1>
<form method="post" action="/account/logout"><button type="submit" class="plain">Sign out</button></form>`;
  const acc = view.account;
  const active = acc !== null && acc.current_plan_id !== null && isPlanActive(acc.vm_quota_period_end?.getTime() ?? null, view.now);
  const body =
    bannerHtml(view.banner) +
    balanceSection(view) +
    usageSection(view.usage) +
    (active && acc ? quotaPanel(acc, view.now) : planButtons(view.plans)) +
    lists(view);
  return layout(`Account ${view.accountId} · tally`, header, body, USAGE_CHART);
}

/** The usage chart's files (served with the operator's assets, public). */
const USAGE_CHART = { scripts: ['/ops/assets/uPlot.iife.min.js', '/ops/assets/usageChart.js'], styles: ['/ops/assets/uPlot.min.css'] };

/** The sign-in form: one field, the account key. */
export function renderLoginPage(banner: Banner | null): string {
  const body = `${bannerHtml(banner)}<section class="wide" aria-labelledby="login-h"><h2 id="login-h">Sign in to your account</h2>
<form method="post" action="/account/login"><label for="key">Account key</label>
<input id="key" name="key" type="password" autocomplete="current-password" required spellcheck="false" placeholder="tk_…">
<button type="submit">Sign in</button></form>
<p class="muted">Your operator gives you an account key (it starts with tk_). It is shown only once, so keep it safe.</p></section>`;
  return layout('Sign in · tally', '<h1>tally · account</h1>', body);
}

/** A page for failures that have no better place (the store or Redis down). */
export function renderErrorPage(banner: Banner): string {
  return layout('tally', '<h1>tally · account</h1>', `${bannerHtml(banner)}<section class="wide"><a href="/account">Back to your account</a></section>`);
}
