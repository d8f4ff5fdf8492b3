import { describe, expect, it } from 'vitest';
import { parseLeases, parseNeighbours } from './neighbours.js';

describe('host directory parsing', () => {
  it('reads MACs from ip -j neigh and skips entries without one', () => {
    const json = JSON.stringify([
      { dst: '192.168.1.10', dev: 'br-lan', lladdr: 'AA:BB:CC:DD:EE:01', state: ['REACHABLE'] },
      { dst: '192.168.1.30', dev: 'br-lan', state: ['FAILED'] },
      { dst: '2001:db8:1:0::10', dev: 'br-lan', lladdr: 'aa:bb:cc:dd:ee:02', state: ['STALE'] },
    ]);
    const map = parseNeighbours(json);
    expect([...map]).toEqual([
      ['192.168.1.10', 'aa:bb:cc:dd:ee:01'],
      ['2001:db8:1::10', 'aa:bb:cc:dd:ee:02'],
    ]);
    expect(parseNeighbours('not json').size).toBe(0);
  });

  it('reads names from dnsmasq leases and odhcpd host files', () => {
    const map = parseLeases(
      '1700000000 aa:bb:cc:dd:ee:01 192.168.1.10 laptop 01:aa\n' +
        '1700000000 aa:bb:cc:dd:ee:03 192.168.1.11 * *\n' +
        '# odhcpd\n2001:db8:1::20 phone\n',
    );
    expect(map.get('192.168.1.10')).toEqual({
      address: '192.168.1.10',
      mac: 'aa:bb:cc:dd:ee:01',
      name: 'laptop',
    });
    expect(map.get('192.168.1.11')).toEqual({ address: '192.168.1.11', mac: 'aa:bb:cc:dd:ee:03' });
    expect(map.get('2001:db8:1::20')).toEqual({ address: '2001:db8:1::20', name: 'phone' });
  });
});
