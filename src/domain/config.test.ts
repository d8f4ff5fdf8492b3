import { describe, expect, it } from 'vitest';
import { parseConfigText, validateConfig, validateConfigChange, validateRule } from './config.js';
import { formatPath } from './errors.js';

const base = { interfaces: { lan: ['br-lan'], wan: ['eth0'] } };
const rule = (over: Record<string, unknown> = {}) => ({
  name: 'game',
  trigger: [{ protocol: 'tcp', ports: '6970' }],
  open: [{ protocol: 'udp', ports: '7000-7010' }],
  ...over,
});

function issuesOf(input: unknown) {
  const r = validateConfig(input);
  return r.ok ? [] : r.issues.map((i) => ({ path: formatPath(i.path), code: i.code }));
}

describe('validateConfig', () => {
  it('fills the documented defaults', () => {
    const r = validateConfig({ ...base, rules: [rule()] });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.mode).toBe('companion');
    expect(r.value.enabled).toBe(true);
    expect(r.value.ipv6).toBe(true);
    expect(r.value.rules[0]).toMatchObject({
      enabled: true,
      family: 'both',
      idleTimeout: 600,
      lanHosts: 'any',
      remote: 'any',
      onExpire: 'keep',
    });
  });

  it.each([
    [
      'a port above 65535',
      rule({ open: [{ protocol: 'udp', ports: '70000' }] }),
      'rules[0].open[0].ports',
      'bad_ports',
    ],
    [
      'port zero',
      rule({ trigger: [{ protocol: 'tcp', ports: '0' }] }),
      'rules[0].trigger[0].ports',
      'bad_ports',
    ],
    [
      'a backwards range',
      rule({ open: [{ protocol: 'udp', ports: '7010-7000' }] }),
      'rules[0].open[0].ports',
      'bad_ports',
    ],
    [
      'garbage in a list',
      rule({ open: [{ protocol: 'udp', ports: '7000,x' }] }),
      'rules[0].open[0].ports',
      'bad_ports',
    ],
    [
      'an empty list item',
      rule({ open: [{ protocol: 'udp', ports: '7000,,7001' }] }),
      'rules[0].open[0].ports',
      'bad_ports',
    ],
    [
      'an unknown protocol',
      rule({ open: [{ protocol: 'sctp', ports: '1' }] }),
      'rules[0].open[0].protocol',
      'invalid_value',
    ],
    ['a timeout of zero', rule({ idleTimeout: 0 }), 'rules[0].idleTimeout', 'out_of_range'],
    ['a timeout above a day', rule({ idleTimeout: 86_401 }), 'rules[0].idleTimeout', 'out_of_range'],
    ['a fractional timeout', rule({ idleTimeout: 1.5 }), 'rules[0].idleTimeout', 'invalid_type'],
    ['a bad address', rule({ lanHosts: ['192.168.1.300'] }), 'rules[0].lanHosts[0]', 'bad_address'],
    ['a CIDR with host bits', rule({ lanHosts: ['192.168.1.1/24'] }), 'rules[0].lanHosts[0]', 'bad_address'],
    [
      'a bad IPv6 prefix length',
      rule({ lanHosts: ['2001:db8::/129'] }),
      'rules[0].lanHosts[0]',
      'bad_address',
    ],
    ['an unknown rule key', rule({ timeout: 5 }), 'rules[0]', 'unknown_key'],
    ['an empty name', rule({ name: '' }), 'rules[0].name', 'out_of_range'],
    ['a name of 65 characters', rule({ name: 'x'.repeat(65) }), 'rules[0].name', 'out_of_range'],
    ['a name with a newline', rule({ name: 'a\nb' }), 'rules[0].name', 'bad_name'],
    ['no open ports', rule({ open: [] }), 'rules[0].open', 'out_of_range'],
    ['a bad remote', rule({ remote: 'everyone' }), 'rules[0].remote', 'invalid_value'],
  ])('refuses %s', (_what, r, path, code) => {
    expect(issuesOf({ ...base, rules: [r] })).toContainEqual({ path, code });
  });

  it.each([
    ['an unknown top-level key', { ...base, rules: [], extra: 1 }, '', 'unknown_key'],
    ['a missing interfaces section', { rules: [] }, 'interfaces', 'required'],
    [
      'a bad interface name',
      { interfaces: { lan: ['br lan'], wan: ['eth0'] } },
      'interfaces.lan[0]',
      'bad_interface',
    ],
    [
      'an interface on both sides',
      { interfaces: { lan: ['eth0'], wan: ['eth0'] } },
      'interfaces',
      'interface_both_sides',
    ],
    ['a bad mode', { ...base, mode: 'router' }, 'mode', 'invalid_value'],
  ])('refuses %s', (_what, input, path, code) => {
    expect(issuesOf(input)).toContainEqual({ path, code });
  });

  it('refuses duplicate names, case-insensitively', () => {
    expect(
      issuesOf({ ...base, rules: [rule(), rule({ name: 'Game', open: [{ protocol: 'udp', ports: '1' }] })] }),
    ).toContainEqual({
      path: 'rules[1].name',
      code: 'duplicate_name',
    });
  });

  it('refuses overlapping open ranges of two enabled rules of the same protocol and family', () => {
    const other = rule({ name: 'other', open: [{ protocol: 'both', ports: '7010-7020' }] });
    expect(issuesOf({ ...base, rules: [rule(), other] })).toContainEqual({
      path: 'rules[1].open',
      code: 'open_overlap',
    });
  });

  it.each([
    ['one rule is disabled', { enabled: false }],
    ['the families differ', { family: 'ipv6' }],
    ['the protocols differ', { open: [{ protocol: 'tcp', ports: '7000-7010' }] }],
  ])('allows overlapping open ranges when %s', (_what, over) => {
    const first = rule({ family: 'ipv4' });
    const other = rule({ name: 'other', ...over });
    expect(validateConfig({ ...base, rules: [first, other] }).ok).toBe(true);
  });

  it('reports every problem at once', () => {
    const bad = rule({ idleTimeout: 0, lanHosts: ['nope'], open: [{ protocol: 'udp', ports: '99999' }] });
    const other = rule({
      name: 'other',
      lanHosts: ['10.0.0.0/33'],
      open: [{ protocol: 'udp', ports: '1-x' }],
    });
    const r = validateConfig({
      ...base,
      mode: 'router',
      rules: [bad, other, rule({ name: 'third', remote: 'x' })],
    });
    // A bad top level does not hide the rules' own problems.
    expect(r.ok ? [] : r.issues.map((i) => `${formatPath(i.path)} ${i.code}`).sort()).toEqual([
      'mode invalid_value',
      'rules[0].idleTimeout out_of_range',
      'rules[0].lanHosts[0] bad_address',
      'rules[0].open[0].ports bad_ports',
      'rules[1].lanHosts[0] bad_address',
      'rules[1].open[0].ports bad_ports',
      'rules[2].remote invalid_value',
    ]);
    const r2 = validateConfig({ ...base, rules: [bad, other, rule({ name: 'third', remote: 'x' })] });
    expect(r2.ok ? [] : r2.issues.map((i) => `${formatPath(i.path)} ${i.code}`).sort()).toEqual([
      'rules[0].idleTimeout out_of_range',
      'rules[0].lanHosts[0] bad_address',
      'rules[0].open[0].ports bad_ports',
      'rules[1].lanHosts[0] bad_address',
      'rules[1].open[0].ports bad_ports',
      'rules[2].remote invalid_value',
    ]);
  });

  it('warns about open ports below 1024 and open ranges that include the trigger', () => {
    const r = validateConfig({
      ...base,
      rules: [
        rule({ open: [{ protocol: 'tcp', ports: '20' }], trigger: [{ protocol: 'tcp', ports: '20-21' }] }),
      ],
    });
    expect(r.ok).toBe(true);
    expect(r.warnings.map((w) => w.code).sort()).toEqual(['open_includes_trigger', 'privileged_port']);
  });
});

describe('parseConfigText', () => {
  it('reads the example config', async () => {
    const { readFile } = await import('node:fs/promises');
    const text = await readFile(new URL('../../examples/gateway.yaml', import.meta.url), 'utf8');
    const r = parseConfigText(text);
    expect(r.ok).toBe(true);
    expect(r.ok && r.value.rules.map((x) => x.name)).toEqual([
      'Game callback',
      'Voice chat',
      'FTP active mode',
    ]);
  });

  it('reports YAML syntax errors with their line', () => {
    const r = parseConfigText('interfaces:\n  lan: [br-lan\n');
    expect(r.ok).toBe(false);
    expect(!r.ok && r.issues[0]!.code).toBe('yaml_syntax');
    expect(!r.ok && r.issues[0]!.message).toMatch(/^line \d+:/);
  });

  it('refuses duplicate keys', () => {
    const r = parseConfigText('interfaces: { lan: [a], wan: [b] }\nmode: standalone\nmode: companion\n');
    expect(r.ok).toBe(false);
  });
});

describe('validateRule', () => {
  it('returns issue paths relative to the rule', () => {
    const r = validateRule(rule({ lanHosts: ['x'] }));
    expect(r.ok ? [] : r.issues.map((i) => formatPath(i.path))).toEqual(['lanHosts[0]']);
  });
});

describe('idleTimeout in the one duration grammar', () => {
  it.each([
    [600, 600],
    ['90', 90],
    ['10m', 600],
    ['1h30m', 5400],
    ['1d', 86_400],
  ])('reads idleTimeout %j as %d seconds', (idleTimeout, seconds) => {
    const r = validateConfig({ ...base, rules: [rule({ idleTimeout })] });
    expect(r.ok && r.value.rules[0]!.idleTimeout).toBe(seconds);
  });

  it('refuses what is not a duration with the grammar, and a duration beyond a day with the range', () => {
    const bad = validateRule(rule({ idleTimeout: 'ten minutes' }));
    expect(bad.ok ? [] : bad.issues).toEqual([
      {
        path: ['idleTimeout'],
        code: 'bad_duration',
        message:
          'idleTimeout: "ten minutes" is not a duration: write seconds (90) or a number with d, h, m or s (10m, 1d, 1h30m)',
      },
    ]);
    const long = validateRule(rule({ idleTimeout: '2d' }));
    expect(long.ok ? [] : long.issues.map((i) => i.message)).toEqual([
      'idleTimeout must be 1-86400 seconds (1s to 1d)',
    ]);
  });
});

describe('rules that can never fire, and rules that open everything', () => {
  it.each([
    [
      'IPv6 lanHosts on an ipv4 rule',
      { family: 'ipv4', lanHosts: ['fd00::10', '2001:db8::/64'] },
      'IPv4 only',
    ],
    ['IPv4 lanHosts on an ipv6 rule', { family: 'ipv6', lanHosts: ['192.168.1.10'] }, 'IPv6 only'],
  ])('refuses %s: it can never fire', (_, over, said) => {
    const r = validateConfig({ ...base, rules: [rule(over)] });
    expect(r.ok ? [] : r.issues).toEqual([
      { path: ['rules', 0, 'lanHosts'], code: 'never_fires', message: expect.stringContaining(said) },
    ]);
    expect(validateRule(rule(over)).ok).toBe(false);
  });

  it('refuses an ipv6 rule when the config has ipv6: false', () => {
    expect(issuesOf({ ...base, ipv6: false, rules: [rule({ family: 'ipv6' })] })).toEqual([
      { path: 'rules[0].family', code: 'never_fires' },
    ]);
  });

  it('warns about the lanHosts of the other family when some fit', () => {
    const r = validateConfig({
      ...base,
      rules: [rule({ family: 'ipv4', lanHosts: ['192.168.1.10', 'fd00::1'] })],
    });
    expect(r.ok).toBe(true);
    expect(r.warnings).toEqual([
      expect.objectContaining({ path: ['rules', 0, 'lanHosts', 1], code: 'lan_host_other_family' }),
    ]);
  });

  it('warns about a rule opening 1-65535 in one short line', () => {
    const r = validateConfig({ ...base, rules: [rule({ open: [{ protocol: 'both', ports: '1-65535' }] })] });
    expect(r.ok).toBe(true);
    expect(r.warnings.map((w) => w.code)).toEqual(['open_all_ports', 'open_includes_trigger']);
    const dmz = r.warnings[0]!;
    expect(dmz.message).toMatch(
      /^opens every tcp and udp port \(1-65535\): the LAN host is exposed like a DMZ host/,
    );
    expect(dmz.message.length).toBeLessThan(200);
  });

  it('names at most three commonly attacked ports and counts the rest', () => {
    const r = validateRule(rule({ open: [{ protocol: 'tcp', ports: '1-3400' }] }));
    const risky = r.warnings.find((w) => w.code === 'risky_port')!;
    expect(risky.message).toMatch(/; and \d+ more \(tcp [\d-]+(, tcp [\d-]+)*\)\. Open them only/);
    expect(risky.message.length).toBeLessThan(500);
  });
});

describe('messages a person can act on', () => {
  it('gives an unknown key its line and the key it probably meant', () => {
    const r = parseConfigText(
      [
        'interfaces: { lan: [br-lan], wan: [eth0] }',
        'mdoe: standalone',
        'rules:',
        '  - name: game',
        '    trigger: [{ protocol: tcp, ports: "6970" }]',
        '    open: [{ protocol: udp, ports: "7000" }]',
        '    idletimeout: 30',
        '    colour: red',
      ].join('\n'),
    );
    expect(r.ok ? [] : r.issues.map((i) => [formatPath(i.path), i.message])).toEqual([
      ['', 'line 2: unknown key "mdoe" (did you mean "mode"?)'],
      ['rules[0]', 'line 7: unknown key "idletimeout" (did you mean "idleTimeout"?)'],
      ['rules[0]', 'line 8: unknown key "colour"'],
    ]);
  });

  it.each(['', '\n\n', '# only a comment\n'])('says that the file %j is empty, and what it needs', (text) => {
    const r = parseConfigText(text);
    expect(r.ok ? [] : r.issues).toEqual([
      {
        path: [],
        code: 'empty',
        message: expect.stringMatching(
          /^the config is empty: .*interfaces: \{ lan: \[br-lan\], wan: \[eth0\] \}/,
        ),
      },
    ]);
  });

  it('shows an example when the interfaces are missing', () => {
    const r = parseConfigText('rules: []\n');
    expect(r.ok ? [] : r.issues.map((i) => i.message)).toEqual([
      "is required: the gateway's LAN and WAN interfaces, e.g. interfaces: { lan: [br-lan], wan: [eth0] }",
    ]);
  });

  it('reports a tab used as indentation once, without the errors it causes further down', () => {
    const r = parseConfigText('interfaces:\n\tlan: [br-lan]\n  wan: [eth0]\n');
    expect(r.ok ? [] : r.issues.map((i) => i.message)).toEqual([
      'line 2: a tab indents this line; YAML indents with spaces only',
    ]);
  });
});

describe('validateConfigChange', () => {
  const rule = (name: string, open: string, over: Record<string, unknown> = {}) => {
    const r = validateRule({
      name,
      trigger: [{ protocol: 'udp', ports: '5000' }],
      open: [{ protocol: 'udp', ports: open }],
      ...over,
    });
    if (!r.ok) throw new Error(JSON.stringify(r.issues));
    return r.value;
  };
  const base = {
    interfaces: { lan: ['br-lan'], wan: ['wan0'] },
    mode: 'standalone' as const,
    enabled: true,
    ipv6: true,
    api: { listen: '0.0.0.0:8080', tokenFile: '/tmp/t' },
    rules: [
      rule('game', '7000-7010'),
      rule('ssh', '22', { lanHosts: ['192.168.1.0/24'] }),
      rule('off', '9000', { enabled: false }),
    ],
  };
  const cases: [string, typeof base, number | undefined][] = [
    ['a rule added', { ...base, rules: [...base.rules, rule('new', '7100')] }, 3],
    ['a rule added whose open ports clash', { ...base, rules: [...base.rules, rule('new', '7005')] }, 3],
    [
      'a clash with a rule earlier in the list',
      { ...base, rules: [rule('first', '9000'), ...base.rules] },
      0,
    ],
    ['a disabled rule enabled over a clash', { ...base, rules: [...base.rules, rule('dup', '9000')] }, 3],
    [
      'a disabled rule enabled where an enabled rule opens its ports',
      {
        ...base,
        rules: [base.rules[0]!, base.rules[1]!, { ...base.rules[2]!, enabled: true }, rule('later', '9000')],
      },
      2,
    ],
    ['a risky port', { ...base, rules: [...base.rules, rule('rdp', '3389')] }, 3],
    [
      'an IPv6 rule with ipv6 off',
      { ...base, ipv6: false, rules: [...base.rules, rule('v6', '8000', { family: 'ipv6' })] },
      3,
    ],
    ['an open port that includes the trigger', { ...base, rules: [...base.rules, rule('self', '5000')] }, 3],
    ['a rule deleted', { ...base, rules: base.rules.slice(1) }, undefined],
    ['the global switch', { ...base, enabled: false }, undefined],
  ];

  it.each(cases)('says what the whole check says: %s', (_, config, changed) => {
    expect(validateConfigChange(config, changed)).toEqual(validateConfig(config));
  });
});
