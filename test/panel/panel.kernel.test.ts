/**
 * The web panel in a real browser (Debian's Chromium through playwright-core) against the real service driving
 * nftables in the router namespace of a virtual network, with real packets from the LAN and WAN hosts.
 */

import { mkdirSync, readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { fileURLToPath } from 'node:url';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, expect, it, vi } from 'vitest';
import { LAB_ADDRESSES, type VirtualNetwork } from '../../src/lab/virtual-network.js';
import type { ServiceHost } from '../../src/main/service-host.js';
import { portRule } from '../factories.js';
import { createGateway, type Gateway } from '../harness/gateway.js';
import { describeKernel } from '../harness/kernel-gate.js';
import { expectAccessible as expectPageAccessible, shot as pageShot, SHOTS } from '../harness/page-checks.js';

const A = LAB_ADDRESSES;
const LAN1 = A.hosts.lan1.ipv4;
const LAN2 = A.hosts.lan2.ipv4;
const WAN1 = A.hosts.wan1.ipv4;
const GATEWAY = A.router.wan.ipv4;
const CHROMIUM = '/usr/bin/chromium';
const README_SHOT = fileURLToPath(new URL('../../docs/panel.png', import.meta.url));
// How long "not delivered" is waited for: packets take microseconds, a loaded machine reports them late.
const SILENCE_MS = 1_500;

// A browser, the service and nft on a shared, busy machine: generous limits, every wait is for a condition.
vi.setConfig({ testTimeout: 180_000, hookTimeout: 120_000 });

describeKernel('the web panel in Chromium against the service in a virtual network', () => {
  let gw: Gateway;
  let net: VirtualNetwork;
  let configPath: string;
  let host: ServiceHost;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let url: string;
  let token: string;
  let tokens = 0;
  const nextToken = () => `panel${process.pid}-${++tokens}`;

  /** A trigger from `from` to wan1, then one datagram from wan1 to the gateway: did lan1 receive it? */
  async function inboundReachesLan1(port: number): Promise<boolean> {
    const t = nextToken();
    await net.host('wan1').sendUdp({ to: GATEWAY, port, token: t });
    return (await net.host('lan1').waitFor(t, SILENCE_MS)) !== null;
  }

  /** A TCP connection from wan1 to the gateway: did it reach lan1, the only host listening there? */
  async function connectionReachesLan1(port: number): Promise<boolean> {
    const result = await net.host('wan1').connectTcp({ to: GATEWAY, port, timeoutMs: SILENCE_MS });
    if (result.ok) await net.host('wan1').closeTcp(result.conn);
    return result.ok;
  }

  async function trigger(from: 'lan1' | 'lan2', port: number): Promise<void> {
    await net.host(from).sendUdp({ to: WAN1, port, token: nextToken() });
  }

  /** The ruleset without set elements (`-t`), which change with every packet. */
  async function rulesetShape(): Promise<string> {
    return (await net.exec('router', 'nft', ['-t', 'list', 'table', 'inet', 'porttrigger'])).stdout;
  }

  /** Marks the page: the mark survives only if the page is never loaded again. */
  async function markPage(): Promise<void> {
    await page.evaluate(() => {
      (globalThis as unknown as { ptMarker: number }).ptMarker = 42;
    });
  }

  async function pageMarked(): Promise<boolean> {
    return (await page.evaluate(() => (globalThis as unknown as { ptMarker?: number }).ptMarker)) === 42;
  }

  const shot = (name: string) => pageShot(page, name);
  const expectAccessible = () => expectPageAccessible(page);

  /** A raw HTTP request, so that the Host header can be anything. */
  function raw(
    path: string,
    options: { method?: string; headers?: Record<string, string>; body?: string },
  ): Promise<number> {
    const target = new URL(path, url);
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        {
          host: target.hostname,
          port: target.port,
          path: target.pathname,
          method: options.method ?? 'GET',
          headers: options.headers,
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end(options.body);
    });
  }

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    gw = await createGateway({
      prefix: 'ptp',
      rules: [portRule('game', 'udp 5000', 'udp 7000', { idleTimeout: 60 })],
      listen: [
        ['lan1', 'udp', 7000],
        ['lan1', 'tcp', 20000],
      ],
    });
    net = gw.net;
    configPath = gw.configPath;
    host = await gw.startHost();
    url = host.url!;
    token = gw.token();
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
    page = await context.newPage();
    page.setDefaultTimeout(60_000);
  });

  afterAll(async () => {
    await browser?.close();
    await gw?.cleanup();
  });

  afterEach(async (ctx) => {
    // A failed step leaves its page behind for a person to look at.
    if (ctx.task.result?.state === 'fail')
      await shot(`failed-${ctx.task.name.slice(0, 40).replace(/\W+/g, '-')}`);
  });

  it('signs in with the API token and shows the overview', async () => {
    await page.goto(url);
    await expect.poll(() => page.url()).toBe(`${url}/sign-in`);
    await expectAccessible();
    await shot('sign-in');
    await page.getByLabel('API token').fill('not-the-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'not the API token' }).waitFor();
    await page.getByLabel('API token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    await page.getByRole('heading', { name: 'Port triggering is on' }).waitFor();
    await expectAccessible();
    await shot('overview');
  });

  it('adds a rule from a preset', async () => {
    await page.goto(`${url}/rules/new`);
    await page.getByLabel('Start from a preset').selectOption('icq');
    await page.getByRole('button', { name: 'Fill in' }).click();
    await expect.poll(() => page.getByLabel('Name').inputValue()).toBe('ICQ');
    expect(await page.getByLabel('Trigger ports 1: ports').inputValue()).toBe('4000');
    expect(await page.getByLabel('Open ports 1: ports').inputValue()).toBe('20000-20019');
    await expectAccessible();
    await shot('rule-form');
    await page.getByRole('button', { name: 'Save rule' }).click();
    await page.getByText('The rule is saved and applied.').waitFor();
    await page
      .getByText('When a device on the LAN sends UDP to port 4000, open TCP ports 20000-20019')
      .waitFor();
    expect(readFileSync(configPath, 'utf8')).toContain('ICQ');
    await expectAccessible();
    await shot('rules');
  });

  it('shows a real trigger without a reload, forwards to the holder, names the holder of a conflict, releases', async () => {
    await page.goto(`${url}/table`);
    await page.getByText('Nothing is open now.').waitFor();
    await page.getByText('its traffic to UDP port 4000 opens TCP ports 20000-20019').waitFor();
    // Survives only if the page is never loaded again.
    await markPage();
    await trigger('lan1', 4000);
    const row = page.getByRole('row').filter({ hasText: LAN1 });
    await row.waitFor();
    expect(await pageMarked()).toBe(true);
    await expect.poll(() => row.textContent()).toContain('ICQ');
    expect(await connectionReachesLan1(20000)).toBe(true);

    await trigger('lan2', 4000);
    const conflict = page
      .getByRole('listitem')
      .filter({ hasText: new RegExp(`^${LAN2}\\b.* wanted ICQ, but ${LAN1}\\b.* held it`) });
    await conflict.waitFor();
    expect(await pageMarked()).toBe(true);
    await expectAccessible();
    await shot('live-table');
    if (process.env['PORTTRIGGER_UPDATE_SCREENSHOT'] === '1') {
      await page.screenshot({ path: README_SHOT, fullPage: true });
    }

    // Another client releases the entry: its row goes from the open page, which is not loaded again.
    await trigger('lan1', 5000);
    const gameRow = page.getByRole('row').filter({ hasText: 'game' });
    await gameRow.waitFor();
    const released = await fetch(`${url}/api/v1/release`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ rule: 'game' }),
    });
    expect(released.status).toBe(200);
    await gameRow.waitFor({ state: 'detached' });
    expect(await pageMarked()).toBe(true);

    await page.getByRole('button', { name: `Release ICQ from ${LAN1}` }).click();
    await page.getByText('Released: the ports are closed for that device.').waitFor();
    expect(await page.getByRole('row').filter({ hasText: LAN1 }).count()).toBe(0);
    expect(await connectionReachesLan1(20000)).toBe(false);
  });

  it('says after a save whether anything uses the rule: an idle rule asks for a reconnect, one a live connection took does not', async () => {
    const idleNotice = page.getByText('Nothing is using it right now');
    const addRule = async (name: string, triggerPort: number) => {
      await page.goto(`${url}/rules/new`);
      await page.getByLabel('Name').fill(name);
      await page.getByLabel('Trigger ports 1: protocol').selectOption('udp');
      await page.getByLabel('Trigger ports 1: ports').fill(String(triggerPort));
      await page.getByLabel('Open ports 1: protocol').selectOption('udp');
      await page.getByLabel('Open ports 1: ports').fill(String(triggerPort + 1));
      await page.getByRole('button', { name: 'Save rule' }).click();
      await page.getByText('The rule is saved and applied.').waitFor();
    };
    await addRule('idle-voice', 6100);
    expect(await idleNotice.count()).toBe(1);
    // lan1 talks to UDP 6200 before any rule names it: the rule saved next goes to that connection at once.
    await trigger('lan1', 6200);
    await addRule('live-voice', 6200);
    expect(await idleNotice.count()).toBe(0);
    // The tests after this one expect lan1 to hold nothing: deleting the rules closes their entries.
    for (const name of ['idle-voice', 'live-voice']) {
      const deleted = await fetch(`${url}/api/v1/rules/${name}`, {
        method: 'DELETE',
        headers: { Authorization: `Bearer ${token}` },
      });
      expect(deleted.status).toBe(200);
    }
  });

  it('shows a port 70000 and a reversed range next to their fields and applies nothing', async () => {
    const shape = await rulesetShape();
    const file = readFileSync(configPath, 'utf8');
    await page.goto(`${url}/rules/new`);
    await page.getByLabel('Name').fill('broken');
    await page.getByLabel('Trigger ports 1: ports').fill('6000-5000');
    await page.getByLabel('Open ports 1: protocol').selectOption('udp');
    await page.getByLabel('Open ports 1: ports').fill('70000');
    await page.getByRole('button', { name: 'Save rule' }).click();
    await page.getByText('Nothing was saved: 2 problems').waitFor();
    const triggerProblems = await page.locator('#f-trigger-0-ports-problems').textContent();
    const openProblems = await page.locator('#f-open-0-ports-problems').textContent();
    expect(triggerProblems).toContain('6000-5000');
    expect(openProblems).toContain('70000');
    expect(await page.getByLabel('Open ports 1: ports').getAttribute('aria-invalid')).toBe('true');
    expect(await page.getByLabel('Open ports 1: ports').getAttribute('aria-describedby')).toBe(
      'f-open-0-ports-problems',
    );
    await expectAccessible();
    await shot('rule-form-problems');
    expect(await rulesetShape()).toBe(shape);
    expect(readFileSync(configPath, 'utf8')).toBe(file);
  });

  it('turns a rule off and on in place, and port triggering as a whole, in the kernel', async () => {
    await page.goto(`${url}/rules`);
    await markPage();
    await page.getByRole('button', { name: 'Turn off game' }).click();
    await page.getByText('The rule is off.').waitFor();
    // The switch shows its new state where it was, keeps the keyboard focus, and the page was not loaded again.
    const switchOn = page.getByRole('button', { name: 'Turn on game' });
    await switchOn.waitFor();
    expect(await switchOn.evaluate((el) => el === el.ownerDocument.activeElement)).toBe(true);
    expect(await page.getByRole('heading', { name: 'game off' }).count()).toBe(1);
    expect(await pageMarked()).toBe(true);
    await trigger('lan1', 5000);
    expect(await inboundReachesLan1(7000)).toBe(false);
    await switchOn.click();
    await page.getByText('The rule is on.').waitFor();
    await page.getByRole('button', { name: 'Turn off game' }).waitFor();
    expect(await pageMarked()).toBe(true);
    await trigger('lan1', 5000);
    await expect.poll(() => inboundReachesLan1(7000), { timeout: 10_000 }).toBe(true);

    await page.goto(url);
    await markPage();
    await page.getByRole('button', { name: 'Switch port triggering off' }).click();
    await page.getByRole('heading', { name: 'Port triggering is off' }).waitFor();
    await page.getByText('Port triggering is off.').waitFor();
    // The global switch answers in place too: the page was not loaded again, the focus stays on the button.
    const globalOn = page.getByRole('button', { name: 'Switch port triggering on' });
    expect(await globalOn.evaluate((el) => el === el.ownerDocument.activeElement)).toBe(true);
    expect(await pageMarked()).toBe(true);
    expect(readFileSync(configPath, 'utf8')).toMatch(/^enabled: false$/m);
    await trigger('lan1', 5000);
    expect(await inboundReachesLan1(7000)).toBe(false);
    await globalOn.click();
    await page.getByRole('heading', { name: 'Port triggering is on' }).waitFor();
    expect(await pageMarked()).toBe(true);
    await trigger('lan1', 5000);
    await expect.poll(() => inboundReachesLan1(7000), { timeout: 10_000 }).toBe(true);
  });

  it('answers the port check and shows the history, live', async () => {
    await page.goto(`${url}/check`);
    await page.getByLabel('Port').fill('7000');
    await page.getByLabel('Protocol').selectOption('udp');
    await page.getByRole('button', { name: 'Check' }).click();
    await page.getByRole('heading', { name: 'UDP 7000 is open now' }).waitFor();
    await page.getByText(`Open for rule game to ${LAN1}`).waitFor();
    await expectAccessible();
    await shot('port-check');

    await page.goto(`${url}/history`);
    await page.getByRole('cell', { name: `ICQ opened to ${LAN1}` }).waitFor();
    const before = await page.getByRole('row').count();
    await trigger('lan2', 5000);
    await page
      .getByRole('cell', { name: `${LAN2} wanted game` })
      .first()
      .waitFor();
    expect(await page.getByRole('row').count()).toBeGreaterThan(before);
    await expectAccessible();
    await shot('history');
  });

  it('says so when the live connection drops, then catches up', async () => {
    await page.goto(`${url}/table`);
    await page.getByRole('row').filter({ hasText: LAN1 }).waitFor();
    // From now on the browser cannot reach the stream: the page loaded again finds it down.
    const stream = /\/events(\?|$)/;
    await page.route(stream, (route) => route.abort());
    await page.goto(`${url}/table`);
    await page.locator('#connection').waitFor({ state: 'visible' });
    // Meanwhile the table changes: a REST client releases the entry.
    const released = await fetch(`${url}/api/v1/release`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ rule: 'game' }),
    });
    expect(released.status).toBe(200);
    await shot('reconnecting');
    await page.unroute(stream);
    await page.locator('#connection').waitFor({ state: 'hidden', timeout: 20_000 });
    await expect
      .poll(() => page.getByRole('row').filter({ hasText: LAN1 }).count(), { timeout: 15_000 })
      .toBe(0);
  });

  it('refuses requests without a session, with a wrong CSRF token, a foreign Host or a foreign Origin', async () => {
    const cookies = await context.cookies(url);
    const session = cookies.find((c) => c.name === 'porttrigger_session');
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Strict', secure: false });
    const cookie = `porttrigger_session=${session!.value}`;
    const hostHeader = new URL(url).host;
    const form = { 'content-type': 'application/x-www-form-urlencoded' };

    expect(await raw('/rules', { headers: { host: hostHeader } })).toBe(303);
    expect(await raw('/rules', { headers: { host: hostHeader, cookie } })).toBe(200);
    expect(
      await raw('/rules/game/disable', {
        method: 'POST',
        headers: { host: hostHeader, cookie, origin: url, ...form },
        body: '_csrf=forged',
      }),
    ).toBe(403);
    expect(await raw('/rules', { headers: { host: 'rebind.example:80', cookie } })).toBe(421);
    const csrf = await page
      .goto(`${url}/rules`)
      .then(() => page.locator('input[name="_csrf"]').first().getAttribute('value'));
    expect(
      await raw('/rules/game/disable', {
        method: 'POST',
        headers: { host: hostHeader, cookie, origin: 'http://evil.example', ...form },
        body: `_csrf=${encodeURIComponent(csrf!)}`,
      }),
    ).toBe(403);
    expect(host.service.config.rules.find((r) => r.name === 'game')?.enabled).toBe(true);
    // The API keeps its bearer token.
    const api = await fetch(`${url}/api/v1/rules`, { headers: { Authorization: `Bearer ${token}` } });
    expect(api.status).toBe(200);
    expect((await fetch(`${url}/api/v1/rules`)).status).toBe(401);
  });
});
