import { describe, expect, it } from 'vitest';
import type { Config, Mode, PortSpec, Rule } from '../../src/domain/types.js';
import { LAB_ADDRESSES } from '../../src/lab/virtual-network.js';
import { rule as baseRule } from '../factories.js';
import type { ScenarioTarget, TargetCapability, TargetFactory } from './target.js';

const A = LAB_ADDRESSES.hosts;

/** A rule with the defaults of the config file, overridden by `over`. */
export function rule(over: Partial<Rule> & { name: string }): Rule {
  // Long enough that nothing expires by accident on a loaded machine; expiry scenarios set their own.
  return baseRule({ open: [{ protocol: 'udp', ports: '7000-7010' }], idleTimeout: 10, ...over });
}

/** A config for the test network: LAN bridge br-lan, WAN wan0. */
export function labConfig(rules: Rule[], over: Partial<Config> & { mode?: Mode } = {}): Config {
  return {
    interfaces: { lan: [LAB_ADDRESSES.router.lan.interface], wan: [LAB_ADDRESSES.router.wan.interface] },
    mode: 'standalone',
    enabled: true,
    ipv6: true,
    rules,
    ...over,
  };
}

const udp = (port: number) => ({ protocol: 'udp', port }) as const;
const tcp = (port: number) => ({ protocol: 'tcp', port }) as const;
const ports = (protocol: PortSpec['protocol'], list: string): PortSpec => ({ protocol, ports: list });

/** One scenario of docs/semantics.md, run against any target that has what it requires. */
export interface Scenario {
  readonly id: string;
  readonly title: string;
  /** A capability the target must declare; on a target without it the scenario is skipped, with the reason. */
  readonly requires?: TargetCapability;
  readonly run: (t: ScenarioTarget) => Promise<void>;
}

/**
 * Every scenario of the semantics, S1 to S18. Expiry scenarios use short timeouts (3-4 s) so
 * that the kernel run stays fast; their waits keep at least 0.8 s from every expiry so that a loaded machine does not tip a packet over the edge.
 */
export const SCENARIOS: readonly Scenario[] = [
  {
    id: 'S1',
    title: 'closed by default: inbound to an open port with no entry reaches no LAN host',
    async run(t) {
      await t.apply(labConfig([rule({ name: 'game' })]));
      expect(await t.inbound('wan1', udp(7000))).toBeNull();
      expect(await t.inbound('wan1', { protocol: 'udp', port: 7000, family: 'ipv6' }, 'lan1')).toBeNull();
      expect((await t.table()).entries).toEqual([]);
    },
  },
  {
    id: 'S2',
    title: 'a trigger opens the open ports to the triggering host, same port numbers',
    async run(t) {
      await t.apply(labConfig([rule({ name: 'game', idleTimeout: 10 })]));
      await t.trigger('lan1', 'wan1', tcp(6970));
      expect(await t.inbound('wan1', udp(7000))).toBe('lan1');
      expect(await t.inbound('wan2', udp(7010))).toBe('lan1');
      expect(await t.inbound('wan1', udp(7011))).toBeNull();
      expect(await t.inbound('wan1', tcp(7000))).toBeNull();
      const table = await t.table();
      expect(table.entries.map((e) => [e.rule, e.family, e.holder, e.remote])).toEqual([
        ['game', 'ipv4', A.lan1.ipv4, undefined],
      ]);
      const [entry] = table.entries;
      expect(entry!.expiresAt).toBeGreaterThan(table.at);
      expect(entry!.expiresAt).toBeLessThanOrEqual(table.at + 10_000);
    },
  },
  {
    id: 'S3',
    title: 'zero latency: the inbound packet right after the trigger is delivered',
    async run(t) {
      await t.apply(
        labConfig([rule({ name: 'voice', trigger: [ports('udp', '5060')], open: [ports('udp', '10000')] })]),
      );
      await t.trigger('lan2', 'wan1', udp(5060));
      expect(await t.inbound('wan1', udp(10000))).toBe('lan2');
    },
  },
  {
    id: 'S4',
    title:
      'idle timeout: trigger and inbound traffic refresh the entry; it closes idleTimeout after the last',
    async run(t) {
      // Every wait starts after the previous packet arrived, so delays of the machine only add to the margins.
      // Later packets of a connection count from the connection tracker, which the kernel reads in whole
      // seconds: an entry may close up to a second after the model's time, so margins are wider than that.
      await t.apply(labConfig([rule({ name: 'game', idleTimeout: 5 })]));
      await t.trigger('lan1', 'wan1', tcp(6970));
      await t.wait(3500);
      await t.trigger('lan1', 'wan1', tcp(6970)); // refresh by a new trigger connection
      await t.wait(3000);
      expect(await t.inbound('wan1', udp(7001))).toBe('lan1'); // 6.5 s after the first trigger: refreshed
      await t.wait(3500);
      expect(await t.inbound('wan2', udp(7002))).toBe('lan1'); // alive only thanks to the inbound refresh
      await t.wait(7000);
      expect(await t.inbound('wan1', udp(7003))).toBeNull();
      expect((await t.table()).entries).toEqual([]);
    },
  },
  {
    id: 'S4b',
    title: 'idle timeout: an established connection that keeps sending keeps its entry open; then it closes',
    async run(t) {
      await t.apply(labConfig([rule({ name: 'game', idleTimeout: 4 })]));
      await t.trigger('lan1', 'wan1', tcp(6970));
      const flow = await t.connect('wan1', udp(7000));
      expect(flow).not.toBeNull();
      // Eight seconds of traffic on one connection, twice the idle timeout: only its first packet was new.
      for (let i = 0; i < 8; i++) {
        await t.wait(1000);
        expect(await flow!.send()).toBe('lan1');
      }
      const open = await t.table();
      expect(open.entries.map((e) => e.holder)).toEqual([A.lan1.ipv4]);
      // Silence: the entry closes about idleTimeout after the last packet (the kernel: up to a second later).
      await t.wait(6000);
      expect((await t.table()).entries).toEqual([]);
      expect(await t.inbound('wan2', udp(7001))).toBeNull();
    },
  },
  {
    id: 'S4c',
    title: 'idle timeout: a trigger connection that keeps carrying packets keeps its entry open',
    async run(t) {
      await t.apply(
        labConfig([
          rule({
            name: 'voice',
            trigger: [ports('udp', '5060')],
            open: [ports('udp', '10000')],
            idleTimeout: 4,
          }),
        ]),
      );
      const call = await t.openTrigger('lan1', 'wan1', udp(5060));
      for (let i = 0; i < 8; i++) {
        await t.wait(1000);
        await call.send();
      }
      expect((await t.table()).entries.map((e) => e.holder)).toEqual([A.lan1.ipv4]);
      expect(await t.inbound('wan1', udp(10000))).toBe('lan1');
    },
  },
  {
    id: 'S5',
    title: 'one holder per rule: a second host is refused, recorded as a conflict, and wins after expiry',
    async run(t) {
      await t.apply(labConfig([rule({ name: 'game', idleTimeout: 4 })]));
      await t.trigger('lan1', 'wan1', tcp(6970));
      await t.wait(1000);
      await t.trigger('lan2', 'wan1', tcp(6970)); // must not refresh lan1's entry
      expect(await t.inbound('wan1', udp(7000))).toBe('lan1'); // refreshes: expires 4 s from now
      const table = await t.table();
      expect(table.entries.map((e) => e.holder)).toEqual([A.lan1.ipv4]);
      expect(table.conflicts.map((c) => [c.rule, c.family, c.contender, c.holder])).toEqual([
        ['game', 'ipv4', A.lan2.ipv4, A.lan1.ipv4],
      ]);
      // Past the expiry, and past the kernel's collection of the expired holder (docs/semantics.md).
      await t.wait(6500);
      expect(await t.inbound('wan1', udp(7000))).toBeNull();
      await t.trigger('lan2', 'wan1', tcp(6970));
      expect(await t.inbound('wan1', udp(7000))).toBe('lan2');
    },
  },
  {
    id: 'S6',
    title: 'remote contacted: only the contacted remote gets through, to the host that contacted it',
    async run(t) {
      await t.apply(labConfig([rule({ name: 'p2p', remote: 'contacted', family: 'ipv4' })]));
      await t.trigger('lan1', 'wan1', tcp(6970));
      await t.trigger('lan2', 'wan2', tcp(6970));
      expect(await t.inbound('wan1', udp(7000))).toBe('lan1');
      expect(await t.inbound('wan2', udp(7000))).toBe('lan2');
      const table = await t.table();
      expect(table.entries.map((e) => [e.holder, e.remote])).toEqual([
        [A.lan1.ipv4, A.wan1.ipv4],
        [A.lan2.ipv4, A.wan2.ipv4],
      ]);
      await t.trigger('lan2', 'wan1', tcp(6970)); // wan1 is held by lan1
      expect((await t.table()).conflicts.map((c) => [c.contender, c.remote, c.holder])).toEqual([
        [A.lan2.ipv4, A.wan1.ipv4, A.lan1.ipv4],
      ]);
      expect(await t.inbound('wan1', udp(7001))).toBe('lan1');
    },
  },
  {
    id: 'S6b',
    title: 'remote contacted: a WAN host that was not contacted gets nothing',
    async run(t) {
      await t.apply(labConfig([rule({ name: 'p2p', remote: 'contacted', family: 'ipv4' })]));
      await t.trigger('lan1', 'wan1', tcp(6970));
      expect(await t.inbound('wan2', udp(7000))).toBeNull();
      expect(await t.inbound('wan1', udp(7000))).toBe('lan1');
    },
  },
  {
    id: 'S7',
    title: 'lanHosts: a host outside the list opens nothing and is recorded as blocked',
    async run(t) {
      await t.apply(labConfig([rule({ name: 'game', lanHosts: [A.lan1.ipv4, '2001:db8:1::/64'] })]));
      await t.trigger('lan2', 'wan1', tcp(6970));
      expect(await t.inbound('wan1', udp(7000))).toBeNull();
      const table = await t.table();
      expect(table.entries).toEqual([]);
      expect(table.blocked.map((b) => [b.rule, b.family, b.host])).toEqual([['game', 'ipv4', A.lan2.ipv4]]);
      await t.trigger('lan1', 'wan1', tcp(6970));
      expect(await t.inbound('wan1', udp(7000))).toBe('lan1');
    },
  },
  {
    id: 'S8',
    title: 'protocols are independent on each side, with lists of ranges and both',
    async run(t) {
      await t.apply(
        labConfig([
          rule({
            name: 'multi',
            trigger: [ports('udp', '3000-3002,3010')],
            open: [ports('both', '8000-8001,8005'), ports('tcp', '9000')],
          }),
        ]),
      );
      await t.trigger('lan1', 'wan1', tcp(3000)); // TCP is not a trigger of this rule
      expect(await t.inbound('wan1', udp(8000))).toBeNull();
      await t.trigger('lan1', 'wan1', udp(3010));
      expect(await t.inbound('wan1', udp(8001))).toBe('lan1');
      expect(await t.inbound('wan1', tcp(8005))).toBe('lan1');
      expect(await t.inbound('wan1', tcp(9000))).toBe('lan1');
      expect(await t.inbound('wan1', udp(9000))).toBeNull();
      expect(await t.inbound('wan1', udp(8002))).toBeNull();
      // The range of the trigger list opens the same ports as its single port.
      expect(await t.release({ rule: 'multi' })).toBe(1);
      expect(await t.inbound('wan1', udp(8005))).toBeNull();
      await t.trigger('lan2', 'wan1', udp(3001));
      expect(await t.inbound('wan1', udp(8005))).toBe('lan2');
      expect(await t.inbound('wan1', tcp(8000))).toBe('lan2');
      expect(await t.inbound('wan1', tcp(9000))).toBe('lan2');
    },
  },
  {
    id: 'S9',
    title: 'a disabled rule or the global switch off opens nothing; disabling closes entries',
    async run(t) {
      const on = rule({ name: 'game' });
      await t.apply(labConfig([{ ...on, enabled: false }]));
      await t.trigger('lan1', 'wan1', tcp(6970));
      expect(await t.inbound('wan1', udp(7000))).toBeNull();
      await t.apply(labConfig([on], { enabled: false }));
      await t.trigger('lan1', 'wan1', tcp(6970));
      expect(await t.inbound('wan1', udp(7000))).toBeNull();
      await t.apply(labConfig([on]));
      await t.trigger('lan1', 'wan1', tcp(6970));
      expect(await t.inbound('wan1', udp(7000))).toBe('lan1');
      const report = await t.apply(labConfig([{ ...on, enabled: false }]));
      expect(report).toEqual({ kept: 0, dropped: 1 });
      expect(await t.inbound('wan1', udp(7000))).toBeNull();
      expect((await t.table()).entries).toEqual([]);
    },
  },
  {
    id: 'S10',
    title: 'only from the LAN: trigger-port traffic arriving on the WAN opens nothing',
    async run(t) {
      await t.apply(labConfig([rule({ name: 'game' })]));
      await t.triggerFromWan('wan1', tcp(6970));
      expect(await t.inbound('wan1', udp(7000))).toBeNull();
      expect((await t.table()).entries).toEqual([]);
    },
  },
  {
    id: 'S11',
    title: 'IPv6: a trigger opens a pinhole to the host’s own address, with one holder per family',
    async run(t) {
      await t.apply(labConfig([rule({ name: 'game', idleTimeout: 10 })]));
      const v6 = { protocol: 'udp', port: 7000, family: 'ipv6' } as const;
      expect(await t.inbound('wan1', v6, 'lan1')).toBeNull();
      await t.trigger('lan1', 'wan1', { protocol: 'tcp', port: 6970, family: 'ipv6' });
      expect(await t.inbound('wan1', v6, 'lan1')).toBe('lan1');
      expect(await t.inbound('wan2', { ...v6, port: 7005 }, 'lan2')).toBeNull();
      expect(await t.inbound('wan1', udp(7000))).toBeNull(); // the IPv4 side is a separate entry
      await t.trigger('lan2', 'wan1', { protocol: 'tcp', port: 6970, family: 'ipv6' });
      const table = await t.table();
      expect(table.entries.map((e) => [e.family, e.holder])).toEqual([['ipv6', A.lan1.ipv6]]);
      expect(table.conflicts.map((c) => [c.family, c.contender])).toEqual([['ipv6', A.lan2.ipv6]]);
      await t.trigger('lan2', 'wan1', tcp(6970));
      expect(await t.inbound('wan1', udp(7000))).toBe('lan2');
    },
  },
  {
    id: 'S12',
    title: 'onExpire keep lets established connections finish; close stops them when the entry expires',
    async run(t) {
      await t.apply(
        labConfig([
          rule({ name: 'keeper', open: [ports('tcp', '7100')], idleTimeout: 3 }),
          rule({
            name: 'closer',
            trigger: [ports('tcp', '6971')],
            open: [ports('tcp', '7200')],
            onExpire: 'close',
            idleTimeout: 3,
          }),
        ]),
      );
      await t.trigger('lan1', 'wan1', tcp(6970));
      await t.trigger('lan2', 'wan1', tcp(6971));
      const kept = await t.connect('wan1', tcp(7100));
      const closed = await t.connect('wan1', tcp(7200));
      expect(kept).not.toBeNull();
      expect(closed).not.toBeNull();
      expect(await kept!.send()).toBe('lan1');
      expect(await closed!.send()).toBe('lan2');
      await t.wait(5000);
      expect(await kept!.send()).toBe('lan1');
      expect(await closed!.send()).toBeNull();
      expect(await t.inbound('wan1', tcp(7100))).toBeNull();
    },
  },
  {
    id: 'S13',
    title: 'release drops an entry on demand',
    async run(t) {
      await t.apply(labConfig([rule({ name: 'game', idleTimeout: 30 })]));
      await t.trigger('lan1', 'wan1', tcp(6970));
      expect(await t.inbound('wan1', udp(7000))).toBe('lan1');
      expect(await t.release({ rule: 'game', holder: A.lan2.ipv4 })).toBe(0);
      expect(await t.release({ rule: 'game', holder: A.lan1.ipv4 })).toBe(1);
      expect(await t.inbound('wan1', udp(7000))).toBeNull();
      await t.trigger('lan2', 'wan1', tcp(6970));
      expect(await t.inbound('wan1', udp(7000))).toBe('lan2');
    },
  },
  {
    id: 'S14',
    title: 'reload keeps entries of unchanged rules, with remaining time, and drops changed ones',
    async run(t) {
      const game = rule({ name: 'game', idleTimeout: 30 });
      const chat = rule({
        name: 'chat',
        trigger: [ports('udp', '5000')],
        open: [ports('udp', '9100')],
        idleTimeout: 30,
      });
      await t.apply(labConfig([game, chat]));
      await t.trigger('lan1', 'wan1', tcp(6970));
      await t.trigger('lan2', 'wan1', udp(5000));
      const before = await t.table();
      // A new rule, a shorter timeout for game (its sets are re-created and re-seeded), chat's open ports moved.
      const report = await t.apply(
        labConfig([
          { ...game, idleTimeout: 20 },
          { ...chat, open: [ports('udp', '9200')] },
          rule({ name: 'new', trigger: [ports('tcp', '1234')], open: [ports('tcp', '4321')] }),
        ]),
      );
      expect(report).toEqual({ kept: 1, dropped: 1 });
      const after = await t.table();
      // chat's entry closed with its rule; lan2's trigger connection (UDP, still tracked) takes the changed rule.
      expect(after.entries.map((e) => [e.rule, e.holder])).toEqual([
        ['chat', A.lan2.ipv4],
        ['game', A.lan1.ipv4],
      ]);
      const left = after.entries[1]!.expiresAt - after.at;
      expect(left).toBeLessThanOrEqual(20_000);
      expect(left).toBeGreaterThan(15_000);
      expect(before.entries.length).toBe(2);
      expect(await t.inbound('wan1', udp(7000))).toBe('lan1');
      expect(await t.inbound('wan1', udp(9100))).toBeNull();
      expect(await t.inbound('wan1', udp(9200))).toBe('lan2');
      // The same config again keeps everything.
      expect(
        await t.apply(
          labConfig([
            { ...game, idleTimeout: 20 },
            { ...chat, open: [ports('udp', '9200')] },
            rule({ name: 'new', trigger: [ports('tcp', '1234')], open: [ports('tcp', '4321')] }),
          ]),
        ),
      ).toEqual({ kept: 2, dropped: 0 });
    },
  },
  {
    id: 'S16',
    title: 'a rule added under a live trigger connection goes to it at once, the most recent of several',
    async run(t) {
      const voice = rule({
        name: 'voice',
        trigger: [ports('udp', '5060')],
        open: [ports('udp', '10000')],
        idleTimeout: 4,
      });
      await t.apply(labConfig([]));
      expect(await t.inbound('wan1', udp(10000))).toBeNull(); // readies every host
      const older = await t.openTrigger('lan2', 'wan1', udp(5060));
      await t.wait(2000);
      const call = await t.openTrigger('lan1', 'wan1', udp(5060));
      await t.apply(labConfig([voice]));
      // No new connection: the live one counts as the trigger.
      expect((await t.table()).entries.map((e) => [e.rule, e.holder])).toEqual([['voice', A.lan1.ipv4]]);
      expect(await t.inbound('wan1', udp(10000))).toBe('lan1');
      // It is a trigger connection like any other: its traffic keeps the entry open past its idle timeout.
      for (let i = 0; i < 6; i++) {
        await t.wait(1000);
        await call.send();
      }
      expect((await t.table()).entries.map((e) => e.holder)).toEqual([A.lan1.ipv4]);
      await older.send(); // a contender's traffic refreshes nothing and takes nothing while lan1 holds
      expect(await t.inbound('wan1', udp(10000))).toBe('lan1');
    },
  },
  {
    id: 'S17',
    title:
      'after expiry a contender connection still in use takes the rule without reconnecting; the conflict keeps its holder',
    async run(t) {
      await t.apply(
        labConfig([
          rule({
            name: 'voice',
            trigger: [ports('udp', '5060')],
            open: [ports('udp', '10000')],
            idleTimeout: 5,
          }),
        ]),
      );
      // Closed at first; this also readies every host, so that the triggers below follow each other closely.
      expect(await t.inbound('wan1', udp(10000))).toBeNull();
      await t.openTrigger('lan1', 'wan1', udp(5060)); // lan1 holds, then falls silent
      const contender = await t.openTrigger('lan2', 'wan1', udp(5060));
      const during = await t.table();
      expect(during.entries.map((e) => e.holder)).toEqual([A.lan1.ipv4]);
      expect(during.conflicts.map((c) => [c.contender, c.holder])).toEqual([[A.lan2.ipv4, A.lan1.ipv4]]);
      // lan1's entry ends about 5 s after its last packet (the kernel: up to a second later); lan2 keeps
      // using its connection and takes the rule then, without a new connection.
      let seconds = 0;
      while (seconds < 12) {
        await t.wait(1000);
        seconds++;
        await contender.send();
        if ((await t.table()).entries.some((e) => e.holder === A.lan2.ipv4)) break;
      }
      expect(seconds).toBeGreaterThanOrEqual(4);
      const after = await t.table();
      expect(after.entries.map((e) => e.holder)).toEqual([A.lan2.ipv4]);
      expect(after.conflicts.map((c) => [c.contender, c.holder])).toEqual([[A.lan2.ipv4, A.lan1.ipv4]]);
      expect(await t.inbound('wan1', udp(10000))).toBe('lan2');
    },
  },
  {
    id: 'S18',
    title:
      'after a release a contender connection takes the rule at once; the released holder’s old connection never does',
    async run(t) {
      await t.apply(
        labConfig([
          rule({
            name: 'voice',
            trigger: [ports('udp', '5060')],
            open: [ports('udp', '10000')],
            idleTimeout: 5,
          }),
        ]),
      );
      expect(await t.inbound('wan1', udp(10000))).toBeNull(); // readies every host
      const released = await t.openTrigger('lan1', 'wan1', udp(5060));
      await t.openTrigger('lan2', 'wan1', udp(5060)); // a contender, then silent
      expect(await t.release({ rule: 'voice', holder: A.lan1.ipv4 })).toBe(1);
      expect((await t.table()).entries.map((e) => e.holder)).toEqual([A.lan2.ipv4]);
      expect(await t.inbound('wan1', udp(10000))).toBe('lan2');
      // lan2's entry ends with its silence; lan1 keeps using its old connection, which takes nothing.
      for (let i = 0; i < 8; i++) {
        await t.wait(1000);
        await released.send();
      }
      expect((await t.table()).entries).toEqual([]);
      expect(await t.inbound('wan1', udp(10000))).toBeNull();
      // A new connection of lan1 is a trigger like any other.
      await t.trigger('lan1', 'wan1', udp(5060));
      expect(await t.inbound('wan1', udp(10000))).toBe('lan1');
    },
  },
  {
    id: 'S15',
    title: 'coexistence: only our table is touched; after removal nothing of ours is left',
    requires: 'foreign-ruleset',
    async run(t) {
      if (!t.installForeign || !t.foreignRuleset) throw new Error(`${t.name} declares no foreign ruleset`);
      const foreign = [
        'table inet other {',
        '  set allowed { type ipv4_addr; elements = { 198.51.100.7 }; }',
        '  chain input { type filter hook input priority 10; policy accept; ip saddr @allowed counter accept; }',
        '}',
        // The host's own NAT, as next to fw4 or firewalld: companion mode adds only what triggering needs.
        'table ip other_nat {',
        '  chain postrouting { type nat hook postrouting priority srcnat; policy accept; oifname "wan0" masquerade; }',
        '}',
        '',
      ].join('\n');
      await t.installForeign(foreign);
      const before = await t.foreignRuleset();
      expect(before).toContain('table inet other');
      await t.apply(labConfig([rule({ name: 'game' })], { mode: 'companion' }));
      await t.trigger('lan1', 'wan1', tcp(6970));
      expect(await t.inbound('wan1', udp(7000))).toBe('lan1');
      expect(await t.foreignRuleset()).toBe(before);
      await t.remove();
      expect(await t.foreignRuleset()).toBe(before);
      expect(await t.inbound('wan1', udp(7000))).toBeNull();
      expect((await t.table()).entries).toEqual([]);
    },
  },
];

/** Why a target without a capability cannot run the scenarios that require it. */
const MISSING: Record<TargetCapability, string> = {
  'foreign-ruleset': 'the target holds no tables of other tools to leave untouched',
};

/**
 * Registers every scenario as a test against targets made by `factory`. A scenario that requires a capability
 * the target lacks is registered as skipped, its title saying why.
 */
export function describeConformance(
  name: string,
  factory: TargetFactory,
  options: { concurrent?: boolean; capabilities?: readonly TargetCapability[] } = {},
): void {
  describe(name, () => {
    const test = options.concurrent ? it.concurrent : it;
    for (const scenario of SCENARIOS) {
      const title = `${scenario.id} ${scenario.title}`;
      if (scenario.requires && !options.capabilities?.includes(scenario.requires)) {
        it.skip(`${title} (not applicable: ${MISSING[scenario.requires]})`, () => undefined);
        continue;
      }
      test(title, async () => {
        const target = await factory();
        try {
          await scenario.run(target);
        } finally {
          await target.dispose();
        }
      });
    }
  });
}
