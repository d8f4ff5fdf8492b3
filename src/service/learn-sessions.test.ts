import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { staticForwardRuleset } from '../../test/factories.js';
import { FakeRecorder } from '../../test/service/fake-recorder.js';
import { FakeWan, ROUTER_LINKS } from '../../test/service/fake-wan.js';
import { type Fixture, startFixture } from '../../test/service/fixture.js';

const DEVICE = '192.168.1.10';
const SERVER = '203.0.113.10';

describe('learning sessions', () => {
  let fx: Fixture | undefined;
  afterEach(async () => {
    await fx?.cleanup();
    fx = undefined;
  });

  it('records, proposes and adds the proposal through the normal rule path', async () => {
    const recorder = new FakeRecorder();
    fx = await startFixture({ recorder });
    const started = await fx.service.learn.start({ host: ' 192.168.1.10 ', durationS: 60 });
    expect(started.state).toBe('running');
    expect(recorder.captures).toEqual([{ host: DEVICE }]);
    await expect(fx.service.learn.start({})).rejects.toMatchObject({ code: 'LEARN_ACTIVE' });

    recorder.seeApplication(fx.model.now(), DEVICE, SERVER);
    const status = fx.service.learn.status();
    expect(status).toMatchObject({ outbound: 1, inbound: 3, dropped: 0 });
    expect(fx.service.learn.status(3).recent.map((c) => c.seq)).toEqual([4]);

    const [proposal] = (await fx.service.learn.proposals()).proposals;
    expect(proposal?.rule).toMatchObject({
      open: [{ protocol: 'udp', ports: '8000-8002' }],
      remote: 'contacted',
    });
    const change = await fx.service.learn.apply(1);
    expect(change.rule?.name).toBe('Learned tcp 6970');
    expect(readFileSync(fx.configPath, 'utf8')).toMatch(/Learned tcp 6970/);
    await expect(fx.service.learn.apply(7)).rejects.toMatchObject({ code: 'LEARN_NOT_FOUND' });

    const stopped = await fx.service.learn.stop();
    expect(stopped).toMatchObject({ state: 'finished', endReason: 'stopped' });
    expect(recorder.running).toBe(0);
    // Proposals stay after the session, without the rule now saved being proposed as a clash-free one.
    expect((await fx.service.learn.proposals()).proposals[0]?.conflicts.length).toBeGreaterThan(0);
  });

  it("names another table's static forward over a proposal's ports, and proposes without it when unread", async () => {
    const ipNat = staticForwardRuleset('udp', 8001, '192.168.1.50');
    let reader: () => Promise<unknown> = async () => ipNat;
    const recorder = new FakeRecorder();
    fx = await startFixture({ recorder, foreignRuleset: () => reader(), wan: new FakeWan(ROUTER_LINKS) });
    await fx.service.learn.start({ host: DEVICE, durationS: 60 });
    recorder.seeApplication(fx.model.now(), DEVICE, SERVER);
    const checked = await fx.service.learn.proposals();
    expect(checked.notes).toEqual([]);
    expect(checked.proposals[0]?.conflicts).toEqual([
      'its udp ports overlap a static forward of table ip nat (chain prerouting) to 192.168.1.50 (udp 8001)',
    ]);

    reader = () => Promise.reject(new Error('nft: could not list the ruleset'));
    const unchecked = await fx.service.learn.proposals();
    expect(unchecked.proposals.map((p) => p.rule)).toEqual(checked.proposals.map((p) => p.rule));
    expect(unchecked.proposals[0]?.conflicts).toEqual([]);
    expect(unchecked.notes).toEqual([
      'static port forwards of other tools could not be checked: nft: could not list the ruleset',
    ]);
    // Applying does not depend on the ruleset being readable.
    expect((await fx.service.learn.apply(1)).rule?.name).toBe('Learned tcp 6970');
  });

  it('ends by itself at its time limit, and with the service', async () => {
    const recorder = new FakeRecorder();
    fx = await startFixture({ recorder });
    await fx.service.learn.start({ durationS: 1 });
    await vi.waitFor(() => expect(fx?.service.learn.status().endReason).toBe('time-limit'), {
      timeout: 5_000,
    });
    expect(recorder.running).toBe(0);

    await fx.service.learn.start({});
    expect(recorder.captures[1]).toEqual({});
    await fx.service.stop();
    expect(recorder.running).toBe(0);
    expect(fx.service.learn.status().endReason).toBe('service-stopped');
  });

  it('keeps a session bounded: connections beyond the bound are counted, not kept', async () => {
    const recorder = new FakeRecorder();
    fx = await startFixture({ recorder });
    await fx.service.learn.start({});
    for (let i = 0; i < 10_005; i++)
      recorder.see({
        at: i,
        direction: 'outbound',
        protocol: 'udp',
        source: DEVICE,
        destination: SERVER,
        port: 9,
      });
    expect(fx.service.learn.status()).toMatchObject({ outbound: 10_000, dropped: 5 });
    expect(fx.service.learn.status().recent).toHaveLength(50);
  });

  it('refuses bad input and a datapath that cannot record, and has no proposals before a session', async () => {
    fx = await startFixture();
    await expect(fx.service.learn.proposals()).rejects.toMatchObject({ code: 'LEARN_NOT_FOUND' });
    await expect(fx.service.learn.start({})).rejects.toMatchObject({ code: 'LEARN_UNAVAILABLE' });
    await fx.cleanup();
    fx = await startFixture({ recorder: new FakeRecorder() });
    await expect(fx.service.learn.start({ host: 'fe80::1' })).rejects.toMatchObject({
      code: 'INVALID_INPUT',
    });
    await expect(fx.service.learn.start({ host: 'gateway' })).rejects.toMatchObject({
      code: 'INVALID_INPUT',
    });
    await expect(fx.service.learn.start({ durationS: 3601 })).rejects.toMatchObject({
      code: 'INVALID_INPUT',
    });
    expect(fx.service.learn.status().state).toBe('idle');
  });

  it.each([
    ['8.8.8.8', 'is a public address, not one of a LAN device'],
    ['0.0.0.0', '"this network"'],
    ['255.255.255.255', 'the broadcast address'],
    ['224.0.0.1', 'a multicast group'],
  ])('refuses %s as the device to learn from (%s) and records nothing', async (host, said) => {
    const recorder = new FakeRecorder();
    fx = await startFixture({ recorder });
    await expect(fx.service.learn.start({ host })).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      issues: [{ path: ['host'], code: 'bad_address', message: expect.stringContaining(said) }],
    });
    expect(recorder.captures).toEqual([]);
    expect(fx.service.learn.status().state).toBe('idle');
  });

  it('keeps only devices inside the LAN subnets and says what it ignored', async () => {
    const recorder = new FakeRecorder();
    fx = await startFixture({ recorder, wan: new FakeWan(ROUTER_LINKS) });
    await expect(fx.service.learn.start({ host: '10.9.0.5' })).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      issues: [
        {
          path: ['host'],
          message:
            '10.9.0.5 is not in the LAN subnets (192.168.1.0/24, 2001:db8:1::/64): give the address of a device on the LAN',
        },
      ],
    });
    expect(recorder.captures).toEqual([]);

    await fx.service.learn.start({});
    const t = fx.model.now();
    recorder.see({
      at: t,
      direction: 'outbound',
      protocol: 'tcp',
      source: '10.9.0.5',
      destination: SERVER,
      port: 6970,
    });
    recorder.see({
      at: t,
      direction: 'outbound',
      protocol: 'udp',
      source: '10.9.0.5',
      destination: SERVER,
      port: 53,
    });
    recorder.seeApplication(t, DEVICE, SERVER);
    expect(fx.service.learn.status()).toMatchObject({
      outbound: 1,
      inbound: 3,
      lanSubnets: ['192.168.1.0/24', '2001:db8:1::/64'],
      outsideLan: 2,
      outsideLanSources: ['10.9.0.5'],
    });
    expect(fx.service.learn.facts().outbound.map((c) => c.source)).toEqual([DEVICE]);
    expect((await fx.service.learn.proposals()).notes).toContain(
      'ignored 2 outbound connections from addresses outside the LAN subnets (192.168.1.0/24, 2001:db8:1::/64): 10.9.0.5',
    );
  });

  it('says when the LAN subnets are unknown, and then keeps every private device', async () => {
    const recorder = new FakeRecorder();
    fx = await startFixture({ recorder });
    await fx.service.learn.start({ host: '10.9.0.5' });
    recorder.seeApplication(fx.model.now(), '10.9.0.5', SERVER);
    const status = fx.service.learn.status();
    expect(status).toMatchObject({ outbound: 1, outsideLan: 0 });
    expect(status.lanSubnets).toBeUndefined();
    expect((await fx.service.learn.proposals()).notes[0]).toMatch(/^the LAN subnets could not be read/);
  });

  it('turns a recorder that cannot start into LEARN_UNAVAILABLE, and lets a new session start after it', async () => {
    const recorder = new FakeRecorder();
    let fail = true;
    const flaky = {
      start: (...args: Parameters<FakeRecorder['start']>) =>
        fail ? Promise.reject(new Error('conntrack -E did not start')) : recorder.start(...args),
    };
    fx = await startFixture({ recorder: flaky });
    await expect(fx.service.learn.start({})).rejects.toMatchObject({
      code: 'LEARN_UNAVAILABLE',
      message: 'recording could not start: conntrack -E did not start',
    });
    fail = false;
    await expect(fx.service.learn.start({})).resolves.toMatchObject({ state: 'running' });
  });

  it('stops a recording that finished starting while the service stopped', async () => {
    const recorder = new FakeRecorder();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const slow = {
      start: async (...args: Parameters<FakeRecorder['start']>) => {
        await gate;
        return recorder.start(...args);
      },
    };
    fx = await startFixture({ recorder: slow });
    const starting = fx.service.learn.start({});
    const stopping = fx.service.stop();
    release();
    await expect(starting).rejects.toMatchObject({ code: 'SERVICE_STOPPED' });
    await stopping;
    expect(recorder.running).toBe(0);
  });
});
