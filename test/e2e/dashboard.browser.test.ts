import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, type RunningApi } from '../../services/api/index.js';
import { ADMIN_TOKEN, WEBHOOK_SECRET, call, pay } from '../support/api.js';
import { launchBrowser, screenshot } from '../support/browser.js';
import { probe, startPipeline, testConfig, type Probe, type Started } from '../support/pipeline.js';
import { badMessages } from '../support/records.js';
import { startTestServers, testLogger, type TestServers } from '../support/servers.js';
import { makeStream, publishAll } from '../support/stream.js';

/**
 * The operator dashboard and bull-board in Debian's Chromium, against bridge, worker and
 * API in this process (as `tally up` runs them) on a private set of servers. Screenshots
 * of each step land in test/artifacts/dashboard-*.png.
 */
describe('operator dashboard in a browser', () => {
  let servers: TestServers;
  let p: Probe;
  let pipeline: Started<typeof startPipeline>;
  let api: RunningApi;
  let browser: Browser;
  let page: Page;
  const consoleErrors: string[] = [];

  const balanceOf = (account: string) => page.locator(`#accounts-table tr[data-account="${account}"] td.balance`);
  const peakCharged = async () => Number((await page.locator('#rate-figure').getAttribute('data-peak-charged')) ?? 0);

  beforeAll(async () => {
    servers = await startTestServers();
    const config = testConfig(servers, { ADMIN_TOKEN, WEBHOOK_SECRET });
    p = await probe(config, servers);
    pipeline = await startPipeline(config, servers);
    api = await startApi({ ...config, httpPort: 0 }, servers, testLogger());
    browser = await launchBrowser();
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    // A blocked script or style (CSP) or a failing request shows up here, not as a silent blank panel.
    page.on('console', (msg) => {
      if (msg.type() === 'error') consoleErrors.push(msg.text());
    });
  });
  afterAll(async () => {
    await browser?.close();
    await api?.stop();
    await pipeline?.stop();
    await p?.close();
    await servers?.stop();
  });

  it('answers 401 without the token, with a link to sign in', async () => {
    const dashboard = await page.goto(`${api.url}/`);
    expect(dashboard?.status()).toBe(401);
    await expect.poll(() => page.locator('h1').innerText()).toBe('Sign in required');
    await screenshot(page, 'dashboard-01-unauthorized');
    expect((await page.goto(`${api.url}/admin/queues`))?.status()).toBe(401);
    expect((await page.request.get(`${api.url}/v1/admin/dashboard/overview`)).status()).toBe(401);
  });

  it('signs in with the form (a wrong token is refused in words) and shows empty states, not blanks', async () => {
    await page.goto(`${api.url}/`);
    await Promise.all([page.waitForURL(/\/login\?next=%2F$/), page.getByRole('link', { name: 'Sign in with the admin token' }).click()]);
    await page.getByLabel('Admin token').fill('not-the-admin-token-at-all');
    await Promise.all([page.waitForLoadState(), page.keyboard.press('Enter')]);
    await expect.poll(() => page.getByRole('alert').innerText()).toContain('That is not the admin token.');
    await screenshot(page, 'dashboard-02-sign-in-refused');

    await page.getByLabel('Admin token').fill(ADMIN_TOKEN);
    await Promise.all([page.waitForURL(`${api.url}/`), page.keyboard.press('Enter')]);
    await expect.poll(() => page.locator('#accounts-table td.empty').innerText()).toMatch(/No accounts yet/);
    await expect.poll(() => page.locator('#dead-codes-table td.empty').innerText()).toMatch(/No dead letters/);
    await expect.poll(() => page.locator('#ticks-table td.empty').innerText()).toMatch(/No ladder ticks/);
    expect(await page.locator('#tile-lag').innerText()).toBe('0');
    await screenshot(page, 'dashboard-03-empty');
  });

  it('shows a stream being charged: the balance of an account falls and the charge-rate chart rises', async () => {
    // An account with a plan, a VM and a tick behind it, so every panel has something to show.
    expect((await pay(api.url, { payment_id: 'pay-dash-1', account_id: 'acct-0', amount_micros: 25_000_000, paid_at: new Date().toISOString() })).status).toBe(
      200,
    );
    expect((await call(api.url, 'POST', '/v1/accounts/acct-0/plan', { body: { plan_id: 'basic' } })).status).toBe(201);
    expect((await call(api.url, 'POST', '/v1/accounts/acct-0/vms')).status).toBe(201);
    expect((await call(api.url, 'POST', '/v1/admin/ladder-tick', { body: {} })).status).toBe(200);
    await page.getByLabel('Search accounts').fill('acct-0');
    await expect.poll(() => balanceOf('acct-0').innerText(), { timeout: 20_000 }).toBe('$15.00');
    expect(await page.locator('#accounts-table tr[data-account="acct-0"]').innerText()).toMatch(/basic\s+1 \/ 5/);
    expect(await peakCharged()).toBe(0);

    // A small replay spread over a few seconds, so the chart has several samples to draw.
    const lines = makeStream(1500, 10, 'dash');
    for (let i = 0; i < lines.length; i += 300) {
      await publishAll(p.bus.js, lines.slice(i, i + 300));
      await new Promise((r) => setTimeout(r, 700));
    }
    for (const [, subject, payload] of badMessages(new Date())) await p.bus.js.publish(subject, payload);
    await p.drained();

    await expect.poll(peakCharged, { timeout: 30_000 }).toBeGreaterThan(0);
    await expect.poll(() => balanceOf('acct-0').innerText(), { timeout: 30_000 }).not.toBe('$15.00');
    const after = await balanceOf('acct-0').innerText();
    expect(after).toMatch(/^\$\d/);
    expect(await page.locator('#rate-summary').innerText()).toMatch(/charged \d[\d,.]*\/s/);
    await page.getByLabel('Search accounts').fill('');
    await expect.poll(() => page.locator('#accounts-table tbody tr').count(), { timeout: 15_000 }).toBe(10);
    await expect.poll(() => page.locator('#dead-codes-table tbody tr').count(), { timeout: 15_000 }).toBe(badMessages(new Date()).length);
    await expect.poll(() => page.locator('#allocations-table').innerText(), { timeout: 15_000 }).toContain('vm:acct-0:1:1');
    await expect.poll(() => page.locator('#ticks-table').innerText(), { timeout: 15_000 }).toContain('admin');
    await screenshot(page, 'dashboard-04-after-replay');
  });

  it('opens a dead letter and shows its original payload', async () => {
    await page.getByLabel('Show code').selectOption('malformed_json');
    await expect.poll(() => page.locator('#dead-table tbody tr[data-seq]').count(), { timeout: 15_000 }).toBe(1);
    await page
      .getByRole('button', { name: /^View dead letter/ })
      .first()
      .click();
    const dialog = page.getByRole('dialog');
    await expect.poll(() => dialog.isVisible()).toBe(true);
    await expect.poll(() => page.locator('#dead-viewer-payload').innerText()).toBe('{"id": "x1", ');
    expect(await page.locator('#dead-viewer-meta').innerText()).toContain('malformed_json');
    await screenshot(page, 'dashboard-05-dead-letter', { fullPage: false });
    await page.keyboard.press('Escape');
    await expect.poll(() => dialog.isVisible()).toBe(false);
    // Our pages only (bull-board fetches web fonts of its own): the 401 pages log their status.
    expect(consoleErrors.filter((e) => !/status of 401/.test(e))).toEqual([]);
  });

  it('opens bull-board with every queue, then signs out', async () => {
    await Promise.all([page.waitForURL(`${api.url}/admin/queues`), page.getByRole('link', { name: 'Queues (bull-board)' }).click()]);
    await expect.poll(() => page.getByText('tally-shard-0', { exact: true }).first().isVisible(), { timeout: 20_000 }).toBe(true);
    expect(await page.content()).toContain('tally-scheduler');
    await screenshot(page, 'dashboard-06-bull-board');

    await page.goto(`${api.url}/`);
    await Promise.all([page.waitForURL(/\/login$/), page.getByRole('button', { name: 'Sign out' }).click()]);
    expect((await page.goto(`${api.url}/`))?.status()).toBe(401);
  });
});
