/** Rules and entries in plain words, the way the panel shows them. */
import type { PortSpec, Rule } from '../domain/types.js';

function protocolText(spec: PortSpec): string {
  return spec.protocol === 'both' ? 'TCP or UDP' : spec.protocol.toUpperCase();
}

/** `TCP 6970` / `UDP 7000-7010 and TCP 7020`. */
export function portsText(specs: readonly PortSpec[]): string {
  return specs
    .map((s) => {
      const many = /[-,]/.test(s.ports);
      return `${protocolText(s)} ${many ? 'ports' : 'port'} ${s.ports.replace(/,/g, ', ')}`;
    })
    .join(' and ');
}

/** `10 min`, `1 h 30 min`, `45 s`. */
export function durationText(seconds: number): string {
  if (seconds < 60) return `${seconds} s`;
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return [h ? `${h} h` : '', m ? `${m} min` : '', s ? `${s} s` : ''].filter(Boolean).join(' ');
}

/**
 * A rule as one sentence.
 * @example "When a device on the LAN sends TCP to port 6970, open UDP ports 7000-7010 to that device; any server may connect; closes after 10 min without traffic."
 */
export function ruleSentence(rule: Rule): string {
  const who =
    rule.lanHosts === 'any' ? 'a device on the LAN' : `a device in ${rule.lanHosts.join(', ')} on the LAN`;
  const trigger = portsText(rule.trigger).replace(/^(TCP or UDP|TCP|UDP) /, '$1 to ');
  const remote =
    rule.remote === 'any' ? 'any server may connect' : 'only the server it contacted may connect';
  const family = rule.family === 'both' ? '' : ` (${rule.family === 'ipv4' ? 'IPv4' : 'IPv6'} only)`;
  const expire = rule.onExpire === 'close' ? '; open connections are cut when it closes' : '';
  return (
    `When ${who} sends ${trigger}, open ${portsText(rule.open)} to that device${family}; ${remote}; ` +
    `closes after ${durationText(rule.idleTimeout)} without traffic${expire}.`
  );
}
