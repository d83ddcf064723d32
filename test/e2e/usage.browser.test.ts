import { describe, expect, it } from 'vitest';
import { HOUR_MS } from '../../shared/domain/index.js';
import { ADMIN_TOKEN, call } from '../support/api.js';
import { screenshot } from '../support/browser.js';
import { useBrowserStack } from '../support/browserStack.js';
import { usage } from '../support/records.js';
import { publishAll, type RecordedLine } from '../support/stream.js';

const KINDS = [
  { kind: 'vm_hour', applies_to: 'vm', quantity: 2 },
  { kind: 'llm_token', applies_to: 'llm', quantity: 400_000 },
  { kind: 'hero_os_hour', applies_to: 'hero_os_hourly', quantity: 3 },
];

/**
 * Issue 29 in Chromium: the account page's bar chart of the last 30 days' charges by kind
 * and the operator dashboard's charges per hour by kind over the last 48 hours, each drawn
 * from the same rows the usage route answers. Screenshots in test/artifacts/usage-*.png.
 */
describe('usage charts in a browser', () => {
  const now = Date.now();
  const ui = useBrowserStack({
    env: { SHARDS: '4' },
    viewport: { width: 1100, height: 900 },
    async seed({ p }) {
      const lines: RecordedLine[] = [];
      // Three accounts; one record of some kind every 7 hours over 29 days, more in the last two.
      for (let i = 0; i < 400; i++) {
        const account = `chart-${i % 3}`;
        const at = i < 100 ? now - i * 7 * HOUR_MS : now - ((i * 37) % 47) * HOUR_MS - (i % 50) * 60_000;
        lines.push({ subject: `usage.${account}`, payload: JSON.stringify(usage(`c${i}`, account, KINDS[Math.floor(i / 3) % 3], new Date(at))) });
      }
      await publishAll(p.bus.js, lines);
      await p.drained();
    },
  });

  const sum = (rows: { charged_micros: number | string }[]): number => rows.reduce((n, r) => n + Number(r.charged_micros), 0);

  it("the account page shows the last 30 days' charges by kind under the balance, as the usage route answers", async () => {
    const key = (await call(ui.api.url, 'POST', '/v1/admin/accounts/chart-0/keys')).body.key as string;
    const answer = (await call(ui.api.url, 'GET', '/v1/accounts/chart-0/usage?group_by=kind', { token: key })).body as {
      rows: { kind: string; charged_micros: number }[];
    };
    expect(answer.rows.length).toBeGreaterThan(10);
    await ui.page.goto(`${ui.api.url}/account/login`);
    await ui.page.fill('#key', key);
    await Promise.all([ui.page.waitForURL(`${ui.api.url}/account`), ui.page.keyboard.press('Enter')]);
    const figure = ui.page.locator('#usage-figure');
    await expect.poll(() => figure.getAttribute('data-total-micros'), { timeout: 15_000 }).toBe(String(sum(answer.rows)));
    expect(await figure.getAttribute('data-windows')).toBe('30');
    expect((await figure.getAttribute('data-kinds'))?.split(',').sort()).toEqual([...new Set(answer.rows.map((r) => r.kind))].sort());
    expect(await ui.page.locator('#usage-chart canvas').count()).toBe(1);
    // Under the balance: the sections in page order.
    expect(await ui.page.locator('main > section h2').allInnerTexts()).toEqual(expect.arrayContaining(['Balance', 'Charges, last 30 days']));
    const headings = await ui.page.locator('main > section h2').allInnerTexts();
    expect(headings.indexOf('Charges, last 30 days')).toBe(headings.indexOf('Balance') + 1);
    await screenshot(ui.page, 'usage-01-account-chart');
  });

  it('the operator dashboard shows charges per hour by kind across all accounts, last 48 hours', async () => {
    const to = now - (now % HOUR_MS) + HOUR_MS;
    const range = `window=hour&from=${new Date(to - 48 * HOUR_MS).toISOString()}&to=${new Date(to).toISOString()}`;
    let expected = 0;
    for (const account of ['chart-0', 'chart-1', 'chart-2'])
      expected += sum((await call(ui.api.url, 'GET', `/v1/accounts/${account}/usage?${range}`)).body.rows);
    expect(expected).toBeGreaterThan(0);
    await ui.page.goto(`${ui.api.url}/login?next=%2F`);
    await ui.page.getByLabel('Admin token').fill(ADMIN_TOKEN);
    await Promise.all([ui.page.waitForURL(`${ui.api.url}/`), ui.page.keyboard.press('Enter')]);
    const figure = ui.page.locator('#usage-figure');
    await expect.poll(() => figure.getAttribute('data-total-micros'), { timeout: 20_000 }).toBe(String(expected));
    expect(await figure.getAttribute('data-windows')).toBe('48');
    expect(await figure.getAttribute('data-kinds')).toBe('vm_hour,llm_token,hero_os_hour');
    expect(await ui.page.locator('#usage [data-status]').isHidden()).toBe(true);
    await ui.page.locator('#usage').scrollIntoViewIfNeeded();
    await screenshot(ui.page, 'usage-02-operator-chart', { fullPage: false });
  });
});
