/**
 * The global switch through the service, with real packets: switched off, open entries close, a trigger opens
 * nothing and inbound connections are not forwarded, and the kernel holds what a full apply of the saved config
 * makes; switched on, triggering works again; a switch that nft refuses leaves the config file and the ruleset
 * byte for byte as they were. nft is refused by a test-only program put in front of the real one through the
 * composition root's `nft.binary` (as the fault tests do), never reachable from the config or the API.
 */
import { chmodSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { silentLogger } from '../../src/adapters/logger.js';
import { LAB_ADDRESSES } from '../../src/lab/virtual-network.js';
import { startKernelService } from '../../src/main/start-service.js';
import type { Service } from '../../src/service/service.js';
import { portRule } from '../factories.js';
import { createGateway, type Gateway } from '../harness/gateway.js';
import { describeKernel } from '../harness/kernel-gate.js';
import { normaliseTable } from '../harness/table-text.js';

const LAN1 = LAB_ADDRESSES.hosts.lan1.ipv4;
const WAN1 = LAB_ADDRESSES.hosts.wan1.ipv4;
const GATEWAY = LAB_ADDRESSES.router.wan.ipv4;
// How long "not delivered" is waited for: packets take microseconds, a loaded machine reports them late.
const SILENCE_MS = 1_500;

vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 });

/** The real nft, unless the file `refuse` exists next to this program: then every script is refused. */
function refusingNft(dir: string): string {
  const program = join(dir, 'nft');
  writeFileSync(
    program,
    `#!/bin/sh\nif [ -e '${join(dir, 'refuse')}' ] && [ "$1" = "-f" ]; then echo 'Error: refused by the test' >&2; exit 1; fi\nexec nft "$@"\n`,
  );
  chmodSync(program, 0o755);
  return program;
}

describeKernel('the global switch through the service', () => {
  let gw: Gateway;
  let service: Service | undefined;
  let tokens = 0;
  const nextToken = () => `switch${process.pid}-${++tokens}`;

  beforeAll(async () => {
    gw = await createGateway({
      prefix: 'ptw',
      api: false,
      rules: [
        portRule('game', 'udp 5000', 'udp 7000', { idleTimeout: 600 }),
        portRule('voice', 'udp 5100', 'udp 7100', { idleTimeout: 600, onExpire: 'close' }),
      ],
      listen: [['lan1', 'udp', 7000]],
    });
    gw.onCleanup(() => service?.stop());
    gw.onCleanup(() => rmSync(join(gw.dir, 'refuse'), { force: true }));
    service = await startKernelService({
      configPath: gw.configPath,
      logger: silentLogger,
      netns: gw.net.namespaces.router,
      nft: { binary: refusingNft(gw.dir) },
    });
  });

  afterAll(() => gw?.cleanup());

  const ruleset = async () =>
    (await gw.net.exec('router', 'nft', ['list', 'table', 'inet', 'porttrigger'])).stdout.replace(
      / expires \S+/g,
      '',
    );
  const normalised = async () => normaliseTable(await ruleset());
  /** What a full apply of the saved config makes: a reload applies the whole file. */
  const afterFullApply = async () => {
    expect((await service!.reload()).ok).toBe(true);
    return normalised();
  };
  const trigger = () => gw.net.host('lan1').sendUdp({ to: WAN1, port: 5000, token: nextToken() });
  const inboundReachesLan1 = async () => {
    const token = nextToken();
    await gw.net.host('wan1').sendUdp({ to: GATEWAY, port: 7000, token });
    return (await gw.net.host('lan1').waitFor(token, SILENCE_MS)) !== null;
  };
  const holders = async () => (await service!.table()).entries.map((e) => [e.rule, e.holder]);

  it('switched off closes the entries and opens nothing; switched on, triggers open ports again', async () => {
    await trigger();
    await expect.poll(holders, { timeout: 10_000 }).toEqual([['game', LAN1]]);
    expect(await inboundReachesLan1()).toBe(true);

    const events: { type: string; rule?: string; reason?: string }[] = [];
    const unsubscribe = service!.subscribe((e) => events.push(e as never));
    try {
      const off = await service!.setEnabled(false);
      expect(off.applied).toEqual({ kept: 0, dropped: 1 });
      expect(events.filter((e) => e.type === 'closed')).toEqual([
        expect.objectContaining({ rule: 'game', reason: 'rule-disabled' }),
      ]);
    } finally {
      unsubscribe();
    }
    expect(readFileSync(gw.configPath, 'utf8')).toMatch(/^enabled: false$/m);
    expect(await holders()).toEqual([]);
    expect(await normalised()).toBe(await afterFullApply());
    expect(await inboundReachesLan1()).toBe(false);
    await trigger();
    expect(await inboundReachesLan1()).toBe(false);
    expect(await holders()).toEqual([]);

    await service!.setEnabled(true);
    expect(readFileSync(gw.configPath, 'utf8')).toMatch(/^enabled: true$/m);
    const on = await normalised();
    expect(on).toBe(await afterFullApply());
    await trigger();
    await expect.poll(holders, { timeout: 10_000 }).toEqual([['game', LAN1]]);
    expect(await inboundReachesLan1()).toBe(true);
  });

  it('leaves the config file and the ruleset byte for byte when nft refuses the switch', async () => {
    const text = readFileSync(gw.configPath, 'utf8');
    const before = await ruleset();
    writeFileSync(join(gw.dir, 'refuse'), '');
    try {
      await expect(service!.setEnabled(false)).rejects.toMatchObject({ code: 'NFT_REJECTED' });
    } finally {
      rmSync(join(gw.dir, 'refuse'));
    }
    expect(readFileSync(gw.configPath, 'utf8')).toBe(text);
    expect(await ruleset()).toBe(before);
    expect(service!.config.enabled).toBe(true);
    expect(await holders()).toEqual([['game', LAN1]]);
    expect(await inboundReachesLan1()).toBe(true);
  });
});
