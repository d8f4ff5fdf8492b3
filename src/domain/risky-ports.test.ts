import { describe, expect, it } from 'vitest';
import { validateConfig, validateRule } from './config.js';
import { riskyPortsIn } from './risky-ports.js';

const rule = (protocol: string, ports: string) => ({
  name: 'r',
  trigger: [{ protocol: 'tcp', ports: '60000' }],
  open: [{ protocol, ports }],
});

describe('risky ports', () => {
  it.each([
    ['tcp', '21', 'tcp 21 (FTP control'],
    ['tcp', '23', 'tcp 23 (Telnet'],
    ['both', '135', 'tcp 135 (Windows RPC'],
    ['udp', '137-139', 'udp 137-139 (NetBIOS'],
    ['tcp', '445', 'tcp 445 (SMB'],
    ['tcp', '1433', 'tcp 1433 (Microsoft SQL'],
    ['tcp', '3306', 'tcp 3306 (MySQL'],
    ['tcp', '3389', 'tcp 3389 (Remote Desktop'],
    ['tcp', '5900', 'tcp 5900 (VNC'],
    // A wide range names its first three risks in full and the rest by port, to keep the line short.
    ['tcp', '1024-5000', 'tcp 3389'],
  ])('warns that %s %s opens a commonly attacked port, naming it and the risk', (protocol, ports, named) => {
    const r = validateRule(rule(protocol, ports));
    expect(r.ok).toBe(true);
    const risky = r.warnings.find((w) => w.code === 'risky_port');
    expect(risky).toMatchObject({ path: ['open', 0, 'ports'] });
    expect(risky?.message).toContain(named);
  });

  it('names a port below 1024 that is not on the list as privileged', () => {
    const r = validateRule(rule('tcp', '80'));
    expect(r.warnings).toEqual([
      expect.objectContaining({ code: 'privileged_port', message: expect.stringContaining('tcp 80') }),
    ]);
  });

  it('says nothing about a narrow high range', () => {
    expect(validateRule(rule('udp', '7000-7010')).warnings).toEqual([]);
  });

  it('matches the protocol: udp 3389 is not Remote Desktop', () => {
    expect(riskyPortsIn('udp', [{ from: 3389, to: 3389 }])).toEqual([]);
    expect(riskyPortsIn('both', [{ from: 3389, to: 3389 }])).toHaveLength(1);
  });

  it("shows the warning at the rule's place in a config", () => {
    const r = validateConfig({
      interfaces: { lan: ['br-lan'], wan: ['eth0'] },
      rules: [rule('udp', '7000'), { ...rule('tcp', '3389'), name: 'rdp' }],
    });
    expect(r.warnings).toContainEqual(
      expect.objectContaining({ path: ['rules', 1, 'open', 0, 'ports'], code: 'risky_port' }),
    );
  });
});
