/** The doctor's checks: each turns what was read from the system into a status, a detail and a hint. Pure. */
import type { Result } from '../domain/errors.js';
import type { Config } from '../domain/types.js';
import { parseNftVersion } from '../nft/feature-probe.js';
import { decideForward, type XtTranslations } from '../nft/forward-decision.js';
import { nameFirewalls } from '../nft/host-firewall.js';
import { findStaticDnatOverlaps } from '../nft/ruleset-analysis.js';
import { describeFirewall, type FirewallFix, fixText } from './firewall-advice.js';
import { type CheckId, describeIssue, describeOverlaps, HINTS, plural, TITLES } from './wording.js';

/** How a check came out. */
export type CheckStatus = 'ok' | 'warn' | 'fail';

/** One check of the doctor: what was looked at, how it came out, and what to do about it. */
export interface DoctorCheck {
  /**
   * Stable, for scripts: `nft`, `kernel`, `forwarding`, `conntrack`, `set-reader`, `config`, `interfaces`, `wan-address`, `api-listen`,
   * `forward-policy`, `static-dnat`.
   */
  readonly id: CheckId;
  readonly title: string;
  readonly status: CheckStatus;
  readonly detail: string;
  readonly hint?: string;
  /** The host firewall check's exact change when a firewall drops porttrigger's connections. */
  readonly fix?: FirewallFix;
}

/** A check with its title filled in from its id. */
export function check(id: CheckId, status: CheckStatus, detail: string, hint?: string): DoctorCheck {
  return { id, title: TITLES[id], status, detail, ...(hint !== undefined ? { hint } : {}) };
}

/** The check of an `nft --version` output: 1.0 or later is needed. */
export function nftVersionCheck(output: string): DoctorCheck {
  const v = parseNftVersion(output);
  if (!v) return check('nft', 'fail', `cannot read the version from "${output.trim()}"`);
  const text = `${v.major}.${v.minor}.${v.patch}`;
  return v.major >= 1
    ? check('nft', 'ok', `nftables v${text} (1.0 or later is needed)`)
    : check('nft', 'fail', `nftables v${text} is too old`, HINTS.nftTooOld);
}

/**
 * The check of the `conntrack` program from its `--version` output (undefined: not installed; null: it failed). Without it
 * traffic does not keep entries open and the service cannot hear the kernel's events.
 */
export function conntrackCheck(output: string | undefined | null): DoctorCheck {
  if (output === null) {
    return check('conntrack', 'warn', 'conntrack --version failed', HINTS.conntrackMissing);
  }
  if (output === undefined) {
    return check(
      'conntrack',
      'warn',
      'conntrack is not installed: entries close idleTimeout after their last new connection, even while their connections carry traffic, and the service notices new entries only at its slow reconciliation',
      HINTS.conntrackMissing,
    );
  }
  const version = /v(\d+\.\d+\.\d+)/.exec(output)?.[1];
  return check('conntrack', 'ok', `conntrack-tools ${version ? `v${version}` : output.trim()}`);
}

/**
 * The check of the set reader (native/set-reader) from one run of it on our table: `missing` when the build made
 * none, `ok` when it read (or found no table), otherwise its own words. Without it the service reads the entry
 * sets through nft's JSON listing, ten times slower with tens of thousands of entries.
 */
export function setReaderCheck(outcome: 'missing' | 'ok' | { readonly error: string }): DoctorCheck {
  if (outcome === 'ok') return check('set-reader', 'ok', 'reads the entry sets over netlink');
  const why =
    outcome === 'missing' ? 'the set reader was not built' : `the set reader failed: ${outcome.error}`;
  return check(
    'set-reader',
    'warn',
    `${why}: the service reads the entry sets through nft -j, slower with many entries`,
    outcome === 'missing' ? HINTS.setReaderMissing : undefined,
  );
}

/** The check of IP forwarding from the two sysctl values (`1` on, `0` off, undefined unreadable). */
export function forwardingCheck(
  ipv4: string | undefined,
  ipv6: string | undefined,
  config?: Config,
): DoctorCheck {
  const v4 = ipv4?.trim() === '1';
  const v6 = ipv6?.trim() === '1';
  const wantV6 = config ? config.ipv6 && config.rules.some((r) => r.family !== 'ipv4') : true;
  if (!v4) {
    return check(
      'forwarding',
      'fail',
      ipv4 === undefined ? 'cannot read net.ipv4.ip_forward' : 'net.ipv4.ip_forward is 0: nothing is routed',
      HINTS.ipv4Forwarding,
    );
  }
  if (!v6 && wantV6) {
    return check(
      'forwarding',
      'warn',
      'IPv4 is forwarded, IPv6 is not (net.ipv6.conf.all.forwarding is not 1): IPv6 entries reach nobody',
      HINTS.ipv6Forwarding,
    );
  }
  return check('forwarding', 'ok', v6 ? 'on for IPv4 and IPv6' : 'on for IPv4 (IPv6 is not used)');
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
  return missing.length === 0
    ? check('interfaces', 'ok', `${names.join(', ')} present`)
    : check('interfaces', 'warn', `not present now: ${missing.join(', ')}`, HINTS.interfaces);
}

/**
 * The check of other tables' forward chains: names the firewall (firewalld, ufw, Docker, nftables), says whether
 * it drops porttrigger's DNAT-ed connections, and gives the exact change that lets them through. IPv6 entries
 * are routed, not DNAT-ed: only chains that see IPv4 (`ip`, `inet`) are judged here.
 */
export function forwardPolicyCheck(
  ruleset: unknown,
  config?: Config,
  translations?: XtTranslations,
): DoctorCheck {
  const path = config ? { wan: config.interfaces.wan, lan: config.interfaces.lan } : undefined;
  const decisions = decideForward(ruleset, path, translations).filter(
    (d) => d.family === 'ip' || d.family === 'inet',
  );
  const findings = nameFirewalls(ruleset, decisions).map((fw) => describeFirewall(fw, config));
  if (findings.length === 0)
    return check('forward-policy', 'ok', 'no other forward chain drops DNAT-ed connections');
  const dropping = findings.filter((f) => f.drops);
  if (dropping.length === 0) return check('forward-policy', 'ok', findings.map((f) => f.detail).join('; '));
  const fix = dropping.find((f) => f.fix)?.fix;
  return {
    ...check(
      'forward-policy',
      'warn',
      dropping.map((f) => f.detail).join('; '),
      fix ? fixText(fix) : HINTS.forwardPolicy,
    ),
    ...(fix ? { fix } : {}),
  };
}

/** The check of static port forwards against our open ports. */
export function staticDnatCheck(ruleset: unknown, config: Config): DoctorCheck {
  const overlaps = findStaticDnatOverlaps(ruleset, config);
  return overlaps.length === 0
    ? check('static-dnat', 'ok', 'no other table forwards one of the open ports')
    : check('static-dnat', 'warn', describeOverlaps(overlaps), HINTS.staticDnat);
}

/** The check of a config file: valid, invalid (with its issues) or missing. */
export function configCheck(path: string, result: Result<Config> | 'missing'): DoctorCheck {
  if (result === 'missing') {
    return check(
      'config',
      'warn',
      `no config at ${path}: interface and port checks skipped`,
      HINTS.configExample,
    );
  }
  if (!result.ok) {
    return check(
      'config',
      'fail',
      `${path} is invalid: ${plural(result.issues.length, 'issue')}, e.g. ${describeIssue(result.issues[0])}`,
      `porttrigger validate ${path}`,
    );
  }
  const warnings = result.warnings.length;
  return check(
    'config',
    warnings > 0 ? 'warn' : 'ok',
    `${path} is valid: ${result.value.rules.length} rules, ${result.value.mode} mode${warnings > 0 ? `, ${plural(warnings, 'warning')}` : ''}`,
    warnings > 0 ? `porttrigger validate ${path}` : undefined,
  );
}
