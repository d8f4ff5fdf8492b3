/**
 * The rules page of a gateway with many rules, in Chromium against the real service and nftables: a page of
 * rules at a time, a search, a switch that changes its own rule in place and nothing else, and a save that
 * comes back to the page holding the rule.
 */

import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, expect, it, vi } from 'vitest';
import type { ServiceHost } from '../../src/main/service-host.js';
import { portRule } from '../factories.js';
import { createGateway, type Gateway } from '../harness/gateway.js';
import { describeKernel } from '../harness/kernel-gate.js';
import { expectAccessible, shot } from '../harness/page-checks.js';

const CHROMIUM = '/usr/bin/chromium';
const RULES = 120;
// A browser, the service and nft on a shared, busy machine: generous limits, every wait is for a condition.
vi.setConfig({ testTimeout: 180_000, hookTimeout: 180_000 });

describeKernel('the rules page of a gateway with 120 rules, in Chromium', () => {
  let gw: Gateway;
  let host: ServiceHost;
  let browser: Browser;
  let page: Page;
  let url: string;

  const enabled = (name: string) => host.service.config.rules.find((r) => r.name === name)?.enabled;

  beforeAll(async () => {
    gw = await createGateway({
      prefix: 'ptrl',
      rules: Array.from({ length: RULES }, (_, i) =>
        portRule(`rule-${i}`, `udp ${10_000 + i}`, `udp ${30_000 + i}`, { idleTimeout: 60 }),
      ),
    });
    host = await gw.startHost();
    url = host.url!;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    page = await (await browser.newContext({ viewport: { width: 1100, height: 800 } })).newPage();
    page.setDefaultTimeout(60_000);
    await page.goto(`${url}/sign-in`);
    await page.getByLabel('API token').fill(gw.token());
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
  });

  afterAll(async () => {
    await browser?.close();
    await gw?.cleanup();
  });

  afterEach(async (ctx) => {
    if (ctx.task.result?.state === 'fail')
      await shot(page, `failed-${ctx.task.name.slice(0, 40).replace(/\W+/g, '-')}`);
  });

  it('shows a page of rules at a time, pages on, and finds a rule by its port', async () => {
    await page.goto(`${url}/rules`);
    await page.getByText(`Rules 1–50 of ${RULES}`).first().waitFor();
    expect(await page.getByRole('button', { name: /^Turn off rule-/ }).count()).toBe(50);
    await expectAccessible(page);
    await shot(page, 'rules-long');

    await page
      .getByRole('navigation', { name: 'Pages of rules' })
      .getByRole('link', { name: 'Next page' })
      .click();
    await page.getByText(`Rules 51–100 of ${RULES}`).waitFor();
    await page.getByRole('button', { name: 'Turn off rule-50', exact: true }).waitFor();
    expect(await page.getByRole('button', { name: 'Turn off rule-0', exact: true }).count()).toBe(0);

    await page.getByRole('searchbox', { name: 'Find a rule' }).fill('30077');
    await page.getByRole('button', { name: 'Find', exact: true }).click();
    await page.getByText(`Rules 1–1 of 1 that match “30077” (${RULES} in all)`).waitFor();
    expect(await page.getByRole('button', { name: /^Turn (off|on) rule-/ }).count()).toBe(1);
    await page.getByRole('button', { name: 'Turn off rule-77', exact: true }).waitFor();
    expect(new URL(page.url()).search).toBe('?q=30077');
    await expectAccessible(page);
  });

  it('switches one rule in place: one request, every other rule the same element, the search kept', async () => {
    await page.goto(`${url}/rules?q=rule-1`);
    await page.getByText('that match “rule-1”').waitFor();
    // Each item is marked: an item that was rendered again, or a list fetched again, loses its mark.
    const marked = await page.locator('ul.rules > li').evaluateAll((items) => {
      for (const item of items) (item as unknown as { ptMark: boolean }).ptMark = true;
      return items.length;
    });
    expect(marked).toBe(31);
    const requests: string[] = [];
    page.on('request', (r) => requests.push(`${r.method()} ${new URL(r.url()).pathname}`));

    await page.getByRole('button', { name: 'Turn off rule-12', exact: true }).click();
    await page.getByRole('button', { name: 'Turn on rule-12', exact: true }).waitFor();
    await page.getByText('The rule is off.').waitFor();
    page.removeAllListeners('request');

    expect(requests).toEqual(['POST /rules/rule-12/disable']);
    const marks = await page.locator('ul.rules > li').evaluateAll((items) =>
      items.map((item) => ({
        name: item.querySelector('h2')?.firstChild?.textContent?.trim(),
        kept: (item as unknown as { ptMark?: boolean }).ptMark === true,
      })),
    );
    expect(marks).toHaveLength(31);
    expect(marks.filter((m) => !m.kept).map((m) => m.name)).toEqual(['rule-12']);
    expect(new URL(page.url()).search).toBe('?q=rule-1');
    expect(enabled('rule-12')).toBe(false);
    expect(enabled('rule-11')).toBe(true);

    await page.getByRole('button', { name: 'Turn on rule-12', exact: true }).click();
    await page.getByRole('button', { name: 'Turn off rule-12', exact: true }).waitFor();
    await expect.poll(() => enabled('rule-12')).toBe(true);
  });

  it('comes back to the page that holds a saved rule, with its notice', async () => {
    await page.goto(`${url}/rules/rule-77/edit`);
    await page.getByLabel('Description (optional)').fill('the rule on the second page');
    await page.getByRole('button', { name: 'Save rule' }).click();
    await page.getByText('The rule is saved').waitFor();
    await page.getByText(`Rules 51–100 of ${RULES}`).waitFor();
    await page.getByText('the rule on the second page').waitFor();
    expect(new URL(page.url()).searchParams.get('show')).toBe('rule-77');
    expect(host.service.config.rules.find((r) => r.name === 'rule-77')?.description).toBe(
      'the rule on the second page',
    );
  });
});
