import { readFileSync, writeFileSync } from 'node:fs';
import type { Hono } from 'hono';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeWan, WAN_AT_START } from '../../test/service/fake-wan.js';
import { configText, type Fixture, LAN1, LAN2, REMOTE, startFixture } from '../../test/service/fixture.js';
import { buildOpenApiDocument } from '../routes/openapi.js';
import { eventPageReply } from '../routes/schemas.js';
import { ROUTE_LIST as ROUTES } from '../routes/table.js';
import type { EventHistory } from '../service/service.js';
import { API_PREFIX, createApp } from './app.js';

const TOKEN = 'test-token-0123456789';
const AUTH = { Authorization: `Bearer ${TOKEN}` };
const JSON_HEADERS = { ...AUTH, 'Content-Type': 'application/json' };

let fx: Fixture;
let app: Hono;

async function setup(options: Parameters<typeof startFixture>[0] = {}): Promise<void> {
  fx = await startFixture(options);
  app = createApp({ service: fx.service, token: TOKEN, feed: { heartbeatMs: 20 } });
}

beforeEach(async () => {
  await setup();
});
afterEach(async () => {
  await fx.cleanup();
});

function call(method: string, path: string, body?: unknown, headers: Record<string, string> = JSON_HEADERS) {
  return app.request(`${API_PREFIX}${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
}

// biome-ignore lint/suspicious/noExplicitAny: response bodies are checked by matchers, not by types
async function json(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await call(method, path, body);
  return { status: res.status, body: await res.json() };
}

const newRule = {
  name: 'ftp',
  trigger: [{ protocol: 'tcp', ports: '21' }],
  open: [{ protocol: 'tcp', ports: '2000-2010' }],
  idleTimeout: 300,
};

describe('authentication', () => {
  it('serves /health without a token', async () => {
    const res = await app.request(`${API_PREFIX}/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      status: 'ok',
      datapath: { status: 'ok' },
      eventStore: { status: 'ok' },
      uptime: 0,
    });
  });

  it.each([
    ['no header', {}],
    ['a wrong token', { Authorization: 'Bearer nope' }],
    ['another scheme', { Authorization: `Basic ${TOKEN}` }],
    ['an empty bearer', { Authorization: 'Bearer ' }],
  ])('answers 401 with %s, on known and unknown routes', async (_what, headers) => {
    for (const path of ['/rules', '/table', '/metrics', '/openapi.json', '/no-such-route']) {
      const res = await app.request(`${API_PREFIX}${path}`, { headers });
      expect(res.status).toBe(401);
      expect(res.headers.get('WWW-Authenticate')).toMatch(/^Bearer/);
      expect(await res.json()).toMatchObject({ error: { code: 'UNAUTHORIZED' } });
    }
  });

  it('answers 404 NOT_FOUND for an unknown route with a valid token', async () => {
    expect(await json('GET', '/nope')).toMatchObject({ status: 404, body: { error: { code: 'NOT_FOUND' } } });
  });
});

describe('rules', () => {
  it('lists the rules with their defaults and gets one by its URL-encoded name', async () => {
    const list = await json('GET', '/rules');
    expect(list.status).toBe(200);
    expect(list.body.rules.map((r: { name: string }) => r.name)).toEqual(['game', 'voice call']);
    expect(list.body.rules[0]).toMatchObject({
      enabled: true,
      family: 'both',
      remote: 'any',
      onExpire: 'keep',
    });
    expect(await json('GET', '/rules/voice%20call')).toMatchObject({
      status: 200,
      body: { rule: { remote: 'contacted' } },
    });
    expect(await json('GET', '/rules/nope')).toMatchObject({
      status: 404,
      body: { error: { code: 'RULE_NOT_FOUND' } },
    });
  });

  it('creates a rule: applied, saved with the comments kept, 201', async () => {
    const res = await json('POST', '/rules', newRule);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      rule: { name: 'ftp', enabled: true },
      warnings: [],
      applied: { kept: 0, dropped: 0 },
    });
    expect(fx.model.applied.at(-1)?.rules.map((r) => r.name)).toEqual(['game', 'voice call', 'ftp']);
    const text = readFileSync(fx.configPath, 'utf8');
    expect(text).toContain('# the game rule');
    expect(text).toContain('  - name: ftp\n    trigger: [{ protocol: tcp, ports: "21" }]');
    expect(readFileSync(`${fx.configPath}.bak`, 'utf8')).toBe(configText(fx.dir));
  });

  it('returns the warnings of a valid rule', async () => {
    const res = await json('POST', '/rules', { ...newRule, open: [{ protocol: 'tcp', ports: '20' }] });
    expect(res.status).toBe(201);
    expect(res.body.warnings).toMatchObject([{ code: 'privileged_port', path: ['open', 0, 'ports'] }]);
  });

  it.each([
    ['a taken name', { ...newRule, name: 'game' }],
    ['a taken name in another case', { ...newRule, name: 'GAME' }],
  ])('refuses %s with 409 RULE_EXISTS', async (_what, body) => {
    expect(await json('POST', '/rules', body)).toMatchObject({
      status: 409,
      body: { error: { code: 'RULE_EXISTS' } },
    });
  });

  const badBodies: [string, unknown, { path: (string | number)[]; code: string }[]][] = [
    [
      'no trigger',
      { name: 'x', open: [{ protocol: 'udp', ports: '9000' }] },
      [{ path: ['trigger'], code: 'required' }],
    ],
    [
      'bad ports',
      { ...newRule, open: [{ protocol: 'tcp', ports: '70000' }] },
      [{ path: ['open', 0, 'ports'], code: 'bad_ports' }],
    ],
    [
      'an idle timeout of 0',
      { ...newRule, idleTimeout: 0 },
      [{ path: ['idleTimeout'], code: 'out_of_range' }],
    ],
    ['an unknown key', { ...newRule, colour: 'red' }, [{ path: [], code: 'unknown_key' }]],
    [
      'a bad LAN host',
      { ...newRule, lanHosts: ['192.168.1.300'] },
      [{ path: ['lanHosts', 0], code: 'bad_address' }],
    ],
    [
      'a bad protocol',
      { ...newRule, trigger: [{ protocol: 'icmp', ports: '1' }] },
      [{ path: ['trigger', 0, 'protocol'], code: 'invalid_value' }],
    ],
    [
      'open ports of another rule',
      { ...newRule, open: [{ protocol: 'udp', ports: '7005' }] },
      [{ path: ['open'], code: 'open_overlap' }],
    ],
    [
      'two problems at once',
      { name: '', trigger: [], open: [{ protocol: 'udp', ports: '9000' }] },
      [
        { path: ['name'], code: 'out_of_range' },
        { path: ['trigger'], code: 'out_of_range' },
      ],
    ],
    ['a body that is not JSON', '{"name": ', [{ path: [], code: 'invalid_json' }]],
    ['an array', [newRule], [{ path: [], code: 'invalid_type' }]],
  ];

  it.each(badBodies)(
    'refuses a rule with %s: 400 with every issue, file and datapath untouched',
    async (_what, body, issues) => {
      const text = readFileSync(fx.configPath, 'utf8');
      const applies = fx.model.applied.length;
      const res = await json('POST', '/rules', body);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('INVALID_INPUT');
      expect(res.body.error.issues).toHaveLength(issues.length);
      expect(res.body.error.issues).toMatchObject(issues);
      expect(readFileSync(fx.configPath, 'utf8')).toBe(text);
      expect(fx.model.applied.length).toBe(applies);
      expect(fx.service.config.rules).toHaveLength(2);
    },
  );

  it('refuses a body that is not JSON by its content type with 415', async () => {
    const res = await call('POST', '/rules', 'name: x', { ...AUTH, 'Content-Type': 'text/plain' });
    expect(res.status).toBe(415);
  });

  it('refuses a body over 256 KiB with 413, changing nothing', async () => {
    const text = readFileSync(fx.configPath, 'utf8');
    const res = await call('POST', '/rules', { ...newRule, description: 'x'.repeat(300 * 1024) });
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ error: { code: 'PAYLOAD_TOO_LARGE' } });
    expect(readFileSync(fx.configPath, 'utf8')).toBe(text);
  });

  it('answers 502 when the datapath refuses the config, and writes nothing', async () => {
    const text = readFileSync(fx.configPath, 'utf8');
    fx.model.failNextApply = true;
    expect(await json('POST', '/rules', newRule)).toMatchObject({
      status: 502,
      body: { error: { code: 'NFT_REJECTED' } },
    });
    expect(readFileSync(fx.configPath, 'utf8')).toBe(text);
    expect(fx.service.config.rules).toHaveLength(2);
  });

  it('replaces a rule, may rename it, 404 for an unknown one, 409 onto another name', async () => {
    const replaced = await json('PUT', '/rules/game', { ...newRule, name: 'arcade' });
    expect(replaced).toMatchObject({ status: 200, body: { rule: { name: 'arcade', idleTimeout: 300 } } });
    expect(fx.service.config.rules.map((r) => r.name)).toEqual(['arcade', 'voice call']);
    const { name: _name, ...nameless } = newRule;
    expect(await json('PUT', '/rules/arcade', { ...nameless, idleTimeout: 60 })).toMatchObject({
      status: 200,
      body: { rule: { name: 'arcade', idleTimeout: 60 } },
    });
    expect(await json('PUT', '/rules/nope', newRule)).toMatchObject({
      status: 404,
      body: { error: { code: 'RULE_NOT_FOUND' } },
    });
    expect(await json('PUT', '/rules/arcade', { ...newRule, name: 'voice call' })).toMatchObject({
      status: 409,
    });
  });

  it('disables, enables and deletes a rule; its entry closes with the matching reason', async () => {
    fx.model.trigger(LAN1, 5000);
    await fx.service.readNow();
    expect(await json('POST', '/rules/game/disable')).toMatchObject({
      status: 200,
      body: { rule: { enabled: false }, applied: { dropped: 1 } },
    });
    expect(readFileSync(fx.configPath, 'utf8')).toContain('enabled: false');
    expect(await json('POST', '/rules/game/enable')).toMatchObject({
      status: 200,
      body: { rule: { enabled: true } },
    });
    fx.model.trigger(LAN1, 5000);
    await fx.service.readNow();
    expect(await json('DELETE', '/rules/game')).toMatchObject({ status: 200, body: { deleted: 'game' } });
    expect(await json('DELETE', '/rules/game')).toMatchObject({ status: 404 });
    expect(await json('POST', '/rules/game/enable')).toMatchObject({ status: 404 });
    const closed = (await json('GET', '/events?type=closed')).body.events.map(
      (e: { reason: string }) => e.reason,
    );
    expect(closed).toEqual(['rule-removed', 'rule-disabled']);
    expect(readFileSync(fx.configPath, 'utf8')).not.toContain('name: game');
  });
});

describe('the global switch', () => {
  it('switches port triggering off and on: entries close, triggers open nothing while off, the file says it', async () => {
    fx.model.trigger(LAN1, 5000);
    await fx.service.readNow();
    const text = readFileSync(fx.configPath, 'utf8');
    expect(await json('POST', '/disable')).toEqual({
      status: 200,
      body: { enabled: false, warnings: [], applied: { kept: 0, dropped: 1 } },
    });
    // One line more, the rest of the file byte for byte.
    expect(readFileSync(fx.configPath, 'utf8')).toBe(text.replace(/^rules:/m, 'enabled: false\nrules:'));
    fx.model.trigger(LAN1, 5000);
    expect((await json('GET', '/table')).body.entries).toEqual([]);
    expect(await json('POST', '/disable')).toMatchObject({ status: 200, body: { enabled: false } });
    expect(await json('POST', '/enable')).toMatchObject({
      status: 200,
      body: { enabled: true, applied: { dropped: 0 } },
    });
    expect(readFileSync(fx.configPath, 'utf8')).toMatch(/^enabled: true$/m);
    fx.model.trigger(LAN1, 5000);
    expect((await json('GET', '/table')).body.entries).toMatchObject([{ rule: 'game', holder: LAN1 }]);
    const closed = (await json('GET', '/events?type=closed')).body.events.map(
      (e: { reason: string }) => e.reason,
    );
    expect(closed).toEqual(['rule-disabled']);
  });

  it('refuses the switch when the file changed on disk, changing nothing', async () => {
    const text = `${readFileSync(fx.configPath, 'utf8')}# edited by hand\n`;
    writeFileSync(fx.configPath, text);
    expect(await json('POST', '/disable')).toMatchObject({
      status: 409,
      body: { error: { code: 'CONFIG_FILE_CHANGED' } },
    });
    expect(readFileSync(fx.configPath, 'utf8')).toBe(text);
    expect(fx.service.config.enabled).toBe(true);
  });
});

describe('table, release and port check', () => {
  it('serves the live table with openedAt', async () => {
    fx.model.trigger(LAN1, 5000);
    fx.model.trigger(LAN2, 5060, 'tcp');
    const { status, body } = await json('GET', '/table');
    expect(status).toBe(200);
    expect(body.entries).toEqual([
      {
        rule: 'game',
        family: 'ipv4',
        holder: LAN1,
        openedAt: fx.model.now(),
        expiresAt: fx.model.now() + 30_000,
      },
      {
        rule: 'voice call',
        family: 'ipv4',
        holder: LAN2,
        remote: REMOTE,
        openedAt: fx.model.now(),
        expiresAt: fx.model.now() + 120_000,
      },
    ]);
  });

  it('releases entries by rule and holder and records why they closed', async () => {
    fx.model.trigger(LAN1, 5000);
    await fx.service.readNow();
    expect(await json('POST', '/release', { rule: 'game', holder: LAN2 })).toEqual({
      status: 200,
      body: { released: 0 },
    });
    expect(await json('POST', '/release', { rule: 'game', holder: LAN1 })).toEqual({
      status: 200,
      body: { released: 1 },
    });
    const closed = await json('GET', '/events?type=closed');
    expect(closed.body.events).toMatchObject([{ rule: 'game', host: LAN1, reason: 'released' }]);
  });

  it.each([
    [{ holder: LAN1 }, 'rule', 'required'],
    [{ rule: 'game', holder: 'not-an-ip' }, 'holder', 'invalid'],
    [{ rule: 'game', family: 'ipv5' }, 'family', 'invalid_value'],
    [{ rule: 'game', extra: 1 }, '', 'unknown_key'],
  ])('refuses release %j with 400', async (body, path, code) => {
    const res = await json('POST', '/release', body);
    expect(res.status).toBe(400);
    expect(res.body.error.issues).toMatchObject([{ path: path ? [path] : [], code }]);
  });

  it('answers 404 for releasing an unknown rule', async () => {
    expect(await json('POST', '/release', { rule: 'nope' })).toMatchObject({ status: 404 });
  });

  it('tells whether a port is open now, for which rule and host', async () => {
    expect(await json('GET', '/check?port=7005&protocol=udp')).toMatchObject({
      status: 200,
      body: { open: false, matches: [{ rule: 'game', entries: [] }] },
    });
    fx.model.trigger(LAN2, 5000);
    expect(await json('GET', '/check?port=7005&protocol=udp')).toMatchObject({
      body: {
        port: 7005,
        protocol: 'udp',
        open: true,
        matches: [{ rule: 'game', enabled: true, entries: [{ holder: LAN2 }] }],
      },
    });
  });

  it.each(['', '?port=7005', '?port=0&protocol=udp', '?port=7005&protocol=sctp', '?port=x&protocol=tcp'])(
    'refuses the port check query %j with 400',
    async (query) => {
      expect((await json('GET', `/check${query}`)).status).toBe(400);
    },
  );
});

describe('events', () => {
  async function makeEvents(): Promise<void> {
    fx.model.trigger(LAN1, 5000);
    await fx.service.readNow();
    fx.model.advance(1_000);
    fx.model.trigger(LAN2, 5000); // conflict: LAN1 holds game
    fx.model.trigger(LAN2, 5060, 'tcp');
    await fx.service.readNow();
    fx.model.advance(200_000);
    await fx.service.readNow();
  }

  it('pages the history newest first by cursor', async () => {
    await makeEvents();
    const all = (await json('GET', '/events')).body.events as { id: number; type: string }[];
    expect(all.map((e) => e.type)).toEqual(['closed', 'closed', 'conflict', 'opened', 'opened']);
    const first = await json('GET', '/events?limit=2');
    expect(first.body.events.map((e: { id: number }) => e.id)).toEqual(all.slice(0, 2).map((e) => e.id));
    expect(first.body.nextCursor).toBe(String(all[1]!.id));
    const second = await json('GET', `/events?limit=2&cursor=${first.body.nextCursor}`);
    expect(second.body.events.map((e: { id: number }) => e.id)).toEqual(all.slice(2, 4).map((e) => e.id));
    const last = await json('GET', `/events?limit=2&cursor=${second.body.nextCursor}`);
    expect(last.body.events).toHaveLength(1);
    expect(last.body.nextCursor).toBeUndefined();
  });

  it('filters by rule, host, type and time', async () => {
    await makeEvents();
    const types = async (query: string) =>
      (await json('GET', `/events?${query}`)).body.events.map(
        (e: { type: string; rule: string }) => `${e.type}:${e.rule}`,
      );
    expect(await types('rule=voice%20call')).toEqual(['closed:voice call', 'opened:voice call']);
    expect(await types(`host=${LAN2}`)).toEqual(['closed:voice call', 'conflict:game', 'opened:voice call']);
    expect(await types('type=conflict')).toEqual(['conflict:game']);
    // Opened at T0 and T0+1s; closed at their expiries, T0+30s and T0+121s; now is T0+201s.
    const t1 = new Date(fx.model.now() - 199_999).toISOString();
    expect(await types(`since=${encodeURIComponent(t1)}`)).toEqual(['closed:voice call', 'closed:game']);
    expect(await types(`until=${fx.model.now() - 200_000}`)).toEqual(['opened:game']);
  });

  it.each([
    'limit=0',
    'limit=5000',
    'type=exploded',
    'since=yesterday',
    'host=nope',
    'cursor=-1',
    'colour=red',
  ])('refuses the events query %s with 400', async (query) => {
    const res = await json('GET', `/events?${query}`);
    expect(res.status).toBe(400);
    expect(res.body.error.issues.length).toBeGreaterThan(0);
  });

  it('streams live events as server-sent events, with heartbeats', async () => {
    const res = await call('GET', '/events/stream?rule=game', undefined, AUTH);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    const readUntil = async (pattern: RegExp) => {
      while (!pattern.test(text)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`stream ended before ${pattern}: ${text}`);
        text += decoder.decode(value, { stream: true });
      }
    };
    await readUntil(/: live\n\n/);
    fx.model.trigger(LAN2, 5060, 'tcp'); // another rule: filtered out
    fx.model.trigger(LAN1, 5000);
    await fx.service.readNow();
    await readUntil(/event: opened\ndata: .*\nid: \d+\n\n/);
    const data = JSON.parse(/event: opened\ndata: (.*)\n/.exec(text)![1]!);
    expect(data).toMatchObject({ type: 'opened', rule: 'game', host: LAN1, family: 'ipv4' });
    expect(text).not.toContain('voice call');
    await readUntil(/: heartbeat\n\n/);
    await reader.cancel();
  });

  it("answers and streams the WAN's events, without a rule, as the reply schema describes them", async () => {
    await fx.cleanup();
    const wan = new FakeWan();
    await setup({ wan });
    const res = await call('GET', '/events/stream?type=wan-changed', undefined, AUTH);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    while (!text.includes(': live')) text += decoder.decode((await reader.read()).value, { stream: true });
    fx.model.trigger(LAN1, 5000);
    await fx.service.readNow();
    wan.report([{ name: 'wan0', up: true, addresses: ['203.0.113.9'] }]);
    while (!/event: wan-changed\ndata: .*\n/.test(text)) {
      text += decoder.decode((await reader.read()).value, { stream: true });
    }
    await reader.cancel();
    const streamed = JSON.parse(/event: wan-changed\ndata: (.*)\n/.exec(text)![1]!);
    expect(text).not.toContain('event: opened');

    const page = await json('GET', '/events?type=wan-changed');
    expect(page.status).toBe(200);
    const parsed = eventPageReply.safeParse(page.body);
    expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
    expect(page.body.events).toEqual([streamed]);
    expect(streamed).toEqual({
      type: 'wan-changed',
      at: expect.any(Number),
      id: expect.any(Number),
      interface: 'wan0',
      previous: WAN_AT_START[0]!.addresses,
      addresses: ['203.0.113.9'],
    });
    // The rule and host filters are about rules and LAN hosts: the WAN's events match neither.
    expect((await json('GET', '/events?rule=game')).body.events.map((e: { type: string }) => e.type)).toEqual(
      ['opened'],
    );
    expect((await json('GET', `/events?host=${LAN1}`)).body.events).toHaveLength(1);
    expect((await json('GET', '/events')).body.events.map((e: { type: string }) => e.type)).toEqual([
      'wan-changed',
      'opened',
    ]);
  });

  it('replays stored events after Last-Event-ID before the live ones', async () => {
    await makeEvents();
    const all = (await json('GET', '/events?order=asc')).body.events as { id: number }[];
    const res = await call('GET', '/events/stream', undefined, {
      ...AUTH,
      'Last-Event-ID': String(all[2]!.id),
    });
    const reader = res.body!.getReader();
    let text = '';
    while (!text.includes(': live')) text += new TextDecoder().decode((await reader.read()).value);
    expect([...text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]))).toEqual(
      all.slice(3).map((e) => e.id),
    );
    await reader.cancel();
  });

  it('keeps triggering, streams events and reports degraded when the history cannot be written', async () => {
    await fx.cleanup();
    const failing: EventHistory = {
      insert: () => {
        throw new Error('database or disk is full');
      },
      query: () => {
        throw new Error('database or disk is full');
      },
      close: () => undefined,
    };
    await setup({ openHistory: () => failing });
    const res = await call('GET', '/events/stream', undefined, AUTH);
    const reader = res.body!.getReader();
    fx.model.trigger(LAN1, 5000);
    await fx.service.readNow();
    let text = '';
    while (!text.includes('event: opened')) text += new TextDecoder().decode((await reader.read()).value);
    await reader.cancel();
    expect((await json('GET', '/table')).body.entries).toHaveLength(1);
    expect(await (await app.request(`${API_PREFIX}/health`)).json()).toMatchObject({
      status: 'degraded',
      eventStore: { status: 'failing' },
    });
    expect((await json('GET', '/events')).status).toBe(503);
    expect(await (await call('GET', '/metrics')).text()).toContain('porttrigger_event_store_errors_total 1');
  });
});

describe('config', () => {
  it('validates YAML and JSON without applying, with every issue and warning', async () => {
    const applies = fx.model.applied.length;
    const yamlOk = await call('POST', '/config/validate', configText(fx.dir), {
      ...AUTH,
      'Content-Type': 'application/yaml',
    });
    expect(await yamlOk.json()).toEqual({ ok: true, issues: [], warnings: [] });
    const broken = configText(fx.dir)
      .replace('"7000-7010"', '"7010-7000"')
      .replace('idleTimeout: 120', 'idleTimeout: -1');
    const yamlBad = await call('POST', '/config/validate', broken, { ...AUTH, 'Content-Type': 'text/yaml' });
    expect(yamlBad.status).toBe(200);
    expect(await yamlBad.json()).toMatchObject({
      ok: false,
      issues: [
        { path: ['rules', 0, 'open', 0, 'ports'] },
        { path: ['rules', 1, 'idleTimeout'], code: 'out_of_range' },
      ],
    });
    const jsonRes = await json('POST', '/config/validate', {
      interfaces: { lan: ['br-lan'], wan: ['wan0'] },
      rules: [
        { name: 'a', trigger: [{ protocol: 'tcp', ports: '1' }], open: [{ protocol: 'tcp', ports: '80' }] },
      ],
    });
    expect(jsonRes.body).toMatchObject({ ok: true, warnings: [{ code: 'privileged_port' }] });
    const syntax = await call('POST', '/config/validate', 'rules: [', {
      ...AUTH,
      'Content-Type': 'text/yaml',
    });
    expect(await syntax.json()).toMatchObject({ ok: false, issues: [{ code: 'yaml_syntax' }] });
    const other = await call('POST', '/config/validate', 'x', { ...AUTH, 'Content-Type': 'text/csv' });
    expect(other.status).toBe(415);
    expect(fx.model.applied.length).toBe(applies);
  });

  it('reloads a valid file, and refuses an invalid one with 400 and every issue, keeping the running config', async () => {
    writeFileSync(fx.configPath, configText(fx.dir).replace('idleTimeout: 30', 'idleTimeout: 45'));
    expect(await json('POST', '/reload')).toMatchObject({
      status: 200,
      body: { ok: true, applied: { kept: 0 } },
    });
    expect(fx.service.config.rules[0]?.idleTimeout).toBe(45);
    writeFileSync(fx.configPath, 'interfaces:\n  lan: []\nrules: 3\n');
    const refused = await json('POST', '/reload');
    expect(refused.status).toBe(400);
    expect(refused.body.error.issues.length).toBeGreaterThanOrEqual(3);
    expect(fx.service.config.rules[0]?.idleTimeout).toBe(45);
  });
});

describe('metrics and OpenAPI', () => {
  it('exposes the counters in the Prometheus text format', async () => {
    fx.model.trigger(LAN1, 5000);
    fx.model.trigger(LAN2, 5000);
    await fx.service.readNow();
    const res = await call('GET', '/metrics');
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    for (const line of [
      'porttrigger_active_entries 1',
      'porttrigger_opens_total 1',
      'porttrigger_closes_total{reason="expired"} 0',
      'porttrigger_conflicts_total 1',
      'porttrigger_blocked_total 0',
      'porttrigger_restores_total 0',
      'porttrigger_event_store_errors_total 0',
      '# TYPE porttrigger_apply_duration_seconds histogram',
      'porttrigger_apply_duration_seconds_count 1',
      'porttrigger_readback_duration_seconds_bucket{le="+Inf"} 2',
    ]) {
      expect(text).toContain(`${line}\n`);
    }
  });

  it('documents every route it serves, and only those', async () => {
    const served = [
      ...new Set(
        app.routes
          .filter((r) => r.method !== 'ALL')
          .map(
            (r) => `${r.method.toLowerCase()} ${r.path.slice(API_PREFIX.length).replace(/:(\w+)/g, '{$1}')}`,
          ),
      ),
    ].sort();
    expect(served).toEqual(ROUTES.map((r) => `${r.method} ${r.path}`).sort());
    const res = await json('GET', '/openapi.json');
    expect(res.body).toEqual(JSON.parse(JSON.stringify(buildOpenApiDocument())));
    const documented = Object.entries(res.body.paths as Record<string, object>)
      .flatMap(([path, item]) => Object.keys(item).map((method) => `${method} ${path}`))
      .sort();
    expect(documented).toEqual(served);
    // Every $ref points at something that exists.
    const refs = [...JSON.stringify(res.body).matchAll(/"\$ref":"#\/components\/(\w+)\/(\w+)"/g)];
    expect(refs.length).toBeGreaterThan(0);
    for (const [, kind, name] of refs)
      expect(res.body.components[kind!][name!], `${kind}/${name}`).toBeDefined();
  });
});

describe('concurrency', () => {
  it('serializes concurrent changes: all apply, the file holds every one', async () => {
    const results = await Promise.all(
      [0, 1, 2, 3, 4].map((i) =>
        json('POST', '/rules', {
          ...newRule,
          name: `r${i}`,
          open: [{ protocol: 'tcp', ports: String(2000 + i) }],
        }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual([201, 201, 201, 201, 201]);
    const text = readFileSync(fx.configPath, 'utf8');
    for (const i of [0, 1, 2, 3, 4]) expect(text).toContain(`name: r${i}`);
    expect(fx.service.config.rules).toHaveLength(7);
  });
});
