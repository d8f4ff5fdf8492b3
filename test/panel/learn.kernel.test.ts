/**
 * "Find the ports of an application" in a real browser (Debian's Chromium through playwright-core) against the
 * real service in a virtual network: a simulated game on lan1 is watched, its rule proposed, edited in the normal
 * form, saved, and then works with real packets.
 */

import { mkdirSync, readFileSync } from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, expect, it, vi } from 'vitest';
import { LAB_ADDRESSES, type VirtualNetwork } from '../../src/lab/virtual-network.js';
import { createGateway, type Gateway } from '../harness/gateway.js';
import { describeKernel } from '../harness/kernel-gate.js';
import { expectAccessible as expectPageAccessible, shot as pageShot, SHOTS } from '../harness/page-checks.js';

const A = LAB_ADDRESSES;
const LAN1 = A.hosts.lan1.ipv4;
const WAN1 = A.hosts.wan1.ipv4;
const GATEWAY = A.router.wan.ipv4;
const CHROMIUM = '/usr/bin/chromium';

vi.setConfig({ testTimeout: 180_000, hookTimeout: 120_000 });

describeKernel('learn mode in the web panel', () => {
  let gw: Gateway;
  let net: VirtualNetwork;
  let configPath: string;
  let browser: Browser;
  let page: Page;
  let url: string;
  let tokens = 0;
  const nextToken = () => `panel-learn${process.pid}-${++tokens}`;

  const shot = (name: string) => pageShot(page, name);
  const expectAccessible = () => expectPageAccessible(page);

  /** The simulated game: lan1 connects to the server's tcp 6970 and keeps the connection. */
  async function gameConnects(): Promise<string> {
    const result = await net.host('lan1').connectTcp({ to: WAN1, port: 6970 });
    if (!result.ok) throw new Error(`the game client could not connect: ${result.error}`);
    return result.conn;
  }

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    gw = await createGateway({
      prefix: 'ptpl',
      rules: [],
      listen: [
        ['wan1', 'tcp', 6970],
        ['lan1', 'udp', 7002],
      ],
    });
    net = gw.net;
    configPath = gw.configPath;
    url = (await gw.startHost()).url!;
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
      await shot(`failed-learn-${ctx.task.name.slice(0, 40).replace(/\W+/g, '-')}`);
  });

  it('watches the game, proposes its rule, saves it edited in the normal form, and the rule works', async () => {
    // lan1 talks to the router once, so that the neighbour table knows it.
    const warmUp = await gameConnects();
    await net.host('lan1').closeTcp(warmUp);

    await page.getByRole('link', { name: 'Find ports' }).click();
    await page.getByRole('heading', { name: 'Find the ports of an application' }).waitFor();
    const device = page.getByLabel('Device', { exact: true });
    await expect
      .poll(
        async () => {
          await page.reload();
          return device.locator(`option[value="${LAN1}"]`).count();
        },
        { timeout: 20_000 },
      )
      .toBe(1);
    await device.selectOption(LAN1);
    await expectAccessible();
    await shot('learn-start');
    await page.getByRole('button', { name: 'Start watching' }).click();
    await page.getByText(`Watching ${LAN1}.`).waitFor();
    await page.getByText('Nothing seen yet.').waitFor();

    const conn = await gameConnects();
    for (const port of [7000, 7001, 7002, 7003])
      await net.host('wan1').sendUdp({ to: GATEWAY, port, token: nextToken() });
    // The live view follows without a reload.
    await page
      .getByRole('status')
      .filter({ hasText: 'Seen so far: 1 outbound connection, 4 inbound attempts' })
      .waitFor();
    await page.getByRole('row').filter({ hasText: 'in, nothing forwarded it' }).first().waitFor();
    await expectAccessible();
    await shot('learn-live');

    await page.getByRole('button', { name: 'Stop watching' }).click();
    await page.getByRole('heading', { name: 'What was found' }).waitFor();
    await page
      .getByText(
        new RegExp(
          `Seen: 4 inbound attempts on udp 7000-7003 from ${WAN1}, .* after ${LAN1} connected to ${WAN1} tcp 6970`,
        ),
      )
      .waitFor();
    await page.getByText('open UDP ports 7000-7003 to the server it contacted').waitFor();
    await expectAccessible();
    await shot('learn-proposals');
    expect(
      await net.exec('router', 'nft', ['list', 'chain', 'inet', 'porttrigger', 'dstnat']),
    ).not.toMatchObject({
      stdout: expect.stringContaining('learning'),
    });

    await page.getByRole('link', { name: 'Save as rule' }).click();
    await expect.poll(() => page.getByLabel('Name').inputValue()).toBe('Learned tcp 6970');
    expect(await page.getByLabel('Trigger ports 1: ports').inputValue()).toBe('6970');
    expect(await page.getByLabel('Trigger ports 1: protocol').inputValue()).toBe('tcp');
    expect(await page.getByLabel('Open ports 1: ports').inputValue()).toBe('7000-7003');
    expect(await page.getByLabel('Open ports 1: protocol').inputValue()).toBe('udp');
    expect(await page.getByLabel('Who may connect to the open ports').inputValue()).toBe('contacted');
    await page.getByLabel('Name').fill('Space game');
    await page.getByRole('button', { name: 'Save rule' }).click();
    await page.getByText('The rule is saved and applied.').waitFor();
    expect(readFileSync(configPath, 'utf8')).toContain('Space game');

    // The saved rule with real packets: the game connects again, its server's callback reaches lan1.
    await net.host('lan1').closeTcp(conn);
    const again = await gameConnects();
    const t = nextToken();
    await net.host('wan1').sendUdp({ to: GATEWAY, port: 7002, token: t });
    expect(await net.host('lan1').waitFor(t, 10_000)).not.toBeNull();
    await net.host('lan1').closeTcp(again);
  });
});
