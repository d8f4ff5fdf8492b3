import { describe, expect, it } from 'vitest';
import { validateRule } from './config.js';
import { formatPath } from './errors.js';
import { rangesByProtocol } from './ports.js';
import { findPreset, PRESETS, presetRuleInput } from './presets.js';

describe('presets', () => {
  it('holds about a dozen applications with unique ids and names', () => {
    expect(PRESETS.length).toBeGreaterThanOrEqual(10);
    expect(new Set(PRESETS.map((p) => p.id)).size).toBe(PRESETS.length);
    expect(new Set(PRESETS.map((p) => p.name.toLowerCase())).size).toBe(PRESETS.length);
    for (const p of PRESETS) expect(p.id).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
  });

  it.each(PRESETS.map((p) => [p.id, p] as const))('%s is a valid rule', (_id, preset) => {
    const result = validateRule(presetRuleInput(preset));
    if (!result.ok) {
      throw new Error(result.issues.map((i) => `${formatPath(i.path)}: ${i.message}`).join('; '));
    }
    expect(result.value.name).toBe(preset.name);
    expect(result.value.idleTimeout).toBe(preset.idleTimeout);
    // Narrow, harmless ranges: no commonly attacked or privileged port, never a rule that opens its own trigger.
    expect(result.warnings).toEqual([]);
    expect(preset.setup.length).toBeGreaterThan(10);
    expect(preset.sharing).toMatch(/one device at a time/);
  });

  it.each(PRESETS.map((p) => [p.id, p] as const))('%s opens at most 30 ports per protocol', (_id, preset) => {
    const ranges = rangesByProtocol(preset.open);
    for (const protocol of ['tcp', 'udp'] as const) {
      expect(ranges[protocol].reduce((n, r) => n + r.to - r.from + 1, 0)).toBeLessThanOrEqual(30);
    }
  });

  it("ftp-active opens the client's data ports, never the server's port 20", () => {
    const ftp = findPreset('ftp-active')!;
    expect(ftp.open).toEqual([{ protocol: 'tcp', ports: '50000-50009' }]);
    expect(ftp.setup).toMatch(/WAN address/);
  });

  it.each([
    ['irc-dcc', 'IRC DCC'],
    ['IRC DCC', 'IRC DCC'],
    ['ircdcc', 'IRC DCC'],
    ['Battle.net', 'Battle.net'],
    ['  ftp-ACTIVE ', 'FTP active mode'],
  ])('finds %j', (query, name) => {
    expect(findPreset(query)?.name).toBe(name);
  });

  it('finds nothing for an unknown or empty name', () => {
    expect(findPreset('doom')).toBeUndefined();
    expect(findPreset('--')).toBeUndefined();
  });

  it('lets overrides replace preset fields', () => {
    const preset = findPreset('aim-talk')!;
    const input = presetRuleInput(preset, { idleTimeout: 5, name: 'aim' });
    expect(input).toMatchObject({
      name: 'aim',
      idleTimeout: 5,
      trigger: [{ protocol: 'tcp', ports: '4099' }],
    });
  });
});
