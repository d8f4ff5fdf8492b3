import { describe, expect, it } from 'vitest';
import type { Config, Protocol, Rule } from '../domain/types.js';
import { type Decision, type ModelPacket, ReferenceModel } from './model.js';
import { type Connection, ConnectionTracker, type FlowTuple } from './model-conntrack.js';
import { buildPortIndex, lookupPort } from './model-index.js';

const GW4 = '198.51.100.1';
const GW6 = '2001:db8:ffff::1';
const H1 = '192.168.1.10';
const H2 = '192.168.1.11';
const R1 = '203.0.113.5';
const R2 = '203.0.113.6';
const V6H1 = '2001:db8:1::10';
const V6H2 = '2001:db8:1::11';
const V6R1 = '2001:db8:99::5';
const V6R2 = '2001:db8:99::6';

const TRIGGER_PORT = 6000;
const OPEN_PORT = 7000;
const IDLE_MS = 30_000;

/** A rule triggered by TCP 6000 that opens UDP 7000-7010, idle 30 s. */
function makeRule(overrides: Partial<Rule> = {}): Rule {
  return {
    name: 'game',
    enabled: true,
    family: 'both',
    trigger: [{ protocol: 'tcp', ports: String(TRIGGER_PORT) }],
    open: [{ protocol: 'udp', ports: '7000-7010' }],
    idleTimeout: IDLE_MS / 1000,
    lanHosts: 'any',
    remote: 'any',
    onExpire: 'keep',
    ...overrides,
  };
}

function makeConfig(rules: readonly Rule[], overrides: Partial<Config> = {}): Config {
  return {
    interfaces: { lan: ['br-lan'], wan: ['wan0'] },
    mode: 'standalone',
    enabled: true,
    ipv6: true,
    rules,
    ...overrides,
  };
}

function newModel(): ReferenceModel {
  return new ReferenceModel({ gatewayAddresses: [GW4, GW6] });
}

async function modelWith(rules: readonly Rule[], overrides: Partial<Config> = {}): Promise<ReferenceModel> {
  const model = newModel();
  await model.apply(makeConfig(rules, overrides));
  return model;
}

function familyOf(address: string): 'ipv4' | 'ipv6' {
  return address.includes(':') ? 'ipv6' : 'ipv4';
}

/** A LAN packet to the trigger port (TCP 6000). */
function trigger(
  src: string,
  dst: string = familyOf(src) === 'ipv4' ? R1 : V6R1,
  sport = 40000,
): ModelPacket {
  return { side: 'lan', family: familyOf(src), protocol: 'tcp', src, sport, dst, dport: TRIGGER_PORT };
}

/** A WAN packet, by default UDP to the first open port. */
function inbound(
  src: string,
  dst: string,
  dport = OPEN_PORT,
  sport = 50000,
  protocol: Protocol = 'udp',
): ModelPacket {
  return { side: 'wan', family: familyOf(src), protocol, src, sport, dst, dport };
}

/** The LAN host's answer to an inbound packet (same ports, reversed). */
function replyTo(packet: ModelPacket, host: string): ModelPacket {
  return {
    side: 'lan',
    family: packet.family,
    protocol: packet.protocol,
    src: host,
    sport: packet.dport,
    dst: packet.src,
    dport: packet.sport,
  };
}

const forward = (to: string): Decision => ({ action: 'forward', to });
const LOCAL: Decision = { action: 'local' };
const DROP: Decision = { action: 'drop' };
const PASS: Decision = { action: 'pass' };

describe('ReferenceModel before the first apply and after remove', () => {
  it.each([
    ['an outbound packet is forwarded', trigger(H1), forward(R1)],
    ['IPv4 inbound to the gateway on an open port ends at the gateway', inbound(R1, GW4), LOCAL],
    ['IPv4 inbound to another address is not decided', inbound(R1, H1), PASS],
    ['IPv6 inbound is not decided', inbound(V6R1, V6H1), PASS],
  ])('behaves as if porttrigger were absent: %s', (_title, packet, expected) => {
    expect(newModel().process(packet)).toEqual(expected);
  });

  it('opens nothing on a trigger before the first apply', async () => {
    const model = newModel();
    model.process(trigger(H1));
    expect(model.process(inbound(R1, GW4))).toEqual(LOCAL);
    expect(await model.read()).toMatchObject({ intact: false, table: { entries: [] } });
  });

  it('forgets entries, records and connections on remove and then decides like an absent datapath', async () => {
    const model = await modelWith([makeRule({ onExpire: 'close', lanHosts: [H1] })]);
    model.process(trigger(H1));
    model.process(trigger(H2));
    const first = inbound(R1, GW4);
    expect(model.process(first)).toEqual(forward(H1));
    expect((await model.read()).intact).toBe(true);
    await model.remove();
    expect(await model.read()).toEqual({
      table: { at: 0, entries: [], conflicts: [], blocked: [] },
      intact: false,
    });
    expect(model.process(first)).toEqual(LOCAL);
    expect(model.process(replyTo(first, H1))).toEqual(forward(R1));
    expect(model.process(inbound(V6R1, V6H1))).toEqual(PASS);
  });
});

describe('ReferenceModel triggers', () => {
  it('opens the rule for the LAN host that sent the trigger and lists the entry', async () => {
    const model = await modelWith([makeRule()]);
    model.advance(1000);
    expect(model.process(trigger(H1))).toEqual(forward(R1));
    expect(model.process(inbound(R2, GW4, 7005))).toEqual(forward(H1));
    const table = (await model.read()).table;
    expect(table.at).toBe(1000);
    expect(table.entries).toEqual([
      { rule: 'game', family: 'ipv4', holder: H1, openedAt: 1000, expiresAt: 1000 + IDLE_MS },
    ]);
  });

  it.each<[string, Partial<Rule>, Partial<Config>, ModelPacket]>([
    ['the rule is disabled', { enabled: false }, {}, trigger(H1)],
    ['the global switch is off', {}, { enabled: false }, trigger(H1)],
    ['IPv6 is off', {}, { ipv6: false }, trigger(V6H1)],
    ['the rule is IPv4 only', { family: 'ipv4' }, {}, trigger(V6H1)],
    ['the rule is IPv6 only', { family: 'ipv6' }, {}, trigger(H1)],
    ['the packet arrives on the WAN', {}, {}, { ...trigger(H1), side: 'wan', dst: GW4 }],
    ['the protocol differs', {}, {}, { ...trigger(H1), protocol: 'udp' }],
    ['the port is not a trigger port', {}, {}, { ...trigger(H1), dport: TRIGGER_PORT + 1 }],
  ])('opens nothing when %s', async (_title, ruleOverrides, configOverrides, packet) => {
    const model = await modelWith([makeRule(ruleOverrides)], configOverrides);
    model.process(packet);
    expect((await model.read()).table.entries).toEqual([]);
  });

  it('still forwards a trigger that opens nothing', async () => {
    const model = await modelWith([makeRule({ enabled: false })]);
    expect(model.process(trigger(H1))).toEqual(forward(R1));
  });

  it('matches trigger port ranges and lists of both protocols', async () => {
    const rule = makeRule({ trigger: [{ protocol: 'both', ports: '5000-5010,6100' }] });
    const model = await modelWith([rule]);
    model.process({ ...trigger(H1), protocol: 'udp', dport: 6100 });
    model.process({ ...trigger(V6H1), protocol: 'tcp', dport: 5005 });
    const holders = (await model.read()).table.entries.map((e) => e.holder);
    expect(holders).toEqual([H1, V6H1]);
  });

  it('lets one packet trigger every rule that shares its trigger port', async () => {
    const model = await modelWith([
      makeRule({ name: 'voice', open: [{ protocol: 'udp', ports: '8000' }] }),
      makeRule({ name: 'game', open: [{ protocol: 'tcp', ports: '7000' }] }),
    ]);
    model.process(trigger(H1));
    const entries = (await model.read()).table.entries;
    expect(entries.map((e) => e.rule)).toEqual(['game', 'voice']);
    expect(model.process(inbound(R1, GW4, 8000))).toEqual(forward(H1));
    expect(model.process(inbound(R1, GW4, 7000, 50000, 'tcp'))).toEqual(forward(H1));
  });

  it('opens IPv4 and IPv6 entries of one rule independently', async () => {
    const model = await modelWith([makeRule()]);
    model.process(trigger(H1));
    model.process(trigger(V6H2));
    const entries = (await model.read()).table.entries;
    expect(entries.map((e) => [e.family, e.holder])).toEqual([
      ['ipv4', H1],
      ['ipv6', V6H2],
    ]);
  });
});

describe('ReferenceModel with remote: any', () => {
  it('refreshes the entry when the holder triggers again, keeping openedAt', async () => {
    const model = await modelWith([makeRule()]);
    model.process(trigger(H1));
    model.advance(10_000);
    model.process(trigger(H1));
    expect((await model.read()).table.entries).toEqual([
      { rule: 'game', family: 'ipv4', holder: H1, openedAt: 0, expiresAt: 10_000 + IDLE_MS },
    ]);
  });

  it('refuses a second holder while the first is active and records the conflict', async () => {
    const model = await modelWith([makeRule()]);
    model.process(trigger(H1));
    model.advance(5000);
    expect(model.process(trigger(H2))).toEqual(forward(R1));
    expect(model.process(inbound(R1, GW4))).toEqual(forward(H1));
    const table = (await model.read()).table;
    expect(table.entries).toEqual([
      { rule: 'game', family: 'ipv4', holder: H1, openedAt: 0, expiresAt: 5000 + IDLE_MS },
    ]);
    expect(table.conflicts).toEqual([{ rule: 'game', family: 'ipv4', contender: H2, holder: H1, at: 5000 }]);
  });

  it('does not let a contender refresh the entry', async () => {
    const model = await modelWith([makeRule()]);
    model.process(trigger(H1));
    model.advance(20_000);
    model.process(trigger(H2));
    expect((await model.read()).table.entries[0]?.expiresAt).toBe(IDLE_MS);
  });

  it('lets the next trigger take the rule once the entry has expired', async () => {
    const model = await modelWith([makeRule()]);
    model.process(trigger(H1));
    model.advance(IDLE_MS);
    model.process(trigger(H2));
    expect((await model.read()).table.entries).toEqual([
      { rule: 'game', family: 'ipv4', holder: H2, openedAt: IDLE_MS, expiresAt: 2 * IDLE_MS },
    ]);
    expect(model.process(inbound(R1, GW4))).toEqual(forward(H2));
  });
});

describe('ReferenceModel with remote: contacted', () => {
  const contacted = makeRule({ remote: 'contacted' });

  it('admits only the contacted remote, to the host that contacted it', async () => {
    const model = await modelWith([contacted]);
    model.process(trigger(H1, R1));
    expect(model.process(inbound(R1, GW4))).toEqual(forward(H1));
    expect(model.process(inbound(R2, GW4))).toEqual(LOCAL);
    expect((await model.read()).table.entries).toEqual([
      { rule: 'game', family: 'ipv4', holder: H1, remote: R1, openedAt: 0, expiresAt: IDLE_MS },
    ]);
  });

  it('lets different hosts hold the rule for different remotes at once', async () => {
    const model = await modelWith([contacted]);
    model.process(trigger(H1, R1));
    model.process(trigger(H2, R2));
    expect(model.process(inbound(R1, GW4))).toEqual(forward(H1));
    expect(model.process(inbound(R2, GW4))).toEqual(forward(H2));
    expect((await model.read()).table.entries.map((e) => [e.holder, e.remote])).toEqual([
      [H1, R1],
      [H2, R2],
    ]);
  });

  it('records a conflict with the remote when a second host contacts a held remote', async () => {
    const model = await modelWith([contacted]);
    model.process(trigger(H1, R1));
    model.advance(1000);
    model.process(trigger(H2, R1));
    const table = (await model.read()).table;
    expect(table.entries.map((e) => e.holder)).toEqual([H1]);
    expect(table.conflicts).toEqual([
      { rule: 'game', family: 'ipv4', contender: H2, holder: H1, remote: R1, at: 1000 },
    ]);
  });

  it('admits an IPv6 remote only to the host that contacted it', async () => {
    const model = await modelWith([contacted]);
    model.process(trigger(V6H1, V6R1));
    expect(model.process(inbound(V6R1, V6H1))).toEqual(forward(V6H1));
    expect(model.process(inbound(V6R2, V6H1))).toEqual(DROP);
    expect(model.process(inbound(V6R1, V6H2))).toEqual(DROP);
  });
});

describe('ReferenceModel lanHosts', () => {
  it('opens nothing for a host outside lanHosts and records it as blocked', async () => {
    const model = await modelWith([makeRule({ lanHosts: ['192.168.1.0/28', '2001:db8:1::/64'] })]);
    model.advance(2000);
    expect(model.process(trigger('192.168.1.20'))).toEqual(forward(R1));
    const table = (await model.read()).table;
    expect(table.entries).toEqual([]);
    expect(table.blocked).toEqual([{ rule: 'game', family: 'ipv4', host: '192.168.1.20', at: 2000 }]);
    expect(model.process(inbound(R1, GW4))).toEqual(LOCAL);
  });

  it.each([
    ['an IPv4 host inside a listed CIDR', H1],
    ['an IPv6 host inside a listed CIDR', V6H1],
  ])('lets %s trigger', async (_title, host) => {
    const model = await modelWith([makeRule({ lanHosts: ['192.168.1.0/28', '2001:db8:1::/64'] })]);
    model.process(trigger(host));
    expect((await model.read()).table.entries.map((e) => e.holder)).toEqual([host]);
  });

  it('blocks every host of a family that lanHosts does not list', async () => {
    const model = await modelWith([makeRule({ lanHosts: [H1] })]);
    model.process(trigger(V6H1));
    const table = (await model.read()).table;
    expect(table.entries).toEqual([]);
    expect(table.blocked).toEqual([{ rule: 'game', family: 'ipv6', host: V6H1, at: 0 }]);
  });

  it('blocks per rule: a shared trigger still opens the rules that allow the host', async () => {
    const model = await modelWith([
      makeRule({ name: 'strict', lanHosts: [H2], open: [{ protocol: 'udp', ports: '8000' }] }),
      makeRule({ name: 'open' }),
    ]);
    model.process(trigger(H1));
    const table = (await model.read()).table;
    expect(table.entries.map((e) => e.rule)).toEqual(['open']);
    expect(table.blocked.map((b) => b.rule)).toEqual(['strict']);
  });
});

describe('ReferenceModel records', () => {
  it('keeps one record, dated at the first attempt, for repeats inside the window', async () => {
    const model = await modelWith([makeRule()]);
    model.process(trigger(H1));
    model.advance(1000);
    model.process(trigger(H2));
    model.advance(30_000);
    model.process(trigger(H1));
    model.process(trigger(H2));
    expect((await model.read()).table.conflicts).toEqual([
      { rule: 'game', family: 'ipv4', contender: H2, holder: H1, at: 1000 },
    ]);
  });

  it('starts a new record once the window of the old one has passed', async () => {
    const model = await modelWith([makeRule({ lanHosts: [H2] })]);
    model.process(trigger(H1));
    model.advance(60_000);
    expect((await model.read()).table.blocked).toEqual([]);
    model.process(trigger(H1, R1, 40001));
    expect((await model.read()).table.blocked).toEqual([
      { rule: 'game', family: 'ipv4', host: H1, at: 60_000 },
    ]);
  });

  it('lists a record until the end of its window only', async () => {
    const model = await modelWith([makeRule({ lanHosts: [H2] })]);
    model.process(trigger(H1));
    model.advance(59_999);
    expect((await model.read()).table.blocked).toHaveLength(1);
    model.advance(1);
    expect((await model.read()).table.blocked).toEqual([]);
  });

  it('keeps separate conflict records per contender and per remote', async () => {
    const model = await modelWith([makeRule({ remote: 'contacted' })]);
    model.process(trigger(H1, R1));
    model.process(trigger(H1, R2));
    model.process(trigger(H2, R1));
    model.process(trigger(H2, R2));
    model.process(trigger('192.168.1.12', R1));
    const conflicts = (await model.read()).table.conflicts;
    expect(conflicts.map((c) => [c.contender, c.remote])).toEqual([
      [H2, R1],
      [H2, R2],
      ['192.168.1.12', R1],
    ]);
  });
});

describe('ReferenceModel inbound IPv4', () => {
  it.each<[string, ModelPacket, Decision]>([
    ['an open port of a held rule goes to the holder', inbound(R1, GW4, 7010), forward(H1)],
    ['a closed port ends at the gateway', inbound(R1, GW4, 7011), LOCAL],
    ['another protocol on the open port ends at the gateway', inbound(R1, GW4, 7000, 50000, 'tcp'), LOCAL],
    ['a WAN packet to a routed address is dropped in standalone', inbound(R1, '192.0.2.77'), DROP],
  ])('decides a new connection: %s', async (_title, packet, expected) => {
    const model = await modelWith([makeRule()]);
    model.process(trigger(H1));
    expect(model.process(packet)).toEqual(expected);
  });

  it('leaves a new connection to a routed address to the host firewall in companion mode', async () => {
    const model = await modelWith([makeRule()], { mode: 'companion' });
    expect(model.process(inbound(R1, '192.0.2.77'))).toEqual(PASS);
    expect(model.process(inbound(R1, GW4))).toEqual(LOCAL);
  });

  it('keeps an open port closed by default: without an entry it ends at the gateway', async () => {
    const model = await modelWith([makeRule()]);
    expect(model.process(inbound(R1, GW4))).toEqual(LOCAL);
  });

  it('translates inbound to any gateway address', async () => {
    const model = new ReferenceModel({ gatewayAddresses: [GW4, '198.51.100.2'] });
    await model.apply(makeConfig([makeRule()]));
    model.process(trigger(H1));
    expect(model.process(inbound(R1, '198.51.100.2'))).toEqual(forward(H1));
  });

  it('refreshes the entry with every inbound packet, new or established', async () => {
    const model = await modelWith([makeRule()]);
    model.process(trigger(H1));
    model.advance(10_000);
    model.process(inbound(R1, GW4));
    expect((await model.read()).table.entries[0]?.expiresAt).toBe(10_000 + IDLE_MS);
    model.advance(25_000);
    expect(model.process(inbound(R1, GW4))).toEqual(forward(H1));
    expect((await model.read()).table.entries[0]?.expiresAt).toBe(35_000 + IDLE_MS);
  });

  it('keeps an established connection on its host after a takeover (onExpire: keep), without refreshing', async () => {
    const model = await modelWith([makeRule()]);
    model.process(trigger(H1));
    const first = inbound(R1, GW4);
    model.process(first);
    model.advance(IDLE_MS);
    model.process(trigger(H2));
    expect(model.process(first)).toEqual(forward(H1));
    expect(model.process(inbound(R1, GW4, OPEN_PORT, 50001))).toEqual(forward(H2));
    expect((await model.read()).table.entries[0]).toMatchObject({ holder: H2, expiresAt: 2 * IDLE_MS });
  });

  it('keeps an established connection going after its entry expired (onExpire: keep)', async () => {
    const model = await modelWith([makeRule()]);
    model.process(trigger(H1));
    const first = inbound(R1, GW4);
    model.process(first);
    model.advance(IDLE_MS);
    expect(model.process(first)).toEqual(forward(H1));
    expect(model.process(inbound(R1, GW4, OPEN_PORT, 50001))).toEqual(LOCAL);
    expect((await model.read()).table.entries).toEqual([]);
  });

  it.each([
    ['expired', async (m: ReferenceModel) => m.advance(IDLE_MS)],
    [
      'taken over',
      async (m: ReferenceModel) => {
        m.advance(IDLE_MS);
        m.process(trigger(H2));
      },
    ],
    ['released', async (m: ReferenceModel) => void (await m.release({ rule: 'game' }))],
  ])(
    'drops both directions of an established connection once its entry is %s (onExpire: close)',
    async (_title, end) => {
      const model = await modelWith([makeRule({ onExpire: 'close' })]);
      model.process(trigger(H1));
      const first = inbound(R1, GW4);
      expect(model.process(first)).toEqual(forward(H1));
      expect(model.process(replyTo(first, H1))).toEqual(forward(R1));
      await end(model);
      expect(model.process(first)).toEqual(DROP);
      expect(model.process(replyTo(first, H1))).toEqual(DROP);
    },
  );

  it('lets a closed connection flow again when its host holds the entry again (onExpire: close)', async () => {
    const model = await modelWith([makeRule({ onExpire: 'close' })]);
    model.process(trigger(H1));
    const first = inbound(R1, GW4);
    model.process(first);
    model.advance(IDLE_MS);
    expect(model.process(first)).toEqual(DROP);
    model.process(trigger(H1, R1, 40001));
    expect(model.process(first)).toEqual(forward(H1));
  });

  it('checks a contacted connection against its own remote (onExpire: close)', async () => {
    const model = await modelWith([makeRule({ remote: 'contacted', onExpire: 'close' })]);
    model.process(trigger(H1, R1));
    model.process(trigger(H1, R2));
    const fromR1 = inbound(R1, GW4);
    const fromR2 = inbound(R2, GW4);
    model.process(fromR1);
    model.process(fromR2);
    await model.release({ rule: 'game', remote: R1 });
    expect(model.process(fromR1)).toEqual(DROP);
    expect(model.process(fromR2)).toEqual(forward(H1));
  });
});

describe('ReferenceModel inbound IPv6', () => {
  it.each<[string, ModelPacket, Decision]>([
    ['to the holder on an open port is admitted without NAT', inbound(V6R1, V6H1), forward(V6H1)],
    ['to another LAN host on an open port is dropped', inbound(V6R1, V6H2), DROP],
    ['to the holder on a closed port is dropped', inbound(V6R1, V6H1, 7011), DROP],
  ])('decides a new connection in standalone mode: %s', async (_title, packet, expected) => {
    const model = await modelWith([makeRule()]);
    model.process(trigger(V6H1));
    expect(model.process(packet)).toEqual(expected);
  });

  it.each<[string, ModelPacket, Decision]>([
    ['to the holder is admitted', inbound(V6R1, V6H1), forward(V6H1)],
    ['to another LAN host is left to the host firewall', inbound(V6R1, V6H2), PASS],
    ['on a closed port is left to the host firewall', inbound(V6R1, V6H1, 7011), PASS],
  ])('decides a new connection in companion mode: %s', async (_title, packet, expected) => {
    const model = await modelWith([makeRule()], { mode: 'companion' });
    model.process(trigger(V6H1));
    expect(model.process(packet)).toEqual(expected);
  });

  it('admits nothing for IPv6 when ipv6 is off', async () => {
    const model = await modelWith([makeRule()], { ipv6: false });
    model.process(trigger(V6H1));
    expect(model.process(inbound(V6R1, V6H1))).toEqual(DROP);
  });

  it('refreshes the entry with inbound packets and keeps established connections after expiry', async () => {
    const model = await modelWith([makeRule()]);
    model.process(trigger(V6H1));
    const first = inbound(V6R1, V6H1);
    model.advance(20_000);
    model.process(first);
    expect((await model.read()).table.entries[0]?.expiresAt).toBe(20_000 + IDLE_MS);
    model.advance(IDLE_MS);
    expect(model.process(first)).toEqual(forward(V6H1));
    expect(model.process(inbound(V6R1, V6H1, OPEN_PORT, 50001))).toEqual(DROP);
  });

  it('compares hosts by canonical address', async () => {
    const model = await modelWith([makeRule({ lanHosts: ['2001:DB8:1:0::/64'] })]);
    model.process(trigger('2001:DB8:1:0::10'));
    expect(model.process(inbound('2001:DB8:99:0::5', V6H1))).toEqual(forward(V6H1));
    model.process(trigger(V6H1));
    expect((await model.read()).table.entries).toEqual([
      { rule: 'game', family: 'ipv6', holder: V6H1, openedAt: 0, expiresAt: IDLE_MS },
    ]);
    expect((await model.read()).table.conflicts).toEqual([]);
  });
});

describe('ReferenceModel reply traffic', () => {
  it('forwards the IPv4 holder reply to the remote and counts it as traffic of the entry', async () => {
    const model = await modelWith([makeRule()]);
    model.process(trigger(H1));
    const first = inbound(R1, GW4, 7003, 51000);
    model.process(first);
    model.advance(10_000);
    expect(model.process(replyTo(first, H1))).toEqual(forward(R1));
    expect((await model.read()).table.entries[0]?.expiresAt).toBe(10_000 + IDLE_MS);
  });

  it('forwards the IPv6 reply and drops it once the holder lost the entry (onExpire: close)', async () => {
    const model = await modelWith([makeRule({ onExpire: 'close' })]);
    model.process(trigger(V6H1));
    const first = inbound(V6R1, V6H1);
    model.process(first);
    expect(model.process(replyTo(first, V6H1))).toEqual(forward(V6R1));
    model.advance(IDLE_MS);
    expect(model.process(replyTo(first, V6H1))).toEqual(DROP);
  });

  it('keeps forwarding replies after expiry with onExpire: keep', async () => {
    const model = await modelWith([makeRule()]);
    model.process(trigger(H1));
    const first = inbound(R1, GW4);
    model.process(first);
    model.advance(IDLE_MS);
    expect(model.process(replyTo(first, H1))).toEqual(forward(R1));
  });

  it('counts a reply to a trigger port as a trigger', async () => {
    const model = await modelWith([
      makeRule({ trigger: [{ protocol: 'both', ports: String(TRIGGER_PORT) }] }),
    ]);
    model.process(trigger(H1));
    const first = inbound(R1, GW4, OPEN_PORT, TRIGGER_PORT);
    model.process(first);
    model.advance(10_000);
    expect(model.process(replyTo(first, H1))).toEqual(forward(R1));
    expect((await model.read()).table.entries[0]?.expiresAt).toBe(10_000 + IDLE_MS);
  });
});

describe('ReferenceModel replies to LAN-initiated connections', () => {
  it.each<[string, Partial<Config>, ModelPacket, ModelPacket, Decision]>([
    [
      'an IPv6 reply in standalone mode',
      {},
      { side: 'lan', family: 'ipv6', protocol: 'udp', src: V6H1, sport: 45000, dst: V6R1, dport: 53 },
      inbound(V6R1, V6H1, 45000, 53),
      forward(V6H1),
    ],
    [
      'a masqueraded IPv4 reply in standalone mode',
      {},
      { side: 'lan', family: 'ipv4', protocol: 'udp', src: H1, sport: 45000, dst: R1, dport: 53 },
      inbound(R1, GW4, 45000, 53),
      forward(H1),
    ],
    [
      'a routed IPv4 reply in companion mode',
      { mode: 'companion' },
      { side: 'lan', family: 'ipv4', protocol: 'udp', src: '192.0.2.77', sport: 45000, dst: R1, dport: 53 },
      inbound(R1, '192.0.2.77', 45000, 53),
      forward('192.0.2.77'),
    ],
  ])('forwards %s as established', async (_title, overrides, out, back, expected) => {
    const model = await modelWith([makeRule()], overrides);
    expect(model.process(out)).toEqual(forward(out.dst));
    expect(model.process(back)).toEqual(expected);
  });

  it('drops an unsolicited IPv6 packet from the same remote on another port', async () => {
    const model = await modelWith([makeRule()]);
    model.process({
      side: 'lan',
      family: 'ipv6',
      protocol: 'udp',
      src: V6H1,
      sport: 45000,
      dst: V6R1,
      dport: 53,
    });
    expect(model.process(inbound(V6R1, V6H1, 45001, 53))).toEqual(DROP);
  });
});

describe('ReferenceModel expiry', () => {
  it('delivers until just before expiresAt and nothing from expiresAt on', async () => {
    const model = await modelWith([makeRule()]);
    model.process(trigger(H1));
    model.advance(IDLE_MS - 1);
    expect(model.process(inbound(R1, GW4, OPEN_PORT, 50001))).toEqual(forward(H1));
    model.advance(IDLE_MS);
    expect(model.process(inbound(R1, GW4, OPEN_PORT, 50002))).toEqual(LOCAL);
    expect((await model.read()).table.entries).toEqual([]);
  });

  it('does not let the holder refresh an expired entry: its trigger opens a new one', async () => {
    const model = await modelWith([makeRule()]);
    model.process(trigger(H1));
    model.advance(IDLE_MS);
    model.process(trigger(H1, R1, 40001));
    expect((await model.read()).table.entries).toEqual([
      { rule: 'game', family: 'ipv4', holder: H1, openedAt: IDLE_MS, expiresAt: 2 * IDLE_MS },
    ]);
  });

  it('keeps an entry open while its trigger connection carries packets, either direction', async () => {
    const model = await modelWith([makeRule()]);
    const first = trigger(H1);
    model.process(first);
    model.advance(IDLE_MS - 1);
    model.process(first); // a later packet of the same connection: traffic, not a new trigger
    model.advance(IDLE_MS - 1);
    expect(model.process(inbound(R1, GW4, first.sport, TRIGGER_PORT, 'tcp'))).toEqual(forward(H1)); // its reply
    model.advance(IDLE_MS - 1);
    expect((await model.read()).table.entries.map((e) => e.holder)).toEqual([H1]);
    model.advance(1);
    expect((await model.read()).table.entries).toEqual([]);
  });

  it('does not let a later packet of a connection open an entry: only a new connection triggers', async () => {
    const model = await modelWith([makeRule()]);
    const first = trigger(H1);
    model.process(first);
    model.advance(IDLE_MS);
    model.process(first);
    expect((await model.read()).table.entries).toEqual([]);
  });

  it('does not let a contender connection refresh the entry; it takes the rule the moment the entry ends', async () => {
    const model = await modelWith([makeRule()]);
    model.process(trigger(H1));
    const contender = trigger(H2);
    model.process(contender);
    model.advance(IDLE_MS - 1);
    model.process(contender); // traffic of a contender: refreshes nothing
    model.advance(1);
    expect((await model.read()).table.entries).toEqual([
      { rule: 'game', family: 'ipv4', holder: H2, openedAt: IDLE_MS, expiresAt: 2 * IDLE_MS - 1 },
    ]);
    model.process(contender); // from now on its traffic is the entry's
    model.advance(IDLE_MS - 1);
    expect((await model.read()).table.entries.map((e) => e.holder)).toEqual([H2]);
    expect(model.process(inbound(R1, GW4))).toEqual(forward(H2));
  });

  it('lets a quiet contender go: only a packet within the idle timeout takes the rule', async () => {
    const model = await modelWith([makeRule()]);
    const holder = trigger(H1);
    model.process(holder);
    model.process(trigger(H2)); // a contender that falls silent
    model.advance(IDLE_MS - 1);
    model.process(holder); // the holder keeps its entry
    model.advance(IDLE_MS);
    expect((await model.read()).table.entries).toEqual([]);
  });

  it('refuses to move the clock backwards', () => {
    expect(() => newModel().advance(-1)).toThrow(RangeError);
  });
});

describe('ReferenceModel apply', () => {
  it.each<[string, Partial<Rule>, Partial<Config>, number]>([
    ['the same rule', {}, {}, IDLE_MS],
    ['a longer idle timeout (expiry unchanged)', { idleTimeout: 300 }, {}, IDLE_MS],
    ['a shorter idle timeout (expiry capped)', { idleTimeout: 5 }, {}, 10_000 + 5000],
    [
      'the same open ports written differently',
      { open: [{ protocol: 'udp', ports: '7006-7010,7000-7005' }] },
      {},
      IDLE_MS,
    ],
    ['other trigger ports', { trigger: [{ protocol: 'udp', ports: '9999' }] }, {}, IDLE_MS],
    ['onExpire changed', { onExpire: 'close' }, {}, IDLE_MS],
    ['the holder still inside lanHosts', { lanHosts: ['192.168.1.0/24'] }, {}, IDLE_MS],
    ['the other mode', {}, { mode: 'companion' }, IDLE_MS],
  ])('keeps an entry across a reload with %s', async (_title, ruleOverrides, configOverrides, expiresAt) => {
    const model = await modelWith([makeRule()]);
    model.process(trigger(H1));
    model.advance(10_000);
    const report = await model.apply(makeConfig([makeRule(ruleOverrides)], configOverrides));
    expect(report).toEqual({ kept: 1, dropped: 0 });
    expect((await model.read()).table.entries).toEqual([
      { rule: 'game', family: 'ipv4', holder: H1, openedAt: 0, expiresAt },
    ]);
  });

  it.each<[string, readonly Rule[], Partial<Config>]>([
    ['the rule is removed', [makeRule({ name: 'other', trigger: [{ protocol: 'tcp', ports: '6001' }] })], {}],
    ['the rule is disabled', [makeRule({ enabled: false })], {}],
    ['the global switch is off', [makeRule()], { enabled: false }],
    ['the family leaves the rule', [makeRule({ family: 'ipv6' })], {}],
    ['lanHosts no longer allows the holder', [makeRule({ lanHosts: [H2] })], {}],
  ])('closes an entry when %s', async (_title, rules, configOverrides) => {
    const model = await modelWith([makeRule()]);
    model.process(trigger(H1));
    const report = await model.apply(makeConfig(rules, configOverrides));
    expect(report).toEqual({ kept: 0, dropped: 1 });
    expect((await model.read()).table.entries).toEqual([]);
    expect(model.process(inbound(R1, GW4))).toEqual(LOCAL);
  });

  it.each<[string, Partial<Rule>, string | undefined]>([
    ['the open ports change', { open: [{ protocol: 'udp', ports: '7000-7011' }] }, undefined],
    ['the open protocol changes', { open: [{ protocol: 'both', ports: '7000-7010' }] }, undefined],
    ['the remote policy changes', { remote: 'contacted' }, R1],
  ])(
    'closes an entry when %s, and the live trigger connection takes the changed rule anew',
    async (_title, changes, remote) => {
      const model = await modelWith([makeRule()]);
      model.process(trigger(H1));
      model.advance(10_000);
      const report = await model.apply(makeConfig([makeRule(changes)]));
      expect(report).toEqual({ kept: 0, dropped: 1 });
      expect((await model.read()).table.entries).toEqual([
        {
          rule: 'game',
          family: 'ipv4',
          holder: H1,
          ...(remote ? { remote } : {}),
          openedAt: 10_000,
          expiresAt: IDLE_MS,
        },
      ]);
    },
  );

  it('closes IPv6 entries when ipv6 is turned off and keeps the IPv4 ones', async () => {
    const model = await modelWith([makeRule()]);
    model.process(trigger(H1));
    model.process(trigger(V6H1));
    expect(await model.apply(makeConfig([makeRule()], { ipv6: false }))).toEqual({ kept: 1, dropped: 1 });
    expect((await model.read()).table.entries.map((e) => e.family)).toEqual(['ipv4']);
  });

  it('does not count entries that expired before the reload', async () => {
    const model = await modelWith([makeRule()]);
    model.process(trigger(H1));
    model.advance(IDLE_MS);
    expect(await model.apply(makeConfig([]))).toEqual({ kept: 0, dropped: 0 });
  });

  it('keeps the records of rules that stay enabled and drops the others', async () => {
    const model = await modelWith([
      makeRule({ name: 'stays', lanHosts: [H2] }),
      makeRule({ name: 'goes', lanHosts: [H2], open: [{ protocol: 'udp', ports: '8000' }] }),
      makeRule({ name: 'off', lanHosts: [H2], open: [{ protocol: 'udp', ports: '9000' }] }),
    ]);
    model.process(trigger(H1));
    await model.apply(
      makeConfig([
        makeRule({ name: 'stays', lanHosts: [H2] }),
        makeRule({ name: 'off', enabled: false, open: [{ protocol: 'udp', ports: '9000' }] }),
      ]),
    );
    expect((await model.read()).table.blocked.map((b) => b.rule)).toEqual(['stays']);
  });

  it('drops every record when the global switch goes off', async () => {
    const model = await modelWith([makeRule()]);
    model.process(trigger(H1));
    model.process(trigger(H2));
    await model.apply(makeConfig([makeRule()], { enabled: false }));
    expect((await model.read()).table.conflicts).toEqual([]);
  });

  it('stops policing connections of a removed rule, as the kernel whose chains are gone (onExpire: close)', async () => {
    const model = await modelWith([
      makeRule({ name: 'kept' }),
      makeRule({ name: 'closed', onExpire: 'close', open: [{ protocol: 'udp', ports: '8000' }] }),
    ]);
    model.process(trigger(H1));
    const toKept = inbound(R1, GW4, 7000);
    const toClosed = inbound(R1, GW4, 8000);
    expect(model.process(toKept)).toEqual(forward(H1));
    expect(model.process(toClosed)).toEqual(forward(H1));
    await model.apply(makeConfig([]));
    expect(model.process(toKept)).toEqual(forward(H1));
    expect(model.process(toClosed)).toEqual(forward(H1));
  });

  it('keeps policing connections of a rule that stays, after its entry was dropped by a reload', async () => {
    const closed = makeRule({
      name: 'closed',
      onExpire: 'close',
      open: [{ protocol: 'udp', ports: '8000' }],
    });
    const model = await modelWith([closed]);
    model.process(trigger(H1));
    const toClosed = inbound(R1, GW4, 8000);
    expect(model.process(toClosed)).toEqual(forward(H1));
    await model.apply(makeConfig([{ ...closed, lanHosts: ['192.0.2.99'] }]));
    expect(model.process(toClosed)).toEqual(DROP);
  });

  it('opens with the rules of the new config', async () => {
    const model = await modelWith([makeRule()]);
    await model.apply(makeConfig([makeRule({ trigger: [{ protocol: 'udp', ports: '9999' }] })]));
    model.process(trigger(H1));
    expect(model.process(inbound(R1, GW4))).toEqual(LOCAL);
    model.process({ ...trigger(H1), protocol: 'udp', dport: 9999 });
    expect(model.process(inbound(R1, GW4))).toEqual(forward(H1));
  });
});

describe('ReferenceModel live trigger connections (docs/semantics.md, 5)', () => {
  it('gives a rule added under a live connection to that connection at once', async () => {
    const model = await modelWith([]);
    const irc = trigger(H1);
    model.process(irc);
    model.advance(5_000);
    model.process(irc);
    model.advance(1_000);
    await model.apply(makeConfig([makeRule()]));
    expect((await model.read()).table.entries).toEqual([
      { rule: 'game', family: 'ipv4', holder: H1, openedAt: 6_000, expiresAt: 5_000 + IDLE_MS },
    ]);
    expect(model.process(inbound(R1, GW4))).toEqual(forward(H1));
    model.advance(IDLE_MS - 2_000);
    model.process(irc); // the adopted connection refreshes like any trigger connection
    expect((await model.read()).table.entries[0]?.expiresAt).toBe(34_000 + IDLE_MS);
  });

  it('gives the rule to the most recent connection; the others are contenders', async () => {
    const model = await modelWith([]);
    const first = trigger(H1);
    const second = trigger(H2);
    model.process(first);
    model.process(second);
    model.advance(1_000);
    model.process(second);
    await model.apply(makeConfig([makeRule()]));
    expect((await model.read()).table.entries.map((e) => e.holder)).toEqual([H2]);
    model.advance(IDLE_MS - 2_000);
    model.process(first); // the contender is still in use when H2's entry ends
    model.advance(2_000);
    expect((await model.read()).table.entries).toEqual([
      { rule: 'game', family: 'ipv4', holder: H1, openedAt: 1_000 + IDLE_MS, expiresAt: 2 * IDLE_MS - 1_000 },
    ]);
  });

  it.each<[string, Partial<Rule>, number]>([
    ['silent for longer than the idle timeout', {}, IDLE_MS],
    ['from a host outside lanHosts', { lanHosts: [H2] }, 0],
    ['to a port that is not a trigger port', { trigger: [{ protocol: 'tcp', ports: '6001' }] }, 0],
  ])('does not count a connection %s', async (_title, rule, wait) => {
    const model = await modelWith([]);
    model.process(trigger(H1));
    model.advance(wait);
    await model.apply(makeConfig([makeRule(rule)]));
    expect((await model.read()).table.entries).toEqual([]);
  });

  it('gives a rule that is enabled again to its live connection', async () => {
    const model = await modelWith([makeRule()]);
    const irc = trigger(H1);
    model.process(irc);
    await model.apply(makeConfig([makeRule({ enabled: false })]));
    expect((await model.read()).table.entries).toEqual([]);
    model.advance(1_000);
    model.process(irc);
    await model.apply(makeConfig([makeRule()]));
    expect((await model.read()).table.entries.map((e) => [e.holder, e.openedAt])).toEqual([[H1, 1_000]]);
  });

  it('adopts per remote with remote: contacted', async () => {
    const model = await modelWith([]);
    model.process(trigger(H1, R1));
    model.process(trigger(H2, R2));
    await model.apply(makeConfig([makeRule({ remote: 'contacted' })]));
    expect((await model.read()).table.entries.map((e) => [e.holder, e.remote])).toEqual([
      [H1, R1],
      [H2, R2],
    ]);
  });

  it('hands a released rule to a contender at once, never back to the released holder’s old connection', async () => {
    const model = await modelWith([makeRule()]);
    const holder = trigger(H1);
    const contender = trigger(H2);
    model.process(holder);
    model.process(contender);
    model.advance(1_000);
    expect(await model.release({ rule: 'game', holder: H1 })).toBe(1);
    expect((await model.read()).table.entries.map((e) => [e.holder, e.openedAt])).toEqual([[H2, 1_000]]);
    model.process(holder); // the released holder's old connection carries on
    model.advance(IDLE_MS);
    model.process(holder);
    model.advance(IDLE_MS);
    expect((await model.read()).table.entries).toEqual([]);
    await model.apply(makeConfig([makeRule()]));
    expect((await model.read()).table.entries).toEqual([]);
    model.process(trigger(H1, R1, 40001)); // a new connection takes the rule as any trigger
    expect((await model.read()).table.entries.map((e) => e.holder)).toEqual([H1]);
  });

  it('keeps the holder of the moment in a conflict after the contender took over', async () => {
    const model = await modelWith([makeRule()]);
    model.process(trigger(H1));
    const contender = trigger(H2);
    model.process(contender);
    model.advance(IDLE_MS - 1);
    model.process(contender);
    model.advance(1);
    const table = (await model.read()).table;
    expect(table.entries.map((e) => e.holder)).toEqual([H2]);
    expect(table.conflicts.map((c) => [c.contender, c.holder])).toEqual([[H2, H1]]);
  });
});

describe('ReferenceModel release', () => {
  async function heldModel(): Promise<ReferenceModel> {
    const model = await modelWith([
      makeRule({ remote: 'contacted' }),
      makeRule({ name: 'voice', open: [{ protocol: 'udp', ports: '8000' }] }),
    ]);
    model.process(trigger(H1, R1));
    model.process(trigger(H1, R2));
    model.process(trigger(H2, '203.0.113.7'));
    model.process(trigger(V6H1, V6R1));
    return model;
  }

  it.each<[string, Parameters<ReferenceModel['release']>[0], number]>([
    ['every entry of a rule', { rule: 'game' }, 4],
    ['the entries of one holder', { rule: 'game', holder: H1 }, 2],
    ['one remote of one holder', { rule: 'game', holder: H1, remote: R2 }, 1],
    ['one family', { rule: 'game', family: 'ipv6' }, 1],
    ['a holder written non-canonically', { rule: 'game', holder: '2001:DB8:1:0::10' }, 1],
    ['nothing for an unknown rule', { rule: 'nope' }, 0],
    ['nothing for a holder without entries', { rule: 'game', holder: '192.168.1.99' }, 0],
  ])('releases %s', async (_title, selector, count) => {
    const model = await heldModel();
    const before = (await model.read()).table.entries.length;
    expect(await model.release(selector)).toBe(count);
    expect((await model.read()).table.entries).toHaveLength(before - count);
  });

  it('closes a released entry as if it had expired', async () => {
    const model = await heldModel();
    await model.release({ rule: 'game', holder: H1, remote: R1 });
    expect(model.process(inbound(R1, GW4))).toEqual(LOCAL);
    expect(model.process(inbound(R2, GW4))).toEqual(forward(H1));
    model.process(trigger(H2, R1));
    expect(model.process(inbound(R1, GW4, OPEN_PORT, 50001))).toEqual(forward(H2));
  });

  it('does not count expired entries', async () => {
    const model = await heldModel();
    model.advance(IDLE_MS);
    expect(await model.release({ rule: 'game' })).toBe(0);
  });
});

describe('ReferenceModel read', () => {
  it('sorts entries by rule, family, holder and remote', async () => {
    const model = await modelWith([
      makeRule({ name: 'b', remote: 'contacted' }),
      makeRule({ name: 'a', open: [{ protocol: 'udp', ports: '8000' }] }),
    ]);
    model.process(trigger(V6H1, V6R1));
    model.process(trigger(H2, R2));
    model.process(trigger(H1, R2));
    model.process(trigger(H1, R1));
    const entries = (await model.read()).table.entries;
    expect(entries.map((e) => [e.rule, e.family, e.holder, e.remote ?? '-'])).toEqual([
      ['a', 'ipv4', H2, '-'],
      ['a', 'ipv6', V6H1, '-'],
      ['b', 'ipv4', H1, R1],
      ['b', 'ipv4', H2, R2],
      ['b', 'ipv6', V6H1, V6R1],
    ]);
  });
});

describe('model helpers', () => {
  const connection = (port: number): Connection => ({
    kind: 'outbound',
    family: 'ipv4',
    protocol: 'tcp',
    host: H1,
    remote: R1,
    port,
    lastPacketAt: 0,
    links: [],
    ended: false,
    released: false,
  });
  const tuple = (sport: number, dport = 80): FlowTuple => ({
    protocol: 'tcp',
    src: H1,
    sport,
    dst: R1,
    dport,
  });
  const back = (sport: number): FlowTuple => ({ protocol: 'tcp', src: R1, sport: 80, dst: H1, dport: sport });

  it('finds a connection by either direction and keeps connections apart that differ in one part', () => {
    const tracker = new ConnectionTracker();
    const c = connection(80);
    tracker.track(c, tuple(1000), back(1000));
    expect(tracker.find(tuple(1000))).toEqual({ connection: c, direction: 'original' });
    expect(tracker.find(back(1000))).toEqual({ connection: c, direction: 'reply' });
    expect(tracker.find(tuple(1001))).toBeUndefined();
    expect(tracker.find({ ...tuple(1000), protocol: 'udp' })).toBeUndefined();
  });

  it('forgets the oldest connections first once the tracker is full', () => {
    const tracker = new ConnectionTracker(3);
    for (let sport = 1; sport <= 5; sport++) tracker.track(connection(80), tuple(sport), back(sport));
    expect([1, 2, 3, 4, 5].map((sport) => tracker.find(tuple(sport)) !== undefined)).toEqual([
      false,
      false,
      true,
      true,
      true,
    ]);
    expect([...tracker.all()].length).toBe(3);
  });

  it('finds every value whose range holds a port, in the order given', () => {
    const index = buildPortIndex([
      { range: { from: 10, to: 20 }, value: 'a' },
      { range: { from: 15, to: 30 }, value: 'b' },
      { range: { from: 40, to: 40 }, value: 'c' },
    ]);
    expect([9, 10, 14, 15, 20, 21, 30, 31, 40, 41].map((port) => lookupPort(index, port).join(''))).toEqual([
      '',
      'a',
      'a',
      'ab',
      'ab',
      'b',
      'b',
      '',
      'c',
      '',
    ]);
  });
});
