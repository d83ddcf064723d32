import { describe, expect, it } from 'vitest';
import { formatUsd } from '../../shared/domain/index.js';
import { ADMIN_TOKEN } from '../support/api.js';
import { screenshot } from '../support/browser.js';
import { useBrowserStack } from '../support/browserStack.js';
import { startPipeline } from '../support/pipeline.js';
import { usage } from '../support/records.js';
import { WITHOUT_LLM_PRICE } from '../support/redrive.js';
import { expectedBalances, makeStream, publishAll, servedState } from '../support/stream.js';

/**
 * Issue 20 in Chromium: records dead-lettered `unpriced`, the services restarted with the
 * price; the operator filters the dead letters by code, previews the re-drive, confirms it
 * and reads the result. Screenshots in test/artifacts/redrive-*.png.
 */
describe('dead-letter re-drive on the operator dashboard', () => {
  const lines = makeStream(120, 6, 'b');
  const unpriced = lines.filter((l) => l.payload.includes('llm_token')).length;
  const ui = useBrowserStack({
    env: { PRICE_BOOK_JSON: WITHOUT_LLM_PRICE },
    // A first pipeline without the llm price dead-letters those records `unpriced`; the
    // services then run with the price.
    async prepare({ config, servers, p }) {
      const before = await startPipeline(config, servers);
      await publishAll(p.bus.js, [...lines, { subject: 'usage.acct-0', payload: JSON.stringify(usage('b-wrong', 'acct-0', { applies_to: 'gpu' })) }]);
      await p.drained();
      await before.stop();
      return {};
    },
  });

  it('the rate chart spans the last 10 minutes, ending now', async () => {
    await ui.page.goto(`${ui.api.url}/login?next=%2F`);
    await ui.page.getByLabel('Admin token').fill(ADMIN_TOKEN);
    await Promise.all([ui.page.waitForURL(`${ui.api.url}/`), ui.page.keyboard.press('Enter')]);
    const figure = ui.page.locator('#rate-figure');
    await expect.poll(async () => Number(await figure.getAttribute('data-x-max')), { timeout: 20_000 }).toBeGreaterThan(0);
    const [min, max] = [Number(await figure.getAttribute('data-x-min')), Number(await figure.getAttribute('data-x-max'))];
    expect(max - min).toBe(600);
    // The window ends at the server's last poll: within seconds of now, never minutes past it.
    expect(Math.abs(max - Date.now() / 1000)).toBeLessThan(30);
  });

  it('filters by code, previews, confirms and shows the result', async () => {
    await ui.page.getByLabel('Show code').selectOption('unpriced');
    await expect.poll(() => ui.page.locator('#dead-table tbody tr[data-seq]').count(), { timeout: 15_000 }).toBe(Math.min(unpriced, 50));
    await expect.poll(() => ui.page.locator('#dead-days-table tbody tr').count(), { timeout: 15_000 }).toBe(1);

    const expected = expectedBalances(
      ui.config,
      lines.filter((l) => l.payload.includes('llm_token')),
    );
    const total = -[...expected.balances.values()].reduce((s, b) => s + b, 0n);
    await ui.page.getByRole('button', { name: 'Preview re-drive' }).click();
    const preview = ui.page.locator('#redrive-preview-text');
    await expect.poll(() => preview.innerText(), { timeout: 30_000 }).toContain(`${unpriced} would be charged for ${formatUsd(total)}`);
    expect(await preview.innerText()).toContain('Preview (code unpriced)');
    await screenshot(ui.page, 'redrive-01-preview');

    await ui.page.getByRole('button', { name: 'Confirm re-drive' }).click();
    const result = ui.page.locator('#redrive-result');
    await expect.poll(() => result.innerText(), { timeout: 60_000 }).toMatch(/^Run rd-[0-9a-z]+-[0-9a-f]+: /);
    expect(await result.innerText()).toContain(`: ${unpriced} selected; ${unpriced} charged for ${formatUsd(total)}; 0 already charged; nothing stays dead.`);
    await screenshot(ui.page, 'redrive-02-result');

    // Once more, every code: nothing is charged twice; the record still wrong stays dead.
    await ui.page.getByLabel('Show code').selectOption('');
    await ui.page.getByRole('button', { name: 'Preview re-drive' }).click();
    await expect
      .poll(() => preview.innerText(), { timeout: 30_000 })
      .toContain(`0 would be charged for $0.00; ${unpriced} already charged; stays dead: invalid_applies_to 1.`);
    expect(await ui.page.getByRole('button', { name: 'Confirm re-drive' }).isDisabled()).toBe(true);
    await screenshot(ui.page, 'redrive-03-nothing-left');

    const served = await servedState(ui.config, ui.servers, ui.p.mongo.db);
    expect(served.balances).toEqual(expectedBalances(ui.config, lines).balances);
  }, 120_000);
});
