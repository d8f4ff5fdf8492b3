import { writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeWan } from '../../test/service/fake-wan.js';
import { configText, type Fixture, startFixture } from '../../test/service/fixture.js';
import type { NetworkLink, WanState } from '../domain/wan.js';
import type { ServiceContext } from './context.js';
import type { PublishedEvent, ServiceEvent } from './events.js';
import { WanMonitor, wanEvents } from './wan-monitor.js';

const state = (entries: Record<string, { up: boolean; addresses: string[] }>): WanState =>
  new Map(Object.entries(entries));

describe('wanEvents', () => {
  it.each([
    {
      what: 'an address replaced under a link that stays up is one wan-changed from old to new',
      before: { eth0: { up: true, addresses: ['203.0.113.7'] } },
      after: { eth0: { up: true, addresses: ['203.0.113.9'] } },
      events: [
        { type: 'wan-changed', interface: 'eth0', previous: ['203.0.113.7'], addresses: ['203.0.113.9'] },
      ],
    },
    {
      what: 'a link that goes away is wan-down with the addresses it had',
      before: { ppp0: { up: true, addresses: ['100.64.0.2'] } },
      after: {},
      events: [{ type: 'wan-down', interface: 'ppp0', previous: ['100.64.0.2'] }],
    },
    {
      what: 'a link that loses its carrier is wan-down too',
      before: { eth0: { up: true, addresses: ['203.0.113.7'] } },
      after: { eth0: { up: false, addresses: ['203.0.113.7'] } },
      events: [{ type: 'wan-down', interface: 'eth0', previous: ['203.0.113.7'] }],
    },
    {
      what: 'a link that appears with its address is wan-up',
      before: {},
      after: { ppp0: { up: true, addresses: ['100.64.0.3'] } },
      events: [{ type: 'wan-up', interface: 'ppp0', addresses: ['100.64.0.3'] }],
    },
    {
      what: 'a link that appears without an address yet waits',
      before: {},
      after: { ppp0: { up: true, addresses: [] } },
      events: [],
      waiting: true,
    },
    {
      what: 'an address removed before the next comes waits, rather than telling the gap',
      before: { eth0: { up: true, addresses: ['203.0.113.7'] } },
      after: { eth0: { up: true, addresses: [] } },
      events: [],
      waiting: true,
    },
    {
      what: 'a change of a link that is not a WAN interface, or of flags only, is nothing',
      before: { eth0: { up: true, addresses: ['203.0.113.7'] } },
      after: { eth0: { up: true, addresses: ['203.0.113.7'] } },
      events: [],
    },
  ])('$what', ({ before, after, events, waiting }) => {
    const diff = wanEvents(state(before), state(after), 1_000, false, new Map());
    expect(diff.events).toEqual(events.map((e) => ({ ...e, at: 1_000 })));
    expect(diff.waiting).toBe(waiting ?? false);
  });

  it('tells a lost address once it stays lost, and the wan-up after a wan-down says what it had before', () => {
    const down = new Map<string, readonly string[]>();
    const lost = wanEvents(
      state({ eth0: { up: true, addresses: ['203.0.113.7'] } }),
      state({ eth0: { up: true, addresses: [] } }),
      5,
      true,
      down,
    );
    expect(lost.events).toEqual([
      { type: 'wan-changed', at: 5, interface: 'eth0', previous: ['203.0.113.7'], addresses: [] },
    ]);
    const gone = wanEvents(
      state({ ppp0: { up: true, addresses: ['100.64.0.2'] } }),
      state({}),
      6,
      false,
      down,
    );
    const back = wanEvents(
      gone.reported,
      state({ ppp0: { up: true, addresses: ['100.64.0.3'] } }),
      7,
      false,
      down,
    );
    expect(back.events).toEqual([
      { type: 'wan-up', at: 7, interface: 'ppp0', addresses: ['100.64.0.3'], previous: ['100.64.0.2'] },
    ]);
    expect(down.size).toBe(0);
  });
});

const link = (name: string, addresses: string[], up = true): NetworkLink => ({ name, up, addresses });

describe('the service and its WAN', () => {
  let fx: Fixture | undefined;
  afterEach(async () => {
    await fx?.cleanup();
    fx = undefined;
  });

  it('stores and streams a renumbered WAN as wan-changed without a rule, and shows the address it has now', async () => {
    const watch = new FakeWan([link('wan0', ['203.0.113.7']), link('br-lan', ['192.168.1.1'])]);
    fx = await startFixture({ wan: watch });
    const live: PublishedEvent[] = [];
    fx.service.subscribe((e) => live.push(e));
    expect(fx.service.wan()).toEqual([{ interface: 'wan0', up: true, addresses: ['203.0.113.7'] }]);

    // The LAN side changing is not the WAN's business.
    watch.report([link('wan0', ['203.0.113.7']), link('br-lan', ['192.168.1.2'])]);
    watch.report([link('wan0', ['203.0.113.9']), link('br-lan', ['192.168.1.2'])]);

    const expected = {
      type: 'wan-changed',
      at: fx.model.now(),
      interface: 'wan0',
      previous: ['203.0.113.7'],
      addresses: ['203.0.113.9'],
    };
    expect(live).toEqual([{ ...expected, id: expect.any(Number) }]);
    expect(fx.service.queryEvents({ type: 'wan-changed' }).events).toEqual([
      { ...expected, id: live[0]?.id },
    ]);
    expect(fx.service.queryEvents({ rule: 'game' }).events).toEqual([]);
    expect(fx.service.wan()).toEqual([{ interface: 'wan0', up: true, addresses: ['203.0.113.9'] }]);
    expect(fx.service.metricsText()).toContain('porttrigger_wan_events_total{type="wan-changed"} 1');
    expect(fx.service.metricsText()).toContain('porttrigger_blocked_total 0');
  });

  it('follows a ppp* WAN that goes away and comes back as a new link', async () => {
    const watch = new FakeWan([link('ppp0', ['100.64.0.2'])]);
    fx = await startFixture({
      wan: watch,
      text: (dir) => configText(dir).replace('wan: [wan0]', "wan: ['ppp*']"),
    });
    watch.report([]);
    expect(fx.service.wan()).toEqual([]);
    watch.report([link('ppp0', [])]);
    watch.report([link('ppp0', ['100.64.0.3'])]);
    expect(fx.service.queryEvents({ order: 'asc' }).events.map(({ id: _id, at: _at, ...e }) => e)).toEqual([
      { type: 'wan-down', interface: 'ppp0', previous: ['100.64.0.2'] },
      { type: 'wan-up', interface: 'ppp0', addresses: ['100.64.0.3'], previous: ['100.64.0.2'] },
    ]);
  });
});

describe('the service and its WAN across a reload', () => {
  let fx: Fixture | undefined;
  afterEach(async () => {
    await fx?.cleanup();
    fx = undefined;
  });

  it('shows the interfaces a reloaded config names at once, and tells no change for a newly named one', async () => {
    const links = [link('wan0', ['203.0.113.7']), link('ppp0', ['100.64.0.2'])];
    const watch = new FakeWan(links);
    fx = await startFixture({ wan: watch });
    expect(fx.service.wan().map((w) => w.interface)).toEqual(['wan0']);
    writeFileSync(fx.configPath, configText(fx.dir).replace('wan: [wan0]', "wan: [wan0, 'ppp*']"));
    expect((await fx.service.reload()).ok).toBe(true);
    expect(fx.service.wan().map((w) => w.interface)).toEqual(['ppp0', 'wan0']);
    watch.report(links);
    watch.report([link('wan0', ['203.0.113.7']), link('ppp0', ['100.64.0.3'])]);
    expect(fx.service.queryEvents({}).events.map(({ id: _id, at: _at, ...e }) => e)).toEqual([
      { type: 'wan-changed', interface: 'ppp0', previous: ['100.64.0.2'], addresses: ['100.64.0.3'] },
    ]);
  });
});

describe('WanMonitor', () => {
  it('tells a WAN that stays without an address once it settled, and nothing more after it stopped', async () => {
    const published: ServiceEvent[] = [];
    let stopping = false;
    const ctx = {
      clock: () => 42,
      publish: (events: readonly ServiceEvent[]) => published.push(...events),
      stopping: () => stopping,
    } as unknown as ServiceContext;
    const monitor = new WanMonitor(ctx, () => ['eth0'], 20);
    monitor.observe([link('eth0', ['203.0.113.7'])]);
    monitor.observe([link('eth0', [])]);
    expect(published).toEqual([]);
    await expect
      .poll(() => published)
      .toEqual([
        { type: 'wan-changed', at: 42, interface: 'eth0', previous: ['203.0.113.7'], addresses: [] },
      ]);
    monitor.observe([link('eth0', ['203.0.113.9'])]);
    expect(published.at(-1)).toEqual({
      type: 'wan-changed',
      at: 42,
      interface: 'eth0',
      previous: [],
      addresses: ['203.0.113.9'],
    });
    stopping = true;
    monitor.observe([]);
    expect(published).toHaveLength(2);
    monitor.close();
  });
});
