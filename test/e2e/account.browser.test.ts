import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DAY_MS } from '../../shared/domain/index.js';
import { launchBrowser, screenshot } from '../support/browser.js';
import { apiEnv, call, configOf, pay, startStack } from '../support/api.js';

/**
 * The account page in Debian's Chromium (playwright-core): what an account holder sees in
 * each state, driven with the keyboard where a person would, screenshots under test/artifacts/.
 */
describe('account page in a browser', () => {
  const servers = inject('servers');
  let stack: Awaited<ReturnType<typeof startStack>>;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const paidAt = Date.now();
  const keys: Record<string, string> = {};

  const banner = (p: Page) => p.locator('.banner');
  const expectBanner = async (p: Page, code: string, words: RegExp) => {
    await expect.poll(() => banner(p).getAttribute('data-code')).toBe(code);
    expect(await banner(p).innerText()).toMatch(words);
  };
  const signIn = async (p: Page, key: string) => {
    await p.goto(`${stack.url}/account`);
    expect(new URL(p.url()).pathname).toBe('/account/login');
    await p.focus('#key');
    await p.keyboard.type(key);
    await p.keyboard.press('Enter');
    await p.waitForURL(`${stack.url}/account`);
  };
  const press = async (p: Page, selector: string) => {
    // Keyboard, not mouse: the page's actions are real buttons reachable by focus.
    await p.focus(selector);
    await Promise.all([p.waitForNavigation(), p.keyboard.press('Enter')]);
  };

  beforeAll(async () => {
    const env = apiEnv(servers);
    stack = await startStack(configOf(servers, env), servers);
    for (const [account, micros] of [
      ['acct-web', 25_000_000],
      ['acct-poor', 1_000_000],
    ] as const) {
      expect(
        (await pay(stack.url, { payment_id: `p1-${account}`, account_id: account, amount_micros: micros, paid_at: new Date(paidAt).toISOString() })).status,
      ).toBe(200);
      keys[account] = (await call(stack.url, 'POST', `/v1/admin/accounts/${account}/keys`)).body.key;
    }
    browser = await launchBrowser();
    context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
    page = await context.newPage();
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it('signs in with a key (a wrong key is refused in words) and shows the plan buttons while no plan is active', async () => {
    await page.goto(`${stack.url}/account/login`);
    await page.fill('#key', 'tk_0123456789abcdef_not-a-real-key-at-all-xxxxxxxxxxxxxxxxxxx');
    await press(page, 'button[type=submit]');
    await expectBanner(page, 'unauthorized', /key was not accepted/);
    await screenshot(page, 'account-01-sign-in-refused');
    await signIn(page, keys['acct-web']!);
    // Our own script files (the usage chart) and its JSON data block only: nothing inline runs.
    expect(await page.locator('script:not([src]):not([type="application/json"])').count()).toBe(0);
    expect(await page.getByTestId('balance').innerText()).toBe('$25.00');
    expect(await page.getByTestId('tier').innerText()).toBe('No discount');
    expect(await page.getByTestId('next-tier').innerText()).toContain(`Week tier · 50% off from ${new Date(paidAt + 7 * DAY_MS).toISOString().slice(0, 10)}`);
    expect(await page.locator('button[data-plan]').allInnerTexts()).toEqual(['Buy basic · $10.00\n5 VMs for 30 days', 'Buy pro · $20.00\n10 VMs for 30 days']);
    await screenshot(page, 'account-02-no-plan');
  });

  it('buys a plan, allocates VMs up to the quota, then shows quota_exhausted; a stale tab buying again sees plan_active', async () => {
    const staleTab = await context.newPage();
    await staleTab.goto(`${stack.url}/account`);
    await press(page, 'button[data-plan=basic]');
    await expectBanner(page, 'plan_purchased', /Plan purchased/);
    expect(await page.getByTestId('quota-used').innerText()).toBe('0 / 5');
    expect(await page.getByTestId('days-left').innerText()).toBe('30');
    expect(await page.getByTestId('balance').innerText()).toBe('$15.00');
    await screenshot(page, 'account-03-plan-purchased');
    for (let i = 1; i <= 5; i++) {
      await press(page, '[data-testid=allocate]');
      await expectBanner(page, 'vm_allocated', /VM allocated/);
      expect(await page.getByTestId('quota-used').innerText()).toBe(`${i} / 5`);
    }
    expect(await page.locator('section[aria-labelledby=vms-h] tbody tr').count()).toBe(5);
    await screenshot(page, 'account-04-quota-used-up');
    await press(page, '[data-testid=allocate]');
    await expectBanner(page, 'quota_exhausted', /allocated every VM your plan includes/);
    await screenshot(page, 'account-05-quota-exhausted');
    await press(staleTab, 'button[data-plan=pro]');
    await expectBanner(staleTab, 'plan_active', /already have an active plan/);
    expect(await staleTab.getByTestId('balance').innerText()).toBe('$15.00');
    await screenshot(staleTab, 'account-06-plan-active');
    await staleTab.close();
  });

  it('after a payment and a ladder tick (injected clock, 8 days on) the tier label reads week', async () => {
    expect(
      (await pay(stack.url, { payment_id: 'p2-acct-web', account_id: 'acct-web', amount_micros: 5_000_000, paid_at: new Date().toISOString() })).status,
    ).toBe(200);
    const tick = await call(stack.url, 'POST', '/v1/admin/ladder-tick', { body: { now: new Date(paidAt + 8 * DAY_MS).toISOString() } });
    expect(tick.body).toMatchObject({ complete: true, tier_changes: 2 });
    await page.goto(`${stack.url}/account`);
    expect(await page.getByTestId('tier').innerText()).toBe('Week tier · 50% off');
    expect(await page.getByTestId('next-tier').innerText()).toContain(`Month tier · 75% off from ${new Date(paidAt + 30 * DAY_MS).toISOString().slice(0, 10)}`);
    expect(await page.getByTestId('balance').innerText()).toBe('$20.00');
    await screenshot(page, 'account-07-week-tier');
    await page.setViewportSize({ width: 390, height: 844 });
    await page.reload();
    // Phone width: nothing wider than the screen (tables scroll inside their card).
    // A string, so the test's tsconfig needs no DOM types.
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    await screenshot(page, 'account-08-phone');
    await press(page, 'header button');
    await expectBanner(page, 'signed_out', /signed out/);
    await page.goto(`${stack.url}/account`);
    expect(new URL(page.url()).pathname).toBe('/account/login');
  });

  it('an account whose balance does not cover the price sees insufficient_balance', async () => {
    const poor = await browser.newContext({ viewport: { width: 1100, height: 900 } });
    const p = await poor.newPage();
    await signIn(p, keys['acct-poor']!);
    await press(p, 'button[data-plan=basic]');
    await expectBanner(p, 'insufficient_balance', /balance does not cover/);
    expect(await p.locator('button[data-plan]').count()).toBe(2);
    await screenshot(p, 'account-09-insufficient-balance');
    await poor.close();
  });
});
