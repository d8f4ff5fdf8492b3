import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../domain/config.js';
import { learnRules } from './learn-rules.js';
import { planConfig } from './plan.js';
import { renderTable } from './render.js';

const config = (() => {
  const r = parseConfigText(`interfaces: { lan: [br-lan], wan: [wan0, "ppp*"] }
rules:
  - name: game
    trigger: [{ protocol: tcp, ports: "6970" }]
    open: [{ protocol: udp, ports: "7000-7010" }]
`);
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.value;
})();

describe('the recording rules of a learning session', () => {
  it('are rendered last in dstnat only while a capture is set', () => {
    const without = renderTable(planConfig(config));
    expect(without).not.toContain('learning');
    const withCapture = renderTable({ ...planConfig(config), learn: { host: '192.168.1.10' } });
    const dstnat = withCapture.slice(
      withCapture.indexOf('chain dstnat'),
      withCapture.indexOf('chain srcnat'),
    );
    const lines = dstnat
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l.startsWith('iifname'));
    expect(lines.slice(-2)).toEqual(learnRules({ host: '192.168.1.10' }, config.interfaces));
    expect(lines.at(-2)).toBe(
      'iifname { "br-lan" } fib daddr oifname { "wan0", "ppp*" } meta nfproto ipv4 ip saddr 192.168.1.10 meta l4proto { tcp, udp } limit rate 50/second burst 100 packets ct mark set ct mark | 0x10000000 comment "learning: outbound"',
    );
    expect(lines.at(-1)).toBe(
      'iifname { "wan0", "ppp*" } meta nfproto ipv4 fib daddr type local meta l4proto { tcp, udp } limit rate 50/second burst 100 packets ct mark set ct mark | 0x30000000 comment "learning: inbound attempts"',
    );
  });

  it('record every LAN host without a host, and refuse anything but an IPv4 address', () => {
    expect(learnRules({}, config.interfaces)[0]).not.toContain('saddr');
    // Leading zeros read as octal elsewhere: refused rather than guessed.
    expect(() => learnRules({ host: '192.168.001.010' }, config.interfaces)).toThrow(/IPv4/);
    expect(() => learnRules({ host: '2001:db8::1' }, config.interfaces)).toThrow(/IPv4/);
    expect(() => learnRules({ host: '1.2.3.4; flush ruleset' }, config.interfaces)).toThrow(/IPv4/);
  });
});
