/**
 * Rule changes through the service as one delta transaction each (docs/architecture.md): the kernel holds what
 * a full apply of the saved config makes, an entry opened by a real trigger outlives changes to other rules,
 * and a refused change leaves the config file and the ruleset byte for byte as they were.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { LAB_ADDRESSES } from '../../src/lab/virtual-network.js';
import type { ServiceHost } from '../../src/main/service-host.js';
import { portRule } from '../factories.js';
import { createGateway, type Gateway } from '../harness/gateway.js';
import { describeKernel } from '../harness/kernel-gate.js';

const LAN1 = LAB_ADDRESSES.hosts.lan1.ipv4;
const WAN1 = LAB_ADDRESSES.hosts.wan1.ipv4;

describeKernel('one rule change through the service', () => {
  let gw: Gateway | undefined;
  let host: ServiceHost | undefined;

  beforeAll(async () => {
    gw = await createGateway({
      prefix: 'ptq',
      rules: [
        portRule('game', 'udp 5000', 'udp 7000', { idleTimeout: 600 }),
        portRule('voice', 'udp 5100', 'udp 7100', { idleTimeout: 600 }),
        portRule('chat', 'udp 5200', 'udp 7200', { idleTimeout: 600, family: 'ipv4' }),
      ],
    });
    host = await gw.startHost();
  });

  afterAll(() => gw?.cleanup());

  const ruleset = async () =>
    (await gw!.net.exec('router', 'nft', ['list', 'table', 'inet', 'porttrigger'])).stdout;
  /** Chains in name order (a delta adds them at the end), expiry times left out (they run down). */
  const normalised = async () => {
    const blocks: string[][] = [[]];
    for (const line of (await ruleset()).replace(/ expires \S+/g, '').split('\n')) {
      if (/^\t(chain|set|map) /.test(line)) blocks.push([]);
      if (line.trim() !== '' && line !== '}') blocks.at(-1)!.push(line);
    }
    const [head, ...rest] = blocks.map((b) => b.join('\n'));
    return [head, ...rest.sort()].join('\n');
  };
  /** What a full apply of the saved config makes: a reload applies the whole file. */
  const afterFullApply = async () => {
    const result = await host!.reload();
    expect(result.ok).toBe(true);
    return normalised();
  };

  it('keeps an entry of another rule open through add, disable, edit and delete, each equal to a full apply', async () => {
    const service = host!.service;
    await gw!.net.host('lan1').sendUdp({ to: WAN1, port: 5000, token: 'one-change-1' });
    await expect
      .poll(async () => (await service.table()).entries.map((e) => [e.rule, e.holder]), { timeout: 10_000 })
      .toEqual([['game', LAN1]]);
    const changes = [
      () => service.createRule(portRule('extra', 'udp 5300', 'udp 7300')),
      () => service.setRuleEnabled('voice', false),
      () => service.replaceRule('chat', { ...portRule('chat', 'udp 5200', 'udp 7250'), family: 'ipv4' }),
      () => service.setRuleEnabled('voice', true),
      () => service.deleteRule('extra'),
    ];
    for (const change of changes) {
      await change();
      const incremental = await normalised();
      expect(incremental).toBe(await afterFullApply());
      const entries = (await service.table()).entries;
      expect(entries.map((e) => [e.rule, e.holder])).toEqual([['game', LAN1]]);
    }
    expect(readFileSync(gw!.configPath, 'utf8')).toMatch(/ports: "7250"/);
  });

  it('refuses a rule whose open ports clash, leaving the file and the ruleset byte for byte', async () => {
    const text = readFileSync(gw!.configPath, 'utf8');
    const before = (await ruleset()).replace(/ expires \S+/g, '');
    await expect(host!.service.createRule(portRule('clash', 'udp 5400', 'udp 7100'))).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      issues: [expect.objectContaining({ code: 'open_overlap' })],
    });
    await expect(host!.service.setRuleEnabled('nothing-here', false)).rejects.toMatchObject({
      code: 'RULE_NOT_FOUND',
    });
    expect(readFileSync(gw!.configPath, 'utf8')).toBe(text);
    expect((await ruleset()).replace(/ expires \S+/g, '')).toBe(before);
  });

  it('closes the entries of a disabled rule, told as rule-disabled from the change itself', async () => {
    const service = host!.service;
    const events: { type: string; rule?: string; reason?: string }[] = [];
    const unsubscribe = service.subscribe((e) => events.push(e as never));
    try {
      await service.setRuleEnabled('game', false);
      expect(events.filter((e) => e.type === 'closed')).toEqual([
        expect.objectContaining({ rule: 'game', reason: 'rule-disabled' }),
      ]);
      expect((await service.table()).entries).toEqual([]);
      expect(await normalised()).toBe(await afterFullApply());
    } finally {
      unsubscribe();
    }
  });
});
