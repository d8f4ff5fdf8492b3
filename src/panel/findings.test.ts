import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Fixture, startFixture } from '../../test/service/fixture.js';
import { type InProcessPanel, openPanel } from '../../test/service/panel.js';
import type { Finding } from './views/findings.js';

const TOKEN = 'panel-test-token-0123456789';

// What `porttrigger doctor` finds on a gateway with ufw's route policy deny (test/firewalls/ shows it for real).
const FINDINGS: Finding[] = [
  {
    id: 'wan-address',
    title: 'reachable from the internet',
    status: 'ok',
    detail: 'public IPv4 address 198.51.100.23 (ppp0)',
  },
  {
    id: 'forward-policy',
    title: 'host firewall',
    status: 'warn',
    detail:
      'ufw drops DNAT-ed connections (table ip filter chain FORWARD, policy drop): inbound connections of entries will be dropped',
    hint: 'add to /etc/ufw/before.rules before its last `COMMIT` line: -A ufw-before-forward -i ppp+ -o br-lan -m conntrack --ctstate DNAT -j ACCEPT; then run: ufw reload',
  },
];

describe('the panel shows the host firewall and the WAN address the doctor found', () => {
  let fx: Fixture;
  let panel: InProcessPanel;
  beforeEach(async () => {
    fx = await startFixture();
    panel = openPanel(fx.service, TOKEN, { doctor: async () => FINDINGS });
  });
  afterEach(() => fx.cleanup());

  const get = (path: string, cookie: string) => panel.request(path, { headers: { cookie } });
  const signIn = async () => (await panel.signIn()).cookie;

  it('on the overview: the firewall that drops, its exact fix, and the current WAN address', async () => {
    const cookie = await signIn();
    expect(await (await get('/', cookie)).text()).toContain('hx-get="/overview/doctor"');
    const html = await (await get('/overview/doctor', cookie)).text();
    expect(html).toContain('ufw drops DNAT-ed connections');
    expect(html).toContain('-A ufw-before-forward -i ppp+ -o br-lan -m conntrack --ctstate DNAT -j ACCEPT');
    expect(html).toContain('public IPv4 address 198.51.100.23 (ppp0)');
  });

  it("under a port check's answer: the same findings", async () => {
    const cookie = await signIn();
    const html = await (await get('/check?port=7000&protocol=udp', cookie)).text();
    expect(html).toContain('UDP 7000 is closed');
    expect(html).toMatch(/<div id="check-doctor" hx-get="\/overview\/doctor" hx-trigger="load">/);
  });
});
