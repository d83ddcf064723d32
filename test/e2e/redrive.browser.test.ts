import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, type RunningApi } from '../../services/api/index.js';
import { formatUsd } from '../../shared/domain/index.js';
import { ADMIN_TOKEN, WEBHOOK_SECRET } from '../support/api.js';
import { launchBrowser, screenshot } from '../support/browser.js';
import { probe, startPipeline, testConfig, type Probe, type Started } from '../support/pipeline.js';
import { usage } from '../support/records.js';
import { WITHOUT_LLM_PRICE } from '../support/redrive.js';
import { startTestServers, testLogger, type TestServers } from '../support/servers.js';
import { expectedBalances, makeStream, publishAll, servedState } from '../support/stream.js';

/**
 * Issue 20 in Chromium: records dead-lettered `unpriced`, the services restarted with the
 * price; the operator filters the dead letters by code, previews the re-drive, confirms it
 * and reads the result. Screenshots in test/artifacts/redrive-*.png.
 */
describe('dead-letter re-drive on the operator dashboard', () => {
  let servers: TestServers;
  let p: Probe;
  let pipeline: Started<typeof startPipeline>;
  let api: RunningApi;
  let browser: Browser;
  let page: Page;
  let after: ReturnType<typeof testConfig>;
  const lines = makeStream(120, 6, 'b');
  const unpriced = lines.filter((l) => l.payload.includes('llm_token')).length;

  beforeAll(async () => {
    servers = await startTestServers();
    const before = testConfig(servers, { ADMIN_TOKEN, WEBHOOK_SECRET, PRICE_BOOK_JSON: WITHOUT_LLM_PRICE });
    p = await probe(before, servers);
    pipeline = await startPipeline(before, servers);
    await publishAll(p.bus.js, [...lines, { subject: 'usage.acct-0', payload: JSON.stringify(usage('b-wrong', 'acct-0', { applies_to: 'gpu' })) }]);
    await p.drained();
    await pipeline.stop();
    after = testConfig(servers, { ADMIN_TOKEN, WEBHOOK_SECRET, MONGO_DB: before.mongoDb });
    pipeline = await startPipeline(after, servers);
    api = await startApi({ ...after, httpPort: 0 }, servers, testLogger());
    browser = await launchBrowser();
    page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await api?.stop();
    await pipeline?.stop();
    await p?.close();
    await servers?.stop();
  });

  it('the rate chart spans the last 10 minutes, ending now', async () => {
    await page.goto(`${api.url}/login?next=%2F`);
    await page.getByLabel('Admin token').fill(ADMIN_TOKEN);
    await Promise.all([page.waitForURL(`${api.url}/`), page.keyboard.press('Enter')]);
    const figure = page.locator('#rate-figure');
    await expect.poll(async () => Number(await figure.getAttribute('data-x-max')), { timeout: 20_000 }).toBeGreaterThan(0);
    const [min, max] = [Number(await figure.getAttribute('data-x-min')), Number(await figure.getAttribute('data-x-max'))];
    expect(max - min).toBe(600);
    // The window ends at the server's last poll: within seconds of now, never minutes past it.
    expect(Math.abs(max - Date.now() / 1000)).toBeLessThan(30);
  });

  it('filters by code, previews, confirms and shows the result', async () => {
    await page.getByLabel('Show code').selectOption('unpriced');
    await expect.poll(() => page.locator('#dead-table tbody tr[data-seq]').count(), { timeout: 15_000 }).toBe(Math.min(unpriced, 50));
    await expect.poll(() => page.locator('#dead-days-table tbody tr').count(), { timeout: 15_000 }).toBe(1);

    const expected = expectedBalances(
      after,
      lines.filter((l) => l.payload.includes('llm_token')),
    );
    const total = -[...expected.balances.values()].reduce((s, b) => s + b, 0n);
    await page.getByRole('button', { name: 'Preview re-drive' }).click();
    const preview = page.locator('#redrive-preview-text');
    await expect.poll(() => preview.innerText(), { timeout: 30_000 }).toContain(`${unpriced} would be charged for ${formatUsd(total)}`);
    expect(await preview.innerText()).toContain('Preview (code unpriced)');
    await screenshot(page, 'redrive-01-preview');

    await page.getByRole('button', { name: 'Confirm re-drive' }).click();
    const result = page.locator('#redrive-result');
    await expect.poll(() => result.innerText(), { timeout: 60_000 }).toMatch(/^Run rd-[0-9a-z]+-[0-9a-f]+: /);
    expect(await result.innerText()).toContain(`: ${unpriced} selected; ${unpriced} charged for ${formatUsd(total)}; 0 already charged; nothing stays dead.`);
    await screenshot(page, 'redrive-02-result');

    // Once more, every code: nothing is charged twice; the record still wrong stays dead.
    await page.getByLabel('Show code').selectOption('');
    await page.getByRole('button', { name: 'Preview re-drive' }).click();
    await expect
      .poll(() => preview.innerText(), { timeout: 30_000 })
      .toContain(`0 would be charged for $0.00; ${unpriced} already charged; stays dead: invalid_applies_to 1.`);
    expect(await page.getByRole('button', { name: 'Confirm re-drive' }).isDisabled()).toBe(true);
    await screenshot(page, 'redrive-03-nothing-left');

    const served = await servedState(after, servers, p.mongo.db);
    expect(served.balances).toEqual(expectedBalances(after, lines).balances);
  }, 120_000);
});
