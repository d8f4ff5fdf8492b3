import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { describeFirewall } from '../doctor/firewall-advice.js';
import { validateConfig } from '../domain/config.js';
import type { Config } from '../domain/types.js';
import { decideForward, ruleTextsByHandle, tablesWithXt } from './forward-decision.js';
import { nameFirewalls } from './host-firewall.js';

const fixture = (name: string) =>
  readFileSync(new URL(`../../test/cli/fixtures/${name}`, import.meta.url), 'utf8');

// `nft -j list ruleset` and `nft -a list table ip filter` of ufw 0.36 enabled as router guides set it up:
// `ufw default deny routed`, `ufw route allow in on br-lan out on wan0`.
const UFW = JSON.parse(fixture('ufw-router.json')) as unknown;
const UFW_TEXT = new Map([['ip filter', ruleTextsByHandle(fixture('ufw-router.ip-filter.nft'))]]);

function config(wan: string[] = ['wan0']): Config {
  const r = validateConfig({ interfaces: { lan: ['br-lan'], wan }, rules: [] });
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.value;
}

/** A ruleset in nft's JSON from chains and rules written as { chain, expr } in the order nft lists them. */
function ruleset(
  family: string,
  table: string,
  chains: { name: string; hook?: string; policy?: string }[],
  rules: { chain: string; expr: unknown[] }[],
) {
  return {
    nftables: [
      ...chains.map((c) => ({ chain: { family, table, ...c } })),
      ...rules.map((r, i) => ({ rule: { family, table, handle: i + 10, ...r } })),
    ],
  };
}

const match = (left: unknown, right: unknown, op = '==') => ({ match: { op, left, right } });
const ctState = (...states: string[]) =>
  match({ ct: { key: 'state' } }, states.length === 1 ? states[0] : states);
const iif = (name: string) => match({ meta: { key: 'iifname' } }, name);
const oif = (name: string) => match({ meta: { key: 'oifname' } }, name);

// Debian's /etc/nftables.conf with the forward policy set to drop, and the usual LAN-to-WAN accept.
const NFTABLES_CONF = ruleset(
  'inet',
  'filter',
  [{ name: 'forward', hook: 'forward', policy: 'drop' }],
  [
    { chain: 'forward', expr: [ctState('established', 'related'), { accept: null }] },
    { chain: 'forward', expr: [iif('br-lan'), oif('wan0'), { accept: null }] },
  ],
);

// firewalld 2.x (nftables backend): policy accept, `ct status dnat accept`, then a final reject.
function firewalld(strict: boolean) {
  return ruleset(
    'inet',
    'firewalld',
    [{ name: 'filter_FORWARD', hook: 'forward', policy: 'accept' }, { name: 'filter_FORWARD_POLICIES' }],
    [
      { chain: 'filter_FORWARD', expr: [ctState('established', 'related'), { accept: null }] },
      ...(strict
        ? []
        : [
            {
              chain: 'filter_FORWARD',
              expr: [match({ ct: { key: 'status' } }, 'dnat', 'in'), { accept: null }],
            },
          ]),
      { chain: 'filter_FORWARD', expr: [iif('lo'), { accept: null }] },
      { chain: 'filter_FORWARD', expr: [{ jump: { target: 'filter_FORWARD_POLICIES' } }] },
      { chain: 'filter_FORWARD', expr: [{ reject: { type: 'icmpx', expr: 'admin-prohibited' } }] },
      { chain: 'filter_FORWARD_POLICIES', expr: [iif('br-lan'), oif('wan0'), { accept: null }] },
    ],
  );
}

describe('decideForward on the firewalls people run', () => {
  it('ufw with route policy deny drops porttrigger connections; its xt rules are read through nft text', () => {
    expect(tablesWithXt(UFW)).toEqual(['ip filter', 'ip6 filter']);
    const [v4] = nameFirewalls(UFW, decideForward(UFW, config().interfaces, UFW_TEXT));
    expect(v4).toMatchObject({
      table: 'filter',
      chain: 'FORWARD',
      verdict: 'drop',
      by: 'policy',
      opaque: false,
    });
    expect(v4!.kinds).toEqual(['ufw']);
    const finding = describeFirewall(v4!, config(['wan0', 'ppp*']));
    expect(finding.detail).toMatch(
      /^ufw drops DNAT-ed connections \(table ip filter chain FORWARD, policy drop\)/,
    );
    expect(finding.fix).toEqual({
      file: {
        path: '/etc/ufw/before.rules',
        before: 'COMMIT',
        lines: [
          '-A ufw-before-forward -i wan0 -o br-lan -m conntrack --ctstate DNAT -j ACCEPT',
          '-A ufw-before-forward -i ppp+ -o br-lan -m conntrack --ctstate DNAT -j ACCEPT',
        ],
      },
      reload: 'ufw reload',
    });
  });

  it('ufw after its fix: the translated `ct status dnat` rule accepts', () => {
    const texts = new Map(UFW_TEXT);
    const table = new Map(UFW_TEXT.get('ip filter'));
    // The rule ufw-before-forward gets from before.rules, in the slot of its first (established) rule.
    const rules = (UFW as { nftables: { rule?: { chain: string; family: string; handle: number } }[] })
      .nftables;
    const handle = rules.find((o) => o.rule?.family === 'ip' && o.rule.chain === 'ufw-before-forward')?.rule
      ?.handle;
    table.set(handle!, 'iifname "wan0" oifname "br-lan" ct status dnat counter packets 0 bytes 0 accept');
    texts.set('ip filter', table);
    expect(decideForward(UFW, config().interfaces, texts)[0]).toMatchObject({ verdict: 'accept' });
  });

  it('a drop-policy /etc/nftables.conf drops them; the fix is an nft rule for exactly that chain', () => {
    const [fw] = nameFirewalls(NFTABLES_CONF, decideForward(NFTABLES_CONF, config().interfaces));
    expect(fw).toMatchObject({ kinds: ['nftables'], verdict: 'drop', by: 'policy' });
    expect(describeFirewall(fw!, config()).fix?.command).toBe(
      `nft insert rule inet filter forward 'iifname "wan0" oifname "br-lan" ct status dnat accept'`,
    );
    const fixed = ruleset(
      'inet',
      'filter',
      [{ name: 'forward', hook: 'forward', policy: 'drop' }],
      [
        {
          chain: 'forward',
          expr: [
            iif('wan0'),
            oif('br-lan'),
            match({ ct: { key: 'status' } }, 'dnat', 'in'),
            { accept: null },
          ],
        },
      ],
    );
    expect(decideForward(fixed, config().interfaces)).toMatchObject([{ verdict: 'accept' }]);
    // The same rule for other interfaces lets nothing of ours through.
    expect(decideForward(fixed, config(['eth9']).interfaces)).toMatchObject([{ verdict: 'drop' }]);
  });

  it('firewalld accepts them with its own `ct status dnat accept`; with StrictForwardPorts its final reject drops them', () => {
    const [open] = nameFirewalls(firewalld(false), decideForward(firewalld(false), config().interfaces));
    expect(open).toMatchObject({ kinds: ['firewalld'], verdict: 'accept', by: { text: 'ct status dnat' } });
    expect(describeFirewall(open!, config()).detail).toBe(
      'firewalld: `ct status dnat accept` in table inet firewalld chain filter_FORWARD lets DNAT-ed connections through',
    );
    const [strict] = nameFirewalls(firewalld(true), decideForward(firewalld(true), config().interfaces));
    expect(strict).toMatchObject({ verdict: 'drop', by: { chain: 'filter_FORWARD', text: 'unconditional' } });
    expect(describeFirewall(strict!, config()).fix).toEqual({
      command:
        "sed -i 's/^StrictForwardPorts=.*/StrictForwardPorts=no/' /etc/firewalld/firewalld.conf && firewall-cmd --reload",
    });
  });

  it('names Docker by its chains and puts the fix into DOCKER-USER', () => {
    const docker = ruleset(
      'ip',
      'filter',
      [{ name: 'FORWARD', hook: 'forward', policy: 'drop' }, { name: 'DOCKER-USER' }, { name: 'DOCKER' }],
      [
        { chain: 'FORWARD', expr: [{ jump: { target: 'DOCKER-USER' } }] },
        { chain: 'FORWARD', expr: [oif('docker0'), { jump: { target: 'DOCKER' } }] },
        { chain: 'DOCKER-USER', expr: [{ return: null }] },
      ],
    );
    const [fw] = nameFirewalls(docker, decideForward(docker, config().interfaces));
    expect(fw).toMatchObject({ kinds: ['docker'], verdict: 'drop' });
    expect(describeFirewall(fw!, config()).fix?.command).toBe(
      'iptables -I DOCKER-USER -i wan0 -o br-lan -m conntrack --ctstate DNAT -j ACCEPT',
    );
  });

  it('follows a goto to its end and then the policy, and stops at a return', () => {
    const r = ruleset(
      'inet',
      'x',
      [{ name: 'fwd', hook: 'forward', policy: 'accept' }, { name: 'a' }, { name: 'b' }],
      [
        { chain: 'fwd', expr: [{ goto: { target: 'a' } }] },
        { chain: 'fwd', expr: [{ drop: null }] },
        { chain: 'a', expr: [{ jump: { target: 'b' } }] },
        { chain: 'b', expr: [{ return: null }] },
        { chain: 'b', expr: [{ drop: null }] },
      ],
    );
    expect(decideForward(r)).toMatchObject([{ verdict: 'accept', by: 'policy' }]);
  });
});

describe('exprsOf', () => {
  it('skips expressions nft prints as text (our own `update @map` statements)', () => {
    const r = ruleset(
      'inet',
      'other',
      [{ name: 'f', hook: 'forward', policy: 'drop' }],
      [{ chain: 'f', expr: ['update @m { 1 : 2 }', { accept: null }] }],
    );
    expect(decideForward(r)).toMatchObject([{ verdict: 'accept', by: { text: 'unconditional' } }]);
  });
});
