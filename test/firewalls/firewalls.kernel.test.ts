/**
 * Companion mode beside the firewalls people run (docs/firewalls.md), each real and in the router namespace of
 * its own virtual network: the doctor names the firewall and says that it drops porttrigger's DNAT-ed
 * connections, the exact change it prints is applied as printed, and then a trigger works end to end with real
 * packets while the firewall still decides everything else.
 */
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runProgram } from '../../src/adapters/exec.js';
import type { FirewallFix } from '../../src/doctor/firewall-advice.js';
import { LAB_ADDRESSES } from '../../src/lab/virtual-network.js';
import { describeKernel } from '../harness/kernel-gate.js';
import { COMPANION, type CompanionRouter, companionRouter, expectWorksAndOthersClosed } from './companion.js';

const A = LAB_ADDRESSES;

/** Fails loudly when a firewall's program is missing: scripts/ensure-deps.sh installs it. */
function requireProgram(path: string, pkg: string): void {
  if (!existsSync(path)) {
    throw new Error(
      `${path} is missing: the firewall tests need the Debian package ${pkg} (scripts/ensure-deps.sh)`,
    );
  }
}

/** Inserts the fix's lines into a file's text as the doctor says: before the last `before` line, or at the end. */
function withLines(text: string, fix: NonNullable<FirewallFix['file']>): string {
  const lines = text.split('\n');
  const at = fix.before ? lines.lastIndexOf(fix.before) : -1;
  if (fix.before && at < 0) throw new Error(`no line "${fix.before}" to insert before`);
  lines.splice(at < 0 ? lines.length : at, 0, ...fix.lines);
  return lines.join('\n');
}

// Debian's /etc/nftables.conf with the forward policy set to drop, as a router needs it: LAN to WAN allowed,
// answers allowed, masquerade on the WAN.
const NFTABLES_CONF = `#!/usr/sbin/nft -f

flush ruleset

table inet filter {
	chain input {
		type filter hook input priority filter;
	}
	chain forward {
		type filter hook forward priority filter; policy drop;
		ct state established,related accept
		iifname "br-lan" oifname "wan0" accept
	}
	chain output {
		type filter hook output priority filter;
	}
}

table inet nat {
	chain postrouting {
		type nat hook postrouting priority srcnat;
		oifname "wan0" masquerade
	}
}
`;

describeKernel('beside a drop-policy /etc/nftables.conf', () => {
  let r: CompanionRouter;
  let dir: string;
  let NFTABLES_PATH: string;
  beforeAll(async () => {
    requireProgram('/usr/sbin/nft', 'nftables');
    dir = await mkdtemp(join(tmpdir(), 'pt-nftconf-'));
    NFTABLES_PATH = join(dir, 'nftables.conf');
    await writeFile(NFTABLES_PATH, NFTABLES_CONF);
    r = await companionRouter('ptfwn', (netns) =>
      runProgram('nft', ['-f', NFTABLES_PATH], { netns }).then(() => undefined),
    );
  });
  afterAll(async () => {
    await r?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('`porttrigger doctor` names the ruleset, says it drops, and the nft command it prints lets entries through and nothing else', async () => {
    // What a user sees, and the command copied from it.
    const text = await r.doctorText(join(dir, 'config.yaml'));
    expect(text).toContain(
      '⚠ host firewall: an nftables ruleset (as /etc/nftables.conf loads it) drops DNAT-ed connections (table inet filter chain forward, policy drop): inbound connections of entries will be dropped',
    );
    const printed = /→ run: (nft insert rule .*?)(?:; to keep it|$)/m.exec(text)?.[1];
    const before = await r.firewallCheck();
    expect(before.status).toBe('warn');
    expect(before.detail).toContain(
      'an nftables ruleset (as /etc/nftables.conf loads it) drops DNAT-ed connections (table inet filter chain forward, policy drop)',
    );
    expect(before.fix?.command).toBe(
      `nft insert rule inet filter forward 'iifname "wan0" oifname "br-lan" ct status dnat accept'`,
    );
    expect(before.hint).toContain(before.fix!.command!);
    // Before the fix the firewall really drops the callback.
    await r.trigger();
    expect(await r.callback({})).toBeNull();

    expect(printed).toBe(before.fix!.command);
    await r.router('sh', ['-c', printed!]);
    const after = await r.firewallCheck();
    expect(after).toMatchObject({ status: 'ok' });
    expect(after.detail).toContain('`ct status dnat accept` in table inet filter chain forward');
    await expectWorksAndOthersClosed(r);
  });

  it('the line the doctor gives for /etc/nftables.conf does the same when the file is loaded at boot', async () => {
    // Back to the plain file (its `flush ruleset` removes porttrigger's table too, as a reload at boot would).
    await writeFile(NFTABLES_PATH, NFTABLES_CONF);
    await r.router('nft', ['-f', NFTABLES_PATH]);
    await r.datapath.apply(COMPANION);
    const fix = (await r.firewallCheck()).fix?.file;
    expect(fix).toEqual({
      path: '/etc/nftables.conf',
      lines: ['iifname "wan0" oifname "br-lan" ct status dnat accept   # in chain forward'],
    });
    // Into chain forward, at its top, as the doctor says; nft reads the comment as one.
    await writeFile(
      NFTABLES_PATH,
      NFTABLES_CONF.replace('policy drop;\n', `policy drop;\n\t\t${fix!.lines.join('\n\t\t')}\n`),
    );
    await r.router('nft', ['-f', NFTABLES_PATH]);
    await r.datapath.apply(COMPANION);
    expect((await r.firewallCheck()).status).toBe('ok');
    await expectWorksAndOthersClosed(r);
  });

  it("IPv6 entries are routed, not DNAT-ed: docs/firewalls.md's mark rule lets them through and nothing else", async () => {
    await r.datapath.apply({ ...COMPANION, rules: COMPANION.rules.map((x) => ({ ...x, family: 'both' })) });
    const t = `fw6-${process.pid}`;
    await r.net.host('lan1').sendUdp({ to: A.hosts.wan1.ipv6, port: 5000, token: t });
    expect(await r.net.host('wan1').waitFor(t, 5_000)).not.toBeNull();
    // `ct status dnat` (the IPv4 fix) never matches IPv6 entries: they meet the policy drop.
    expect(await r.callback({ to: A.hosts.lan1.ipv6 })).toBeNull();
    await r.router('nft', [
      'insert',
      'rule',
      'inet',
      'filter',
      'forward',
      'iifname "wan0" oifname "br-lan" ct mark & 0x0c000000 == 0x0c000000 accept',
    ]);
    expect(await r.callback({ to: A.hosts.lan1.ipv6 }), 'the open port reaches the holder over IPv6').toBe(
      A.hosts.wan1.ipv6,
    );
    expect(await r.callback({ to: A.hosts.lan1.ipv6, port: 4001 }), 'a port no rule opens').toBeNull();
    // A LAN host that holds no entry, listening on the open port: the firewall still drops what reaches for it.
    await r.net.host('lan2').listen('tcp', 4000);
    const lan2 = await r.net.host('wan1').connectTcp({ to: A.hosts.lan2.ipv6, port: 4000, timeoutMs: 1_500 });
    expect(lan2, 'a LAN host that holds nothing').toMatchObject({ ok: false });
  });
});

describeKernel('beside ufw with route policy deny (iptables-nft)', () => {
  let r: CompanionRouter;
  let dir: string;
  /** ufw in the router's namespace, with a private copy of /etc/ufw and /etc/default/ufw bind-mounted. */
  const ufw = (args: readonly string[], netns: string) =>
    runProgram(
      'unshare',
      [
        '-m',
        'sh',
        '-c',
        'mount --make-rprivate / && mount --bind "$1" /etc/ufw && mount --bind "$2" /etc/default/ufw && shift 2 && exec "$@"',
        'sh',
        join(dir, 'ufw'),
        join(dir, 'default-ufw'),
        ...args,
      ],
      { netns, timeoutMs: 60_000 },
    );

  beforeAll(async () => {
    requireProgram('/usr/sbin/ufw', 'ufw');
    requireProgram('/usr/sbin/iptables', 'iptables');
    dir = await mkdtemp(join(tmpdir(), 'pt-ufw-'));
    await cp('/etc/ufw', join(dir, 'ufw'), { recursive: true });
    await cp('/etc/default/ufw', join(dir, 'default-ufw'));
    // As router guides set it up: IP forwarding, masquerade in before.rules, LAN to WAN routed, routed deny.
    const rules = await readFile(join(dir, 'ufw', 'before.rules'), 'utf8');
    await writeFile(
      join(dir, 'ufw', 'before.rules'),
      `*nat\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -s ${A.lanPrefixes.ipv4} -o wan0 -j MASQUERADE\nCOMMIT\n\n${rules}`,
    );
    const sysctl = await readFile(join(dir, 'ufw', 'sysctl.conf'), 'utf8');
    await writeFile(
      join(dir, 'ufw', 'sysctl.conf'),
      sysctl.replace('#net/ipv4/ip_forward=1', 'net/ipv4/ip_forward=1'),
    );
    r = await companionRouter('ptfwu', async (netns) => {
      await ufw(['ufw', '--force', 'enable'], netns);
      await ufw(['ufw', 'default', 'deny', 'routed'], netns);
      await ufw(['ufw', 'route', 'allow', 'in', 'on', 'br-lan', 'out', 'on', 'wan0'], netns);
    });
  });
  afterAll(async () => {
    await r?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('`porttrigger doctor` names ufw, says it drops, and the lines it gives for before.rules let entries through and nothing else', async () => {
    const netns = r.net.namespaces.router;
    expect((await ufw(['ufw', 'status'], netns)).stdout).toContain('Status: active');
    const text = await r.doctorText(join(dir, 'config.yaml'));
    expect(text).toContain(
      '⚠ host firewall: ufw drops DNAT-ed connections (table ip filter chain FORWARD, policy drop)',
    );
    expect(text).toContain(
      '→ add to /etc/ufw/before.rules before its last `COMMIT` line: -A ufw-before-forward -i wan0 -o br-lan -m conntrack --ctstate DNAT -j ACCEPT; then run: ufw reload',
    );
    const before = await r.firewallCheck();
    expect(before.status).toBe('warn');
    expect(before.detail).toContain(
      'ufw drops DNAT-ed connections (table ip filter chain FORWARD, policy drop)',
    );
    expect(before.fix).toEqual({
      file: {
        path: '/etc/ufw/before.rules',
        before: 'COMMIT',
        lines: ['-A ufw-before-forward -i wan0 -o br-lan -m conntrack --ctstate DNAT -j ACCEPT'],
      },
      reload: 'ufw reload',
    });
    await r.trigger();
    expect(await r.callback({})).toBeNull();

    // Exactly as printed: the lines into the (private) before.rules, then the reload command.
    const file = join(dir, 'ufw', 'before.rules');
    await writeFile(file, withLines(await readFile(file, 'utf8'), before.fix!.file!));
    await ufw(['sh', '-c', before.fix!.reload!], netns);
    const after = await r.firewallCheck();
    expect(after.status).toBe('ok');
    expect(after.detail).toContain(
      'ufw: `ct status dnat accept` in table ip filter chain ufw-before-forward',
    );
    await expectWorksAndOthersClosed(r);
    // ufw's own decisions stand: its route rule and its policy are what they were.
    const status = (await ufw(['ufw', 'status', 'verbose'], netns)).stdout;
    expect(status).toContain('deny (routed)');
    expect(status).toMatch(/Anywhere on wan0\s+ALLOW FWD\s+Anywhere on br-lan/);
  });
});
