import { beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, WEBHOOK_SECRET, call, pay } from '../support/api.js';
import { screenshot } from '../support/browser.js';
import { useBrowserStack } from '../support/browserStack.js';
import { badMessages } from '../support/records.js';
import { makeStream, publishAll } from '../support/stream.js';

/**
 * The operator dashboard and bull-board in Debian's Chromium, against bridge, worker and
 * API in this process (as `tally up` runs them) on a private set of servers. Screenshots
 * of each step land in test/artifacts/dashboard-*.png.
 */
describe('operator dashboard in a browser', () => {
  const consoleErrors: string[] = [];
  const ui = useBrowserStack();
  beforeAll(() => {
    // A blocked script or style (CSP) or a failing request shows up here, not as a silent blank panel.
    ui.page.on('console', (msg) => {
      if (msg.type() === 'error') consoleErrors.push(msg.text());
    });
  });

  const balanceOf = (account: string) => ui.page.locator(`#accounts-table tr[data-account="${account}"] td.balance`);
  const peakCharged = async () => Number((await ui.page.locator('#rate-figure').getAttribute('data-peak-charged')) ?? 0);

  it('answers 401 without the token, with a link to sign in', async () => {
    const dashboard = await ui.page.goto(`${ui.api.url}/`);
    expect(dashboard?.status()).toBe(401);
    await expect.poll(() => ui.page.locator('h1').innerText()).toBe('Sign in required');
    await screenshot(ui.page, 'dashboard-01-unauthorized');
    expect((await ui.page.goto(`${ui.api.url}/admin/queues`))?.status()).toBe(401);
    expect((await ui.page.request.get(`${ui.api.url}/v1/admin/dashboard/overview`)).status()).toBe(401);
  });

  it('signs in with the form (a wrong token is refused in words) and shows empty states, not blanks', async () => {
    await ui.page.goto(`${ui.api.url}/`);
    await Promise.all([ui.page.waitForURL(/\/login\?next=%2F$/), ui.page.getByRole('link', { name: 'Sign in with the admin token' }).click()]);
    await ui.page.getByLabel('Admin token').fill('not-the-admin-token-at-all');
    await Promise.all([ui.page.waitForLoadState(), ui.page.keyboard.press('Enter')]);
    await expect.poll(() => ui.page.getByRole('alert').innerText()).toContain('That is not the admin token.');
    await screenshot(ui.page, 'dashboard-02-sign-in-refused');

    await ui.page.getByLabel('Admin token').fill(ADMIN_TOKEN);
    await Promise.all([ui.page.waitForURL(`${ui.api.url}/`), ui.page.keyboard.press('Enter')]);
    await expect.poll(() => ui.page.locator('#accounts-table td.empty').innerText()).toMatch(/No accounts yet/);
    await expect.poll(() => ui.page.locator('#dead-codes-table td.empty').innerText()).toMatch(/No dead letters/);
    await expect.poll(() => ui.page.locator('#ticks-table td.empty').innerText()).toMatch(/No ladder ticks/);
    expect(await ui.page.locator('#tile-lag').innerText()).toBe('0');
    await screenshot(ui.page, 'dashboard-03-empty');
  });

  it('shows a stream being charged: the balance of an account falls and the charge-rate chart rises', async () => {
    // An account with a plan, a VM and a tick behind it, so every panel has something to show.
    expect(
      (await pay(ui.api.url, { payment_id: 'pay-dash-1', account_id: 'acct-0', amount_micros: 25_000_000, paid_at: new Date().toISOString() })).status,
    ).toBe(200);
    expect((await call(ui.api.url, 'POST', '/v1/accounts/acct-0/plan', { body: { plan_id: 'basic' } })).status).toBe(201);
    expect((await call(ui.api.url, 'POST', '/v1/accounts/acct-0/vms')).status).toBe(201);
    expect((await call(ui.api.url, 'POST', '/v1/admin/ladder-tick', { body: {} })).status).toBe(200);
    await ui.page.getByLabel('Search accounts').fill('acct-0');
    await expect.poll(() => balanceOf('acct-0').innerText(), { timeout: 20_000 }).toBe('$15.00');
    expect(await ui.page.locator('#accounts-table tr[data-account="acct-0"]').innerText()).toMatch(/basic\s+1 \/ 5/);
    expect(await peakCharged()).toBe(0);

    // A small replay spread over a few seconds, so the chart has several samples to draw.
    const lines = makeStream(1500, 10, 'dash');
    for (let i = 0; i < lines.length; i += 300) {
      await publishAll(ui.p.bus.js, lines.slice(i, i + 300));
      await new Promise((r) => setTimeout(r, 700));
    }
    for (const [, subject, payload] of badMessages(new Date())) await ui.p.bus.js.publish(subject, payload);
    await ui.p.drained();

    await expect.poll(peakCharged, { timeout: 30_000 }).toBeGreaterThan(0);
    await expect.poll(() => balanceOf('acct-0').innerText(), { timeout: 30_000 }).not.toBe('$15.00');
    const after = await balanceOf('acct-0').innerText();
    expect(after).toMatch(/^\$\d/);
    expect(await ui.page.locator('#rate-summary').innerText()).toMatch(/charged \d[\d,.]*\/s/);
    await ui.page.getByLabel('Search accounts').fill('');
    await expect.poll(() => ui.page.locator('#accounts-table tbody tr').count(), { timeout: 15_000 }).toBe(10);
    await expect.poll(() => ui.page.locator('#dead-codes-table tbody tr').count(), { timeout: 15_000 }).toBe(badMessages(new Date()).length);
    await expect.poll(() => ui.page.locator('#allocations-table').innerText(), { timeout: 15_000 }).toContain('vm:acct-0:1:1');
    await expect.poll(() => ui.page.locator('#ticks-table').innerText(), { timeout: 15_000 }).toContain('admin');
    await screenshot(ui.page, 'dashboard-04-after-replay');
  });

  it('opens a dead letter and shows its original payload', async () => {
    await ui.page.getByLabel('Show code').selectOption('malformed_json');
    await expect.poll(() => ui.page.locator('#dead-table tbody tr[data-seq]').count(), { timeout: 15_000 }).toBe(1);
    await ui.page
      .getByRole('button', { name: /^View dead letter/ })
      .first()
      .click();
    const dialog = ui.page.getByRole('dialog');
    await expect.poll(() => dialog.isVisible()).toBe(true);
    await expect.poll(() => ui.page.locator('#dead-viewer-payload').innerText()).toBe('{"id": "x1", ');
    expect(await ui.page.locator('#dead-viewer-meta').innerText()).toContain('malformed_json');
    await screenshot(ui.page, 'dashboard-05-dead-letter', { fullPage: false });
    await ui.page.keyboard.press('Escape');
    await expect.poll(() => dialog.isVisible()).toBe(false);
    // Our pages only (bull-board fetches web fonts of its own): the 401 pages log their status.
    expect(consoleErrors.filter((e) => !/status of 401/.test(e))).toEqual([]);
  });

  it('opens bull-board with every queue, then signs out', async () => {
    await Promise.all([ui.page.waitForURL(`${ui.api.url}/admin/queues`), ui.page.getByRole('link', { name: 'Queues (bull-board)' }).click()]);
    await expect.poll(() => ui.page.getByText('tally-shard-0', { exact: true }).first().isVisible(), { timeout: 20_000 }).toBe(true);
    expect(await ui.page.content()).toContain('tally-scheduler');
    await screenshot(ui.page, 'dashboard-06-bull-board');

    await ui.page.goto(`${ui.api.url}/`);
    await Promise.all([ui.page.waitForURL(/\/login$/), ui.page.getByRole('button', { name: 'Sign out' }).click()]);
    expect((await ui.page.goto(`${ui.api.url}/`))?.status()).toBe(401);
  });
});
