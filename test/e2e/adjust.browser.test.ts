import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, call, pay, useApiStack } from '../support/api.js';
import { launchBrowser, screenshot } from '../support/browser.js';

/**
 * Issue 31 in Chromium: the operator adjusts a balance from the account's row (review, then
 * confirm), and the account holder's page shows the adjustment with its reason.
 * Screenshots in test/artifacts/adjust-*.png.
 */
describe('balance adjustments on the operator dashboard', () => {
  const ctx = useApiStack();
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    browser = await launchBrowser();
    page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
  });

  it("reviews, confirms, and the account's page lists the adjustment with its reason", async () => {
    await pay(ctx.stack.url, { payment_id: 'p-ui', account_id: 'acct-ui', amount_micros: 10_000_000, paid_at: '2026-01-01T00:00:00Z' });
    await page.goto(`${ctx.stack.url}/login?next=%2F`);
    await page.getByLabel('Admin token').fill(ADMIN_TOKEN);
    await Promise.all([page.waitForURL(`${ctx.stack.url}/`), page.keyboard.press('Enter')]);
    const adjust = page.getByRole('button', { name: 'Adjust the balance of acct-ui' });
    await expect.poll(() => adjust.count(), { timeout: 20_000 }).toBe(1);
    await adjust.click();
    await page.getByLabel('Amount (USD)').fill('-2.5');
    await page.getByLabel('Reason').fill('refund of a duplicate payment');
    await page.getByRole('button', { name: 'Review adjustment' }).click();
    expect(await page.locator('#adjust-preview-text').innerText()).toBe('Debit 2.5 USD from acct-ui: "refund of a duplicate payment".');
    expect((await call(ctx.stack.url, 'GET', '/v1/accounts/acct-ui')).body.balance_micros).toBe(10_000_000);
    await screenshot(page, 'adjust-01-review');
    await page.getByRole('button', { name: 'Confirm adjustment' }).click();
    const result = page.locator('#adjust-result');
    await expect
      .poll(() => result.innerText(), { timeout: 20_000 })
      .toMatch(/^Adjustment dash-[0-9a-f]{24}: -2500000 micros to acct-ui; balance now 7500000 micros\.$/);
    await screenshot(page, 'adjust-02-done');

    const key = (await call(ctx.stack.url, 'POST', '/v1/admin/accounts/acct-ui/keys')).body.key as string;
    const holder = await (await browser.newContext()).newPage();
    await holder.goto(`${ctx.stack.url}/account/login`);
    await holder.fill('#key', key);
    await Promise.all([holder.waitForURL(`${ctx.stack.url}/account`), holder.keyboard.press('Enter')]);
    await expect.poll(() => holder.locator('#ledger-h').locator('..').innerText(), { timeout: 20_000 }).toContain('Adjustment: refund of a duplicate payment');
    await screenshot(holder, 'adjust-03-account-page');
  }, 120_000);
});
