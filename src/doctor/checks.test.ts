import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../domain/config.js';
import type { Config } from '../domain/types.js';
import { kernelFeatureScript, parseNftVersion, probePlan } from '../nft/feature-probe.js';
import { decideForward } from '../nft/forward-decision.js';
import { DISPATCH_MAPS } from '../nft/plan.js';
import { kernelDispatchMaps } from '../nft/render.js';
import { findStaticDnatOverlaps } from '../nft/ruleset-analysis.js';
import {
  configCheck,
  conntrackCheck,
  forwardingCheck,
  forwardPolicyCheck,
  interfacesCheck,
  missingInterfaces,
  nftVersionCheck,
  staticDnatCheck,
} from './checks.js';

// `nft -j list ruleset` of a box with OpenWrt-like fw4 (forward drop, port forwards accepted through a jump),
// an iptables-nft-like `ip filter` (forward drop, nothing for DNAT), static forwards in both, and our own table.
const RULESET = JSON.parse(
  readFileSync(new URL('../../test/cli/fixtures/nft-ruleset.json', import.meta.url), 'utf8'),
) as unknown;

function config(rules: unknown[], over: Record<string, unknown> = {}): Config {
  const r = validateConfig({ interfaces: { lan: ['br-lan'], wan: ['eth0', 'ppp*'] }, rules, ...over });
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.value;
}

const rule = (name: string, open: unknown[], extra: Record<string, unknown> = {}) => ({
  name,
  trigger: [{ protocol: 'tcp', ports: '6970' }],
  open,
  ...extra,
});

describe('parseNftVersion', () => {
  it.each([
    ['nftables v1.0.6 (Lester Gooch #5)', { major: 1, minor: 0, patch: 6 }],
    ['nftables v0.9.8 (E.D.S.)', { major: 0, minor: 9, patch: 8 }],
    ['nftables v1.1 (Commodore Bullmoose)', { major: 1, minor: 1, patch: 0 }],
  ])('reads %j', (text, version) => {
    expect(parseNftVersion(text)).toEqual(version);
  });

  it('accepts 1.0 and refuses 0.9', () => {
    expect(nftVersionCheck('nftables v1.0.6 (Lester Gooch #5)').status).toBe('ok');
    expect(nftVersionCheck('nftables v0.9.8 (E.D.S.)')).toMatchObject({ status: 'fail', detail: /too old/ });
    expect(nftVersionCheck('garbage').status).toBe('fail');
  });
});

describe('kernelFeatureScript', () => {
  const script = kernelFeatureScript();

  it('declares the rendered ruleset in a scratch table and deletes it in the same transaction', () => {
    expect(script).toMatch(/^table inet porttrigger_doctor \{\n/);
    expect(script).not.toContain('porttrigger {');
    expect(script.trimEnd().split('\n').at(-1)).toBe('delete table inet porttrigger_doctor');
  });

  it('declares a hash map and an interval map of both protocols for every dispatch map', () => {
    const maps = kernelDispatchMaps(probePlan());
    const kinds = new Set(maps.map((m) => `${m.map} ${m.protocol} ${m.keys}`));
    expect(kinds.size).toBe(DISPATCH_MAPS.length * 2 * 2);
    for (const m of maps) {
      const flags = m.keys === 'ranges' ? ' flags interval;' : '';
      expect(script).toContain(`\tmap ${m.name} {\n\t\ttype inet_service : verdict;${flags}\n`);
    }
    expect(script).not.toContain('inet_proto . inet_service');
  });

  it('uses every kind of chain and statement the renderer makes', () => {
    expect(script).toMatch(/\tchain fan4_\w+ \{\n\t\tjump tr4_/); // shared trigger ports
    expect(script).toContain('ct direction reply th sport vmap @close4_tcp_ranges'); // onExpire: close, both ways
    expect(script).toMatch(/dnat ip to jhash meta nfproto mod 1 offset \d+ map @target4_/);
    expect(script).toMatch(/dnat ip to jhash meta nfproto mod 1 offset \d+ \. ip saddr map @rtarget4_/);
    expect(script).toContain('!= { 192.168.1.0/24 } add @blocked4');
    expect(script).toContain('comment "learning: outbound"');
    expect(script).toContain('masquerade');
  });
});

describe('forwardingCheck', () => {
  it.each([
    ['1\n', '1\n', 'ok'],
    ['0\n', '1\n', 'fail'],
    [undefined, '1\n', 'fail'],
    ['1\n', '0\n', 'warn'],
  ] as const)('ipv4 %j, ipv6 %j is %s', (v4, v6, status) => {
    expect(forwardingCheck(v4, v6).status).toBe(status);
  });

  it('does not ask for IPv6 forwarding when the config does not use IPv6', () => {
    const c = config([rule('a', [{ protocol: 'udp', ports: '7000' }])], { ipv6: false });
    expect(forwardingCheck('1', '0', c).status).toBe('ok');
  });
});

describe('interfaces', () => {
  const links = [{ ifname: 'lo' }, { ifname: 'br-lan' }, { ifname: 'eth0' }, { ifname: 'ppp0' }];

  it('matches names and trailing wildcards', () => {
    expect(missingInterfaces(links, ['br-lan', 'eth0', 'ppp*'])).toEqual([]);
    expect(missingInterfaces(links, ['wan0', 'wg*', 'eth0'])).toEqual(['wan0', 'wg*']);
    expect(missingInterfaces('not a list', ['eth0'])).toEqual(['eth0']);
  });

  it('warns about a configured interface that is not there', () => {
    const c = config([]);
    expect(interfacesCheck(links, c).status).toBe('ok');
    expect(interfacesCheck([{ ifname: 'br-lan' }], c)).toMatchObject({
      status: 'warn',
      detail: /eth0, ppp\*/,
    });
  });
});

describe('forwardPolicyCheck', () => {
  it('follows jumps to find `ct status dnat accept` and ignores our own table', () => {
    expect(decideForward(RULESET).map((d) => [`${d.family} ${d.table} ${d.chain}`, d.verdict])).toEqual([
      ['inet fw4 forward', 'accept'],
      ['ip filter FORWARD', 'drop'],
    ]);
  });

  it('warns with the blocking chain, names iptables and gives the narrow rule for its interfaces', () => {
    const check = forwardPolicyCheck(RULESET, config([]));
    expect(check.status).toBe('warn');
    expect(check.detail).toContain(
      'iptables drops DNAT-ed connections (table ip filter chain FORWARD, policy drop)',
    );
    expect(check.detail).not.toContain('fw4');
    expect(check.fix?.command).toBe(
      'iptables -I FORWARD -i eth0 -o br-lan -m conntrack --ctstate DNAT -j ACCEPT && iptables -I FORWARD -i ppp+ -o br-lan -m conntrack --ctstate DNAT -j ACCEPT',
    );
    expect(check.hint).toContain('--ctstate DNAT -j ACCEPT');
  });

  it('is content with an accepting policy and an empty ruleset', () => {
    expect(forwardPolicyCheck({ nftables: [] }).status).toBe('ok');
    const accept = {
      nftables: [
        { chain: { family: 'ip', table: 'filter', name: 'FORWARD', hook: 'forward', policy: 'accept' } },
      ],
    };
    expect(forwardPolicyCheck(accept).status).toBe('ok');
  });

  it('does not count an iptables-nft rule it cannot read as an accept, and says it could not read it', () => {
    const xt = {
      nftables: [
        { chain: { family: 'ip', table: 'filter', name: 'FORWARD', hook: 'forward', policy: 'drop' } },
        {
          rule: {
            family: 'ip',
            table: 'filter',
            chain: 'FORWARD',
            handle: 4,
            expr: [{ xt: { type: 'match', name: 'conntrack' } }, { accept: null }],
          },
        },
      ],
    };
    expect(decideForward(xt)).toMatchObject([{ verdict: 'drop', by: 'policy', opaque: true }]);
    // With nft's translation of the rule it is read: an accept of established connections only.
    const texts = new Map([['ip filter', new Map([[4, 'ct state related,established counter accept']])]]);
    expect(decideForward(xt, undefined, texts)).toMatchObject([{ verdict: 'drop', opaque: false }]);
    const dnat = new Map([['ip filter', new Map([[4, 'ct status dnat counter accept']])]]);
    expect(decideForward(xt, undefined, dnat)).toMatchObject([{ verdict: 'accept' }]);
  });

  it('refuses input that is not nft JSON', () => {
    expect(() => decideForward({ hello: 1 })).toThrow(/nftables/);
  });
});

describe('findStaticDnatOverlaps', () => {
  it('finds single ports, sets, ranges, maps and `th dport` forwards inside open ports', () => {
    const c = config([
      rule('game', [{ protocol: 'tcp', ports: '7000-7010' }]),
      rule('voice', [{ protocol: 'udp', ports: '16384-16482,5000' }], {
        trigger: [{ protocol: 'udp', ports: '5060' }],
      }),
      rule('web', [{ protocol: 'tcp', ports: '8000-8100' }], {
        trigger: [{ protocol: 'tcp', ports: '6971' }],
      }),
      rule('off', [{ protocol: 'udp', ports: '20000-20010' }], {
        enabled: false,
        trigger: [{ protocol: 'tcp', ports: '6972' }],
      }),
    ]);
    const found = findStaticDnatOverlaps(RULESET, c).map(
      (o) => `${o.table}/${o.chain} ${o.protocol} ${o.ports} ${o.rule} → ${o.target}`,
    );
    expect(found.sort()).toEqual(
      [
        'fw4/dstnat tcp 7005 game → 192.168.1.50:7005',
        'fw4/dstnat udp 16400 voice → 192.168.1.51',
        'fw4/dstnat tcp 8080 web → a map',
        'nat/PREROUTING tcp 7008-7009 game → 192.168.1.60',
        'nat/PREROUTING udp 5000 voice → 192.168.1.61:5000',
      ].sort(),
    );
  });

  it('finds nothing when the open ports are free, and says so', () => {
    const c = config([rule('free', [{ protocol: 'udp', ports: '40000-40010' }])]);
    expect(findStaticDnatOverlaps(RULESET, c)).toEqual([]);
    expect(staticDnatCheck(RULESET, c).status).toBe('ok');
  });

  it('warns with the table, chain, ports and rule', () => {
    const c = config([rule('game', [{ protocol: 'tcp', ports: '7000-7010' }])]);
    const check = staticDnatCheck(RULESET, c);
    expect(check.status).toBe('warn');
    expect(check.detail).toContain('table inet fw4 chain dstnat');
    expect(check.detail).toContain('forwards tcp 7005 to 192.168.1.50:7005, an open port of rule "game"');
  });

  it('counts a forward of every port (a DMZ host) as an overlap', () => {
    const dmz = {
      nftables: [
        {
          rule: {
            family: 'ip',
            table: 'nat',
            chain: 'PREROUTING',
            handle: 4,
            expr: [{ dnat: { addr: '192.168.1.99' } }],
          },
        },
      ],
    };
    const c = config([rule('game', [{ protocol: 'udp', ports: '7000' }])]);
    expect(findStaticDnatOverlaps(dmz, c)).toEqual([
      {
        family: 'ip',
        table: 'nat',
        chain: 'PREROUTING',
        handle: 4,
        protocol: 'udp',
        ports: 'all',
        rule: 'game',
        target: '192.168.1.99',
      },
    ]);
  });
});

describe('configCheck', () => {
  it('reports a missing, an invalid and a valid config', () => {
    expect(configCheck('/etc/x.yaml', 'missing').status).toBe('warn');
    const bad = validateConfig({ interfaces: { lan: ['br-lan'], wan: ['eth0'] }, rules: [{ name: 'x' }] });
    expect(configCheck('x.yaml', bad)).toMatchObject({ status: 'fail', detail: /rules\[0\]/ });
    const good = validateConfig({ interfaces: { lan: ['br-lan'], wan: ['eth0'] } });
    expect(configCheck('x.yaml', good).status).toBe('ok');
  });
});

describe('conntrackCheck', () => {
  it('is ok with the version conntrack prints', () => {
    const c = conntrackCheck('conntrack v1.4.7 (conntrack-tools)\n');
    expect(c.status).toBe('ok');
    expect(c.detail).toContain('v1.4.7');
  });

  it('warns, naming what is lost and how to install it, when conntrack is missing or fails', () => {
    const missing = conntrackCheck(undefined);
    expect(missing.status).toBe('warn');
    expect(missing.detail).toMatch(/not installed/);
    expect(missing.hint).toMatch(/apt-get install conntrack/);
    expect(conntrackCheck(null).status).toBe('warn');
  });
});
