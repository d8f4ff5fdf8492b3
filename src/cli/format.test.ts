import { describe, expect, it } from 'vitest';
import type { TriggerTable } from '../domain/types.js';
import { formatDuration, formatIssues, formatPortSpecs, formatTriggerTable, renderTable } from './format.js';

const AT = Date.parse('2025-06-01T12:00:00Z');

const TABLE: TriggerTable = {
  at: AT,
  entries: [
    {
      rule: 'Game callback',
      family: 'ipv4',
      holder: '192.168.1.10',
      openedAt: AT - 75_000,
      expiresAt: AT + 525_000,
    },
    {
      rule: 'Voice chat',
      family: 'ipv6',
      holder: '2001:db8:1::20',
      remote: '2001:db8:ff::10',
      expiresAt: AT + 9_400,
    },
  ],
  conflicts: [
    {
      rule: 'Game callback',
      family: 'ipv4',
      contender: '192.168.1.20',
      holder: '192.168.1.10',
      at: AT - 12_000,
    },
    {
      rule: 'Game callback',
      family: 'ipv4',
      contender: '192.168.1.30',
      holder: '192.168.1.30',
      at: AT - 30_000,
    },
  ],
  blocked: [],
};

describe('formatDuration', () => {
  it.each([
    [0, '0s'],
    [-5_000, '0s'],
    [4_600, '5s'],
    [65_000, '1m 05s'],
    [3_600_000, '1h 00m'],
    [90_061_000, '1d 01h'],
  ])('%i ms is %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});

describe('renderTable', () => {
  it('aligns columns on a terminal and separates them with tabs otherwise', () => {
    const rows = [
      ['a', 'long value', 'x'],
      ['bbb', 'v', 'y'],
    ];
    expect(renderTable(['H1', 'H2', 'H3'], rows, { tty: true })).toBe(
      'H1   H2          H3\na    long value  x\nbbb  v           y\n',
    );
    expect(renderTable(['H1', 'H2'], [['a', 'b']], { tty: false })).toBe('H1\tH2\na\tb\n');
  });
});

describe('formatTriggerTable', () => {
  it('prints entries with holder, remote, age and time left, then recent conflicts', () => {
    expect(formatTriggerTable(TABLE, { tty: true })).toBe(
      [
        'Active entries (2):',
        'RULE           FAMILY  HOLDER          REMOTE           OPENED      EXPIRES IN',
        'Game callback  ipv4    192.168.1.10    any              1m 15s ago  8m 45s',
        'Voice chat     ipv6    2001:db8:1::20  2001:db8:ff::10  -           9s',
        '',
        'Recent conflicts (2):',
        'RULE           FAMILY  CONTENDER     HOLDER        REMOTE  WHEN',
        'Game callback  ipv4    192.168.1.20  192.168.1.10  any     12s ago',
        'Game callback  ipv4    192.168.1.30  -             any     30s ago',
        '',
      ].join('\n'),
    );
  });

  it('says when nothing is open and shows blocked hosts', () => {
    const text = formatTriggerTable(
      {
        at: AT,
        entries: [],
        conflicts: [],
        blocked: [{ rule: 'Game callback', family: 'ipv4', host: '192.168.1.99', at: AT - 2_000 }],
      },
      { tty: false },
    );
    expect(text).toBe(
      'No active entries: every open port is closed.\n\nRecently blocked (1):\nRULE\tFAMILY\tHOST\tWHEN\nGame callback\tipv4\t192.168.1.99\t2s ago\n',
    );
  });

  it('heads a stale table with how old it is', () => {
    const text = formatTriggerTable(
      { at: AT, entries: [], conflicts: [], blocked: [], stale: true },
      { tty: false, readAt: AT + 14_000 },
    );
    expect(text).toBe(
      'Note: the kernel did not answer in time; this is the table read 14s ago.\nNo active entries: every open port is closed.\n',
    );
  });
});

describe('small formatters', () => {
  it('writes port specs and issues the way users write them', () => {
    expect(
      formatPortSpecs([
        { protocol: 'tcp', ports: '6970' },
        { protocol: 'both', ports: '7000-7010' },
      ]),
    ).toBe('tcp 6970, tcp+udp 7000-7010');
    expect(
      formatIssues([{ path: ['rules', 2, 'open', 0, 'ports'], code: 'bad_ports', message: 'bad' }], 'error'),
    ).toBe('  ✘ rules[2].open[0].ports: bad (bad_ports)\n');
  });
});
