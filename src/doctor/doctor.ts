/**
 * `porttrigger doctor`: checks that the gateway can run porttrigger and that nothing around it undoes its work.
 * The analysis functions are pure (nft and ip JSON in, findings out); {@link runDoctor} gathers their input
 * with `runProgram`, optionally inside a network namespace.
 */
import { readFile } from 'node:fs/promises';
import type { ExecOptions, ExecResult } from '../adapters/exec.js';
import { ExecError, runProgram } from '../adapters/exec.js';
import type { Issue, Result } from '../domain/errors.js';
import { formatPath } from '../domain/errors.js';
import { formatPortList, rangesByProtocol, rangesOverlap } from '../domain/ports.js';
import type { Config, PortRange, Protocol } from '../domain/types.js';
import { TABLE_NAME } from '../domain/types.js';

/** How a check came out. */
export type CheckStatus = 'ok' | 'warn' | 'fail';

/** One check of the doctor: what was looked at, how it came out, and what to do about it. */
export interface DoctorCheck {
  /** Stable, for scripts: `nft`, `kernel`, `forwarding`, `config`, `interfaces`, `forward-policy`, `static-dnat`. */
  readonly id: string;
  readonly title: string;
  readonly status: CheckStatus;
  readonly detail: string;
  readonly hint?: string;
}

/** Runs a program: {@link runProgram} or a stand-in. */
export type ProgramRunner = (
  program: string,
  args: readonly string[],
  options?: ExecOptions,
) => Promise<ExecResult>;

/** Options for {@link runDoctor}. */
export interface DoctorOptions {
  /** Check inside this network namespace (the lab and the tests run the doctor in their router). */
  readonly netns?: string;
  /** The config to check interfaces and open ports against; without it those checks are left out. */
  readonly config?: Config;
  readonly run?: ProgramRunner;
}

/** The scratch table the kernel check declares, with `nft -c` only. */
export const DOCTOR_TABLE = 'porttrigger_doctor';

/** A parsed `nft --version`. */
export interface NftVersion {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
}

/**
 * Parses the output of `nft --version` (`nftables v1.0.6 (Lester Gooch #5)`).
 * @example parseNftVersion('nftables v1.0.6 (Lester Gooch #5)') // { major: 1, minor: 0, patch: 6 }
 */
export function parseNftVersion(text: string): NftVersion | undefined {
  const m = /\bv?(\d+)\.(\d+)(?:\.(\d+))?/.exec(text);
  if (!m) return undefined;
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3] ?? 0) };
}

/** The check of an `nft --version` output: 1.0 or later is needed. */
export function nftVersionCheck(output: string): DoctorCheck {
  const title = 'nft version';
  const v = parseNftVersion(output);
  if (!v) {
    return { id: 'nft', title, status: 'fail', detail: `cannot read the version from "${output.trim()}"` };
  }
  const text = `${v.major}.${v.minor}.${v.patch}`;
  return v.major >= 1
    ? { id: 'nft', title, status: 'ok', detail: `nftables v${text} (1.0 or later is needed)` }
    : {
        id: 'nft',
        title,
        status: 'fail',
        detail: `nftables v${text} is too old`,
        hint: 'install nftables 1.0 or later (Debian 12, Ubuntu 22.04 and newer ship it)',
      };
}

/** The script the kernel check runs with `nft -c`: every feature the datapath uses, in a scratch table. */
export function kernelFeatureScript(): string {
  const t = `inet ${DOCTOR_TABLE}`;
  return [
    `table ${t} {`,
    '\tset s { typeof numgen inc mod 1 . ip saddr; size 8; flags dynamic,timeout; }',
    '\tmap m { typeof numgen inc mod 1 : ip daddr; size 8; flags dynamic,timeout; }',
    '\tmap v { type inet_proto . inet_service : verdict; elements = { tcp . 7000 : jump c, udp . 7020 : goto d } }',
    '\tchain c { jhash meta nfproto mod 1 offset 7 . ip saddr @s update @m { jhash meta nfproto mod 1 offset 7 timeout 5s : ip saddr } update @s { jhash meta nfproto mod 1 offset 7 . ip saddr timeout 5s } return; }',
    '\tchain d { dnat ip to jhash meta nfproto mod 1 offset 7 map @m; }',
    '\tchain dstnat { type nat hook prerouting priority dstnat; policy accept; meta nfproto ipv4 meta l4proto . th dport vmap @v; }',
    '}',
    `delete table ${t}`,
    '',
  ].join('\n');
}

/** The check of IP forwarding from the two sysctl values (`1` on, `0` off, undefined unreadable). */
export function forwardingCheck(
  ipv4: string | undefined,
  ipv6: string | undefined,
  config?: Config,
): DoctorCheck {
  const title = 'IP forwarding';
  const v4 = ipv4?.trim() === '1';
  const v6 = ipv6?.trim() === '1';
  const wantV6 = config ? config.ipv6 && config.rules.some((r) => r.family !== 'ipv4') : true;
  if (!v4) {
    return {
      id: 'forwarding',
      title,
      status: 'fail',
      detail:
        ipv4 === undefined
          ? 'cannot read net.ipv4.ip_forward'
          : 'net.ipv4.ip_forward is 0: nothing is routed',
      hint: 'sysctl -w net.ipv4.ip_forward=1 (and set it in /etc/sysctl.d/ to keep it)',
    };
  }
  if (!v6 && wantV6) {
    return {
      id: 'forwarding',
      title,
      status: 'warn',
      detail:
        'IPv4 is forwarded, IPv6 is not (net.ipv6.conf.all.forwarding is not 1): IPv6 entries reach nobody',
      hint: 'sysctl -w net.ipv6.conf.all.forwarding=1, or set `ipv6: false` in the config',
    };
  }
  return {
    id: 'forwarding',
    title,
    status: 'ok',
    detail: v6 ? 'on for IPv4 and IPv6' : 'on for IPv4 (IPv6 is not used)',
  };
}

/** The config names (with nft's trailing `*` wildcard) that match none of the links of `ip -j link`. */
export function missingInterfaces(links: unknown, names: readonly string[]): string[] {
  const present = (Array.isArray(links) ? links : [])
    .map((l) => (l as { ifname?: unknown }).ifname)
    .filter((n): n is string => typeof n === 'string');
  return names.filter((name) =>
    name.endsWith('*') ? !present.some((p) => p.startsWith(name.slice(0, -1))) : !present.includes(name),
  );
}

/** The check of the configured interfaces against `ip -j link` output. */
export function interfacesCheck(links: unknown, config: Config): DoctorCheck {
  const names = [...config.interfaces.lan, ...config.interfaces.wan];
  const missing = missingInterfaces(links, names);
  const title = 'interfaces';
  return missing.length === 0
    ? { id: 'interfaces', title, status: 'ok', detail: `${names.join(', ')} present` }
    : {
        id: 'interfaces',
        title,
        status: 'warn',
        detail: `not present now: ${missing.join(', ')}`,
        hint: 'check interfaces.lan and interfaces.wan (`ip link`); an interface that appears later (ppp0) is fine',
      };
}

type Json = Record<string, unknown>;

interface NftChain {
  readonly family: string;
  readonly table: string;
  readonly name: string;
  readonly hook?: string;
  readonly policy?: string;
  readonly type?: string;
}

interface NftRule {
  readonly family: string;
  readonly table: string;
  readonly chain: string;
  readonly handle?: number;
  readonly expr: readonly Json[];
}

function rulesetObjects(ruleset: unknown): { chains: NftChain[]; rules: NftRule[] } {
  const list = (ruleset as { nftables?: unknown } | null)?.nftables;
  if (!Array.isArray(list)) throw new Error('not nft JSON output: no "nftables" array');
  const chains: NftChain[] = [];
  const rules: NftRule[] = [];
  for (const item of list as Json[]) {
    if (item['chain']) chains.push(item['chain'] as NftChain);
    if (item['rule']) {
      const r = item['rule'] as Json;
      rules.push({
        ...(r as unknown as NftRule),
        expr: Array.isArray(r['expr']) ? (r['expr'] as Json[]) : [],
      });
    }
  }
  return { chains, rules };
}

function isOwnTable(family: string, table: string): boolean {
  return family === 'inet' && (table === TABLE_NAME || table === DOCTOR_TABLE);
}

function matchesOf(rule: NftRule): Json[] {
  return rule.expr.filter((e) => e['match']).map((e) => e['match'] as Json);
}

function hasVerdict(rule: NftRule, verdict: string): boolean {
  return rule.expr.some((e) => verdict in e);
}

function isCtStatusDnat(match: Json): boolean {
  const left = match['left'] as Json | undefined;
  const ct = left?.['ct'] as Json | undefined;
  if (ct?.['key'] !== 'status') return false;
  const right = match['right'];
  return right === 'dnat' || (Array.isArray(right) && right.includes('dnat'));
}

/** A base forward chain of another tool that drops what porttrigger forwards. */
export interface BlockingChain {
  readonly family: string;
  readonly table: string;
  readonly chain: string;
  /** The chain uses iptables-nft rules (`xt`) that cannot be read: it may accept DNAT'd traffic after all. */
  readonly opaque: boolean;
}

/**
 * Finds other tables' forward base chains with policy drop that accept no DNAT'd traffic: no rule with
 * `ct status dnat` and `accept`, also in chains they jump or go to. Their drop wins over porttrigger's accept.
 */
export function findBlockingForwardChains(ruleset: unknown): BlockingChain[] {
  const { chains, rules } = rulesetObjects(ruleset);
  const rulesOf = (family: string, table: string, chain: string) =>
    rules.filter((r) => r.family === family && r.table === table && r.chain === chain);
  const out: BlockingChain[] = [];
  for (const base of chains) {
    if (base.hook !== 'forward' || base.policy !== 'drop' || isOwnTable(base.family, base.table)) continue;
    const seen = new Set<string>();
    let accepts = false;
    let opaque = false;
    const visit = (name: string) => {
      if (seen.has(name) || accepts) return;
      seen.add(name);
      for (const rule of rulesOf(base.family, base.table, name)) {
        if (rule.expr.some((e) => 'xt' in e)) opaque = true;
        const matches = matchesOf(rule);
        if (hasVerdict(rule, 'accept') && (matches.length === 0 || matches.some(isCtStatusDnat))) {
          accepts = true;
          return;
        }
        for (const e of rule.expr) {
          const target = ((e['jump'] ?? e['goto']) as Json | undefined)?.['target'];
          if (typeof target === 'string') visit(target);
        }
      }
    };
    visit(base.name);
    if (!accepts) out.push({ family: base.family, table: base.table, chain: base.name, opaque });
  }
  return out;
}

/** The check of other tables' forward chains. */
export function forwardPolicyCheck(ruleset: unknown): DoctorCheck {
  const title = 'host firewall';
  const blocking = findBlockingForwardChains(ruleset);
  if (blocking.length === 0) {
    return {
      id: 'forward-policy',
      title,
      status: 'ok',
      detail: 'no other forward chain drops DNAT-ed connections',
    };
  }
  const names = blocking.map(
    (b) =>
      `table ${b.family} ${b.table} chain ${b.chain}${b.opaque ? ' (iptables rules, not inspected)' : ''}`,
  );
  return {
    id: 'forward-policy',
    title,
    status: 'warn',
    detail: `${names.join('; ')}: policy drop and no \`ct status dnat accept\`, so inbound connections of entries are dropped there`,
    hint: 'add `ct status dnat accept` to that chain (OpenWrt fw4 and firewalld have it for port forwards), or use `mode: standalone` on a box without another firewall',
  };
}

/** A static port forward of another table that overlaps the open ports of one of our rules. */
export interface StaticDnatOverlap {
  readonly family: string;
  readonly table: string;
  readonly chain: string;
  readonly handle?: number;
  readonly protocol: Protocol;
  /** The overlapping ports, as the config writes them. */
  readonly ports: string;
  readonly rule: string;
  readonly target: string;
}

function portsOf(right: unknown): PortRange[] | undefined {
  if (typeof right === 'number') return [{ from: right, to: right }];
  const obj = right as Json | null;
  const range = obj?.['range'];
  if (Array.isArray(range) && typeof range[0] === 'number' && typeof range[1] === 'number') {
    return [{ from: range[0], to: range[1] }];
  }
  const set = obj?.['set'] ?? (Array.isArray(right) ? right : undefined);
  if (Array.isArray(set)) {
    const out: PortRange[] = [];
    for (const item of set) {
      const key = Array.isArray(item) ? item[0] : item;
      const r = portsOf(key);
      if (!r) return undefined;
      out.push(...r);
    }
    return out;
  }
  return undefined;
}

function dportProtocol(left: unknown): Protocol | 'any' | undefined {
  const payload = (left as Json | null)?.['payload'] as Json | undefined;
  if (payload?.['field'] !== 'dport') return undefined;
  const p = payload['protocol'];
  return p === 'tcp' || p === 'udp' ? p : 'any';
}

function l4Protocol(matches: readonly Json[]): Protocol | undefined {
  for (const m of matches) {
    const meta = ((m['left'] as Json | undefined)?.['meta'] as Json | undefined)?.['key'];
    if (meta === 'l4proto' && (m['right'] === 'tcp' || m['right'] === 'udp')) return m['right'];
  }
  return undefined;
}

function dnatTarget(dnat: Json): string {
  const addr = dnat['addr'];
  const port = dnat['port'];
  const text =
    typeof addr === 'string' ? addr : addr && typeof addr === 'object' && 'map' in addr ? 'a map' : '?';
  return typeof port === 'number' ? `${text}:${port}` : text;
}

/** What one rule with a `dnat` statement forwards: per protocol the destination ports, or every port. */
function dnatPorts(
  rule: NftRule,
): { protocol: Protocol | 'any'; ranges: PortRange[] | 'all'; target: string }[] {
  const dnat = rule.expr.find((e) => e['dnat'])?.['dnat'] as Json | undefined;
  if (!dnat) return [];
  const matches = matchesOf(rule);
  const l4 = l4Protocol(matches);
  const out: { protocol: Protocol | 'any'; ranges: PortRange[] | 'all'; target: string }[] = [];
  for (const m of matches) {
    const proto = dportProtocol(m['left']);
    if (!proto || (m['op'] !== '==' && m['op'] !== 'in')) continue;
    const ranges = portsOf(m['right']);
    if (ranges)
      out.push({ protocol: proto === 'any' ? (l4 ?? 'any') : proto, ranges, target: dnatTarget(dnat) });
  }
  // `dnat to tcp dport map { 8080 : 192.168.1.52 }`: the keys are the ports.
  const map = ((dnat['addr'] as Json | undefined)?.['map'] as Json | undefined) ?? undefined;
  const mapProto = map ? dportProtocol(map['key']) : undefined;
  const mapData = map?.['data'] as Json | undefined;
  if (mapProto && mapData) {
    const ranges = portsOf(mapData);
    if (ranges)
      out.push({ protocol: mapProto === 'any' ? (l4 ?? 'any') : mapProto, ranges, target: 'a map' });
  }
  if (out.length === 0 && !map) out.push({ protocol: l4 ?? 'any', ranges: 'all', target: dnatTarget(dnat) });
  return out;
}

function intersect(a: readonly PortRange[], b: readonly PortRange[]): PortRange[] {
  const out: PortRange[] = [];
  for (const x of a) {
    for (const y of b) {
      const from = Math.max(x.from, y.from);
      const to = Math.min(x.to, y.to);
      if (from <= to) out.push({ from, to });
    }
  }
  return out.sort((p, q) => p.from - q.from);
}

/** Finds other tables' `dnat` rules whose destination ports overlap the open ports of an enabled rule. */
export function findStaticDnatOverlaps(ruleset: unknown, config: Config): StaticDnatOverlap[] {
  const { rules } = rulesetObjects(ruleset);
  const ours = config.rules
    .filter((r) => r.enabled)
    .map((r) => ({ name: r.name, open: rangesByProtocol(r.open) }));
  const out: StaticDnatOverlap[] = [];
  for (const rule of rules) {
    if (isOwnTable(rule.family, rule.table)) continue;
    for (const fwd of dnatPorts(rule)) {
      const protocols: Protocol[] = fwd.protocol === 'any' ? ['tcp', 'udp'] : [fwd.protocol];
      for (const protocol of protocols) {
        for (const o of ours) {
          const theirs = fwd.ranges === 'all' ? [{ from: 1, to: 65535 }] : fwd.ranges;
          if (!rangesOverlap(theirs, o.open[protocol])) continue;
          out.push({
            family: rule.family,
            table: rule.table,
            chain: rule.chain,
            ...(rule.handle !== undefined ? { handle: rule.handle } : {}),
            protocol,
            ports: fwd.ranges === 'all' ? 'all' : formatPortList(intersect(theirs, o.open[protocol])),
            rule: o.name,
            target: fwd.target,
          });
        }
      }
    }
  }
  return out;
}

/** The check of static port forwards against our open ports. */
export function staticDnatCheck(ruleset: unknown, config: Config): DoctorCheck {
  const title = 'static port forwards';
  const overlaps = findStaticDnatOverlaps(ruleset, config);
  if (overlaps.length === 0) {
    return {
      id: 'static-dnat',
      title,
      status: 'ok',
      detail: 'no other table forwards one of the open ports',
    };
  }
  const lines = overlaps.map(
    (o) =>
      `table ${o.family} ${o.table} chain ${o.chain}${o.handle !== undefined ? ` (handle ${o.handle})` : ''} forwards ${o.protocol} ${o.ports === 'all' ? 'every port' : o.ports} to ${o.target}, an open port of rule "${o.rule}"`,
  );
  return {
    id: 'static-dnat',
    title,
    status: 'warn',
    detail: lines.join('; '),
    hint: "a static forward wins over the trigger and the holder never gets those connections: remove it, or change the rule's open ports",
  };
}

/** The check of a config file: valid, invalid (with its issues) or missing. */
export function configCheck(path: string, result: Result<Config> | 'missing'): DoctorCheck {
  const title = 'config';
  if (result === 'missing') {
    return {
      id: 'config',
      title,
      status: 'warn',
      detail: `no config at ${path}: interface and port checks skipped`,
      hint: 'pass --config FILE (examples/gateway.yaml shows one)',
    };
  }
  if (!result.ok) {
    return {
      id: 'config',
      title,
      status: 'fail',
      detail: `${path} is invalid: ${result.issues.length} issue${result.issues.length === 1 ? '' : 's'}, e.g. ${describeIssue(result.issues[0])}`,
      hint: `porttrigger validate ${path}`,
    };
  }
  return {
    id: 'config',
    title,
    status: result.warnings.length > 0 ? 'warn' : 'ok',
    detail: `${path} is valid: ${result.value.rules.length} rules, ${result.value.mode} mode${result.warnings.length > 0 ? `, ${result.warnings.length} warning${result.warnings.length === 1 ? '' : 's'}` : ''}`,
    ...(result.warnings.length > 0 ? { hint: `porttrigger validate ${path}` } : {}),
  };
}

function describeIssue(issue: Issue | undefined): string {
  return issue ? `${formatPath(issue.path) || '(top level)'}: ${issue.message}` : '?';
}

function failureText(error: unknown): string {
  if (error instanceof ExecError) {
    return (error.stderr.trim().split('\n').slice(0, 4).join(' ') || error.message).trim();
  }
  return error instanceof Error ? error.message : String(error);
}

async function readSysctl(
  path: string,
  run: ProgramRunner,
  netns: string | undefined,
): Promise<string | undefined> {
  try {
    // /proc/sys/net shows the namespace of the reading process: read it from inside the namespace.
    return netns
      ? (await run('cat', [path], { netns, timeoutMs: 10_000 })).stdout
      : await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * Runs every check. Never throws for a failed check: each comes back with its status and a hint.
 * @example const checks = await runDoctor({ config }); checks.some((c) => c.status === 'fail')
 */
export async function runDoctor(options: DoctorOptions = {}): Promise<DoctorCheck[]> {
  const run = options.run ?? runProgram;
  const ns = options.netns ? { netns: options.netns } : {};
  const checks: DoctorCheck[] = [];

  let nftPresent = true;
  try {
    const { stdout } = await run('nft', ['--version'], { ...ns, timeoutMs: 10_000 });
    checks.push(nftVersionCheck(stdout));
  } catch (error) {
    nftPresent = !(error instanceof ExecError && error.exitCode === null);
    checks.push({
      id: 'nft',
      title: 'nft version',
      status: 'fail',
      detail: nftPresent ? `nft --version failed: ${failureText(error)}` : 'nft is not installed',
      hint: 'apt-get install nftables (or your distribution’s nftables package)',
    });
  }

  const kernelTitle = 'kernel features';
  if (nftPresent) {
    try {
      await run('nft', ['-c', '-f', '-'], { ...ns, input: kernelFeatureScript(), timeoutMs: 30_000 });
      checks.push({
        id: 'kernel',
        title: kernelTitle,
        status: 'ok',
        detail:
          'dynamic sets with timeouts, interval verdict maps on concatenations and DNAT from a map all work',
      });
    } catch (error) {
      const text = failureText(error);
      checks.push({
        id: 'kernel',
        title: kernelTitle,
        status: 'fail',
        detail: `nft -c refused a scratch table: ${text}`,
        hint: /Operation not permitted|EPERM/i.test(text)
          ? 'run as root (nft needs CAP_NET_ADMIN)'
          : 'needs Linux 5.6 or later with nf_tables, nft_set_hash, nft_set_rbtree, nft_nat and nft_ct',
      });
    }
  }

  const [v4, v6] = await Promise.all([
    readSysctl('/proc/sys/net/ipv4/ip_forward', run, options.netns),
    readSysctl('/proc/sys/net/ipv6/conf/all/forwarding', run, options.netns),
  ]);
  checks.push(forwardingCheck(v4, v6, options.config));

  if (options.config) {
    try {
      const { stdout } = await run('ip', ['-j', 'link', 'show'], { ...ns, timeoutMs: 10_000 });
      checks.push(interfacesCheck(JSON.parse(stdout) as unknown, options.config));
    } catch (error) {
      checks.push({
        id: 'interfaces',
        title: 'interfaces',
        status: 'warn',
        detail: `cannot list interfaces: ${failureText(error)}`,
      });
    }
  }

  if (nftPresent) {
    try {
      const { stdout } = await run('nft', ['-j', 'list', 'ruleset'], { ...ns, timeoutMs: 60_000 });
      const ruleset = JSON.parse(stdout) as unknown;
      checks.push(forwardPolicyCheck(ruleset));
      if (options.config) checks.push(staticDnatCheck(ruleset, options.config));
    } catch (error) {
      checks.push({
        id: 'forward-policy',
        title: 'host firewall',
        status: 'warn',
        detail: `cannot list the ruleset: ${failureText(error)}`,
        hint: 'run as root',
      });
    }
  }
  return checks;
}
