import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Hono } from 'hono';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runCliCaptured } from '../../test/cli/run-cli.js';
import { type Fixture, LAN1, LAN2, startFixture, T0 } from '../../test/service/fixture.js';
import { createApp } from '../api/app.js';
import { PRESETS } from '../domain/presets.js';
import { COMMANDS } from './cli.js';
import { parseSseChunk } from './client/sse.js';
import { formatCheck, parsePortArg } from './commands/check.js';
import { parseMoment } from './commands/events.js';
import { parsePortSpecArg } from './commands/rules.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const GATEWAY = join(ROOT, 'examples/gateway.yaml');
const INVALID = join(ROOT, 'test/cli/fixtures/invalid.yaml');

interface Recorded {
  readonly method: string;
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body?: unknown;
}

const TOKEN = 'secret-token';

/**
 * A `fetch` that hands every request to the real API app in-process (on a service over the reference model)
 * and records it; `fail` makes it fail below HTTP instead, like a refused connection.
 */
function appFetch(app: Hono, fail?: () => Error) {
  const requests: Recorded[] = [];
  const fetchApp = (async (input: string | URL, init: RequestInit = {}) => {
    requests.push({
      method: init.method ?? 'GET',
      url: String(input),
      headers: init.headers as Record<string, string>,
      ...(init.body !== undefined ? { body: JSON.parse(String(init.body)) } : {}),
    });
    if (fail) throw fail();
    return app.fetch(new Request(input, init));
  }) as typeof fetch;
  return { fetch: fetchApp, requests };
}

let dir: string;
let tokenFile: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'porttrigger-cli-test-'));
  tokenFile = join(dir, 'token');
  await writeFile(tokenFile, `${TOKEN}\n`);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const run = (argv: string[], options: { fetch?: typeof fetch; tty?: boolean } = {}) =>
  runCliCaptured(argv, { cwd: ROOT, ...options });

const API = ['--api', 'http://127.0.0.1:1', '--token-file'];

describe('top level', () => {
  it('prints help and the version with exit code 0', async () => {
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    for (const c of COMMANDS) expect(help.out).toContain(`  ${c.spec.name}`);
    expect(await run(['--version'])).toMatchObject({ code: 0, out: 'porttrigger 0.0.0-test\n' });
  });

  it('gives every command a --help', async () => {
    for (const c of COMMANDS) {
      const r = await run([c.spec.name, '--help']);
      expect(r.code).toBe(0);
      expect(r.out).toContain(`porttrigger ${c.spec.name}`);
      expect(r.out).toContain('--config FILE');
      if (c.spec.json) expect(r.out).toContain('--json');
    }
  });

  it('exits 2 with a hint on a wrong command line', async () => {
    const r = await run(['stauts']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('unknown command "stauts" (did you mean "status"?)');
    expect(r.err).toContain('Run `porttrigger --help` for usage.');
    const missing = await run(['check']);
    expect(missing.code).toBe(2);
    expect(missing.err).toContain('Run `porttrigger check --help` for usage.');
  });

  it('writes errors as JSON on stderr with --json', async () => {
    const r = await run(['validate', '/nonexistent/config.yaml', '--json']);
    expect(r.code).toBe(3);
    expect(JSON.parse(r.err)).toEqual({
      error: {
        code: 'CONFIG_NOT_FOUND',
        message: 'cannot read the config /nonexistent/config.yaml (ENOENT)',
      },
    });
  });

  it('names a config that is there but unreadable CONFIG_READ_FAILED, not missing', async () => {
    const r = await run(['validate', tmpdir(), '--json']);
    expect(r.code).toBe(3);
    expect(JSON.parse(r.err)).toEqual({
      error: { code: 'CONFIG_READ_FAILED', message: `cannot read the config ${tmpdir()} (EISDIR)` },
    });
  });
});

describe('validate', () => {
  it('accepts the example config without a warning', async () => {
    const r = await run(['validate', GATEWAY]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(
      /^✔ .*gateway\.yaml is valid: 3 rules \(3 enabled\), companion mode, LAN br-lan, WAN eth0\n$/,
    );
    expect(r.err).toBe('');
  });

  it('prints every issue with its path and exits 3 on an invalid config', async () => {
    const r = await run(['validate', INVALID]);
    expect(r.code).toBe(3);
    expect(r.out).toContain('is invalid: 3 errors, 1 warning');
    expect(r.out).toContain('✘ rules[2].open[0].ports: "8000-7000": range goes backwards');
    expect(r.out).toContain('✘ rules[2].name: "game callback" is also the name of rules[0]');
    expect(r.out).toContain('✘ interfaces.wan[0]: "eth 0" is not an interface name');
    expect(r.out).toContain('⚠ rules[1].open[0].ports');
    expect(r.err).toBe('');
  });

  it('prints the result as JSON', async () => {
    const r = await run(['validate', INVALID, '--json']);
    expect(r.code).toBe(3);
    expect(r.out).toBe('');
    const body = JSON.parse(r.err).error;
    expect(body).toMatchObject({
      code: 'INVALID_CONFIG',
      message: expect.stringContaining('invalid.yaml is invalid: 3 errors, 1 warning'),
      warnings: [{ path: 'rules[1].open[0].ports', code: 'privileged_port' }],
    });
    expect(body.issues.map((i: { path: string }) => i.path)).toEqual([
      'rules[2].open[0].ports',
      'rules[2].name',
      'interfaces.wan[0]',
    ]);
    expect(JSON.parse((await run(['validate', GATEWAY, '--json'])).out)).toMatchObject({
      valid: true,
      rules: 3,
    });
  });
});

describe('compile', () => {
  it('prints the whole script for an empty kernel', async () => {
    const r = await run(['compile', GATEWAY]);
    expect(r.code).toBe(0);
    expect(
      r.out.startsWith('table inet porttrigger\nflush table inet porttrigger\ntable inet porttrigger {\n'),
    ).toBe(true);
    expect(r.out).not.toContain('delete ');
    expect(r.out).toContain('type nat hook prerouting priority dstnat; policy accept;');
    expect(r.out).toContain('7000-7010 : jump in4_');
    expect(r.out).toMatch(/dnat ip to jhash meta nfproto mod 1 offset \d+ map @target4_[0-9a-f]\n/);
    expect(r.out).toMatch(/\n}\n$/);
  });

  it('compiles nothing from an invalid config', async () => {
    const r = await run(['compile', INVALID]);
    expect(r.code).toBe(3);
    expect(r.out).toBe('');
    expect(r.err).toContain('nothing to compile');
    expect(JSON.parse((await run(['compile', GATEWAY, '--json'])).out).script).toContain(
      'table inet porttrigger {',
    );
  });
});

describe('presets', () => {
  it('lists every preset, and all of them as JSON', async () => {
    const r = await run(['presets']);
    expect(r.code).toBe(0);
    for (const p of PRESETS) expect(r.out).toContain(`${p.id}\t${p.name}\t`);
    expect(r.out).toContain('irc-dcc\tIRC DCC\ttcp 6660-6669,6697\ttcp 4000-4009\t10m 00s\tany');
    expect(JSON.parse((await run(['presets', '--json'])).out)).toHaveLength(PRESETS.length);
    expect((await run(['presets'], { tty: true })).out).toContain('  irc-dcc: chatting on an IRC server');
  });

  it('shows one preset in full by its id, and refuses an unknown one with exit 3', async () => {
    const r = await run(['presets', 'show', 'irc-dcc']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^IRC DCC \(irc-dcc\)\n {2}trigger: +tcp 6660-6669,6697\n/);
    expect(r.out).toContain('Add it: porttrigger rules add --preset irc-dcc');
    expect(JSON.parse((await run(['presets', 'show', 'irc-dcc', '--json'])).out)).toMatchObject({
      id: 'irc-dcc',
    });
    expect((await run(['presets', 'show', 'doom'])).code).toBe(3);
    expect((await run(['presets', 'show'])).code).toBe(2);
  });
});

describe('commands that talk to the service', () => {
  let fx: Fixture;
  let app: Hono;
  let api: ReturnType<typeof appFetch>;

  beforeEach(async () => {
    fx = await startFixture();
    app = createApp({ service: fx.service, token: TOKEN });
    api = appFetch(app);
  });
  afterEach(async () => {
    await fx.cleanup();
  });

  it('reads the table with the bearer token and prints it', async () => {
    fx.model.trigger(LAN1, 5000);
    const r = await run(['status', ...API, tokenFile], { fetch: api.fetch });
    expect(r.code).toBe(0);
    expect(api.requests[0]).toMatchObject({ method: 'GET', url: 'http://127.0.0.1:1/api/v1/table' });
    expect(api.requests[0]!.headers['authorization']).toBe(`Bearer ${TOKEN}`);
    expect(r.out).toContain(`game\tipv4\t${LAN1}\tany\t0s ago\t30s`);
    const json = JSON.parse((await run(['status', '--json', ...API, tokenFile], { fetch: api.fetch })).out);
    expect(json.entries).toMatchObject([{ rule: 'game', holder: LAN1, expiresAt: T0 + 30_000 }]);
  });

  it('exits 4 when the service is unreachable or refuses the token', async () => {
    const refused = () => Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } });
    const down = await run(['status', ...API, tokenFile], { fetch: appFetch(app, refused).fetch });
    expect(down.code).toBe(4);
    expect(down.err).toContain('cannot reach the porttrigger service at http://127.0.0.1:1: ECONNREFUSED');
    const wrongToken = join(dir, 'wrong-token');
    await writeFile(wrongToken, 'not-the-token\n');
    const r = await run(['rules', 'list', '--json', ...API, wrongToken], { fetch: api.fetch });
    expect(r.code).toBe(4);
    expect(r.err).toContain('the service refused the API token (401: a valid bearer token is required');
    expect(JSON.parse(r.err.split('\n')[0]!).error.code).toBe('UNAUTHORIZED');
    const noToken = await run(['status', ...API, join(dir, 'missing')]);
    expect(noToken.code).toBe(4);
    expect(noToken.err).toContain('cannot read the API token file');
  });

  it('exits 5 when the service reports an nft failure, 3 for a missing rule', async () => {
    fx.model.failNextApply = true;
    const r = await run(['rules', 'disable', 'game', '--json', ...API, tokenFile], { fetch: api.fetch });
    expect(r.code).toBe(5);
    expect(JSON.parse(r.err).error).toEqual({
      code: 'NFT_REJECTED',
      message: 'disabling rule "game": nft rejected the ruleset: test',
    });
    const gone = await run(['release', 'x', '--json', ...API, tokenFile], { fetch: api.fetch });
    expect(gone.code).toBe(3);
    expect(JSON.parse(gone.err).error.code).toBe('RULE_NOT_FOUND');
  });

  it("keeps the server's codes: a taken name is RULE_EXISTS, a hand-edited file CONFIG_FILE_CHANGED", async () => {
    const add = ['rules', 'add', '--name', 'GAME', '--trigger', 'tcp:6970', '--open', 'udp:9000', '--json'];
    const taken = await run([...add, ...API, tokenFile], { fetch: api.fetch });
    expect(taken.code).toBe(3);
    expect(JSON.parse(taken.err).error.code).toBe('RULE_EXISTS');
    await writeFile(fx.configPath, `${readFileSync(fx.configPath, 'utf8')}# edited by hand\n`);
    const edited = await run(
      [
        'rules',
        'add',
        '--name',
        'other',
        '--trigger',
        'tcp:6970',
        '--open',
        'udp:9000',
        '--json',
        ...API,
        tokenFile,
      ],
      { fetch: api.fetch },
    );
    expect(edited.code).toBe(3);
    expect(JSON.parse(edited.err).error.code).toBe('CONFIG_FILE_CHANGED');
    expect(fx.service.config.rules.map((rule) => rule.name)).toEqual(['game', 'voice call']);
  });

  it('adds a rule from flags, validated before anything is sent', async () => {
    const r = await run(
      [
        'rules',
        'add',
        '--name',
        'Game2',
        '--trigger',
        'tcp:6970',
        '--open',
        'udp:8000-8010',
        '--timeout',
        '5m',
        '--lan-hosts',
        '192.168.1.10, 192.168.1.0/24',
        '--remote',
        'contacted',
        ...API,
        tokenFile,
      ],
      { fetch: api.fetch },
    );
    expect(r.code).toBe(0);
    expect(api.requests[0]).toMatchObject({
      method: 'POST',
      url: 'http://127.0.0.1:1/api/v1/rules',
      body: {
        name: 'Game2',
        trigger: [{ protocol: 'tcp', ports: '6970' }],
        open: [{ protocol: 'udp', ports: '8000-8010' }],
        idleTimeout: 300,
        lanHosts: ['192.168.1.10', '192.168.1.0/24'],
        remote: 'contacted',
      },
    });
    expect(r.out).toContain('✔ added rule "Game2": trigger tcp 6970 → open udp 8000-8010');
    expect(fx.service.config.rules.at(-1)).toMatchObject({ name: 'Game2', idleTimeout: 300, enabled: true });
  });

  it('adds a rule from a preset with overrides', async () => {
    const r = await run(['rules', 'add', '--preset', 'irc-dcc', '--timeout', '30', ...API, tokenFile], {
      fetch: api.fetch,
    });
    expect(r.code).toBe(0);
    expect(api.requests[0]!.body).toMatchObject({
      name: 'IRC DCC',
      idleTimeout: 30,
      trigger: [{ protocol: 'tcp', ports: '6660-6669,6697' }],
    });
    expect(fx.service.config.rules.at(-1)).toMatchObject({ name: 'IRC DCC', idleTimeout: 30 });
  });

  it('refuses an invalid rule with its issues (3), an unknown preset (3) and missing flags (2) without a request', async () => {
    const { fetch, requests } = api;
    const bad = await run(
      ['rules', 'add', '--name', 'x', '--trigger', 'tcp:0', '--open', 'udp:1-2-3', ...API, tokenFile],
      { fetch },
    );
    expect(bad.code).toBe(3);
    expect(bad.err).toContain('✘ trigger[0].ports');
    expect(bad.err).toContain('✘ open[0].ports');
    const unknown = await run(['rules', 'add', '--preset', 'doom', ...API, tokenFile], { fetch });
    expect(unknown.code).toBe(3);
    expect(unknown.err).toContain('no preset "doom"; known: ftp-active, irc-dcc');
    expect((await run(['rules', 'add', '--name', 'x', ...API, tokenFile], { fetch })).code).toBe(2);
    const spec = await run(
      ['rules', 'add', '--name', 'x', '--trigger', '6970', '--open', 'udp:1', ...API, tokenFile],
      { fetch },
    );
    expect(spec.code).toBe(3);
    expect(spec.err).toContain('--trigger "6970": expected PROTO:PORTS');
    expect((await run(['rules', 'frob', ...API, tokenFile], { fetch })).code).toBe(2);
    expect(requests).toEqual([]);
  });

  it('shows one rule, field by field and as JSON', async () => {
    const r = await run(['rules', 'show', 'voice call', ...API, tokenFile], { fetch: api.fetch });
    expect(r.code).toBe(0);
    expect(api.requests[0]).toMatchObject({
      method: 'GET',
      url: 'http://127.0.0.1:1/api/v1/rules/voice%20call',
    });
    expect(r.out).toContain('name:         voice call\n');
    expect(r.out).toContain('open:         udp 16384-16482\n');
    expect(r.out).toContain('idle timeout: 2m (120 s)\n');
    expect(r.out).toContain('lan hosts:    192.168.1.0/24\n');
    const json = await run(['rules', 'show', 'game', '--json', ...API, tokenFile], { fetch: api.fetch });
    expect(JSON.parse(json.out)).toMatchObject({ name: 'game', idleTimeout: 30 });
    const missing = await run(['rules', 'show', 'nope', ...API, tokenFile], { fetch: api.fetch });
    expect(missing.code).toBe(3);
  });

  it('edits only what the flags give, through PUT, and keeps the rest', async () => {
    const r = await run(
      ['rules', 'edit', 'voice call', '--timeout', '1h', '--name', 'voice', ...API, tokenFile],
      { fetch: api.fetch },
    );
    expect(r.code).toBe(0);
    expect(r.out).toContain('✔ changed rule "voice call" (now "voice")');
    expect(api.requests.map((q) => q.method)).toEqual(['GET', 'PUT']);
    expect(fx.service.config.rules[1]).toMatchObject({
      name: 'voice',
      idleTimeout: 3600,
      remote: 'contacted',
      lanHosts: ['192.168.1.0/24'],
      open: [{ protocol: 'udp', ports: '16384-16482' }],
    });
    const nothing = await run(['rules', 'edit', 'game', ...API, tokenFile], { fetch: api.fetch });
    expect(nothing.code).toBe(2);
    const bad = await run(['rules', 'edit', 'game', '--timeout', '2d', ...API, tokenFile], {
      fetch: api.fetch,
    });
    expect(bad.code).toBe(3);
    expect(bad.err).toContain('idleTimeout must be 1-86400 seconds');
    expect(api.requests.filter((q) => q.method === 'PUT')).toHaveLength(1);
    expect(fx.service.config.rules[0]).toMatchObject({ name: 'game', idleTimeout: 30 });
  });

  it('reloads the config file through the service and says so', async () => {
    await writeFile(
      fx.configPath,
      readFileSync(fx.configPath, 'utf8').replace('idleTimeout: 30', 'idleTimeout: 10m'),
    );
    const r = await run(['reload', ...API, tokenFile], { fetch: api.fetch });
    expect(fx.service.config.rules[0]).toMatchObject({ name: 'game', idleTimeout: 600 });
    expect(r.code).toBe(0);
    expect(api.requests[0]).toMatchObject({ method: 'POST', url: 'http://127.0.0.1:1/api/v1/reload' });
    expect(r.out).toMatch(/^✔ reloaded the config: \d+ entr(y|ies) kept, \d+ closed by the change\n$/);
  });

  it('switches port triggering off and on through the service and says so', async () => {
    fx.model.trigger(LAN1, 5000);
    await fx.service.readNow();
    const off = await run(['disable', ...API, tokenFile], { fetch: api.fetch });
    expect(off.code).toBe(0);
    expect(api.requests[0]).toMatchObject({ method: 'POST', url: 'http://127.0.0.1:1/api/v1/disable' });
    expect(off.out).toBe('✔ port triggering is off: 1 entry closed\n');
    expect(fx.service.config.enabled).toBe(false);
    expect(readFileSync(fx.configPath, 'utf8')).toMatch(/^enabled: false$/m);
    const on = await run(['enable', '--json', ...API, tokenFile], { fetch: api.fetch });
    expect(JSON.parse(on.out)).toEqual({ enabled: true, warnings: [], applied: { kept: 0, dropped: 0 } });
    expect(fx.service.config.enabled).toBe(true);
  });

  it('releases one holder and says how many entries closed', async () => {
    fx.model.trigger(LAN1, 5000);
    const r = await run(['release', 'game', LAN1, ...API, tokenFile], { fetch: api.fetch });
    expect(api.requests[0]).toMatchObject({ method: 'POST', body: { rule: 'game', holder: LAN1 } });
    expect(r.out).toBe(`Released 1 entry of rule "game" held by ${LAN1}.\n`);
    expect((await fx.model.read()).table.entries).toEqual([]);
  });

  it('checks both protocols when none is given', async () => {
    const r = await run(['check', '4000', ...API, tokenFile], { fetch: api.fetch });
    expect(r.code).toBe(0);
    expect(api.requests.map((q) => new URL(q.url).search)).toEqual([
      '?port=4000&protocol=tcp',
      '?port=4000&protocol=udp',
    ]);
    expect(r.out).toBe('✘ tcp 4000 is closed: no rule opens it.\n✘ udp 4000 is closed: no rule opens it.\n');
    fx.model.trigger(LAN1, 5000);
    const open = await run(['check', '7005/udp', ...API, tokenFile], { fetch: api.fetch });
    expect(open.out).toContain(`✔ udp 7005 is open now:\n    rule "game" forwards it to ${LAN1}`);
  });

  it('reads the newest events of the history and prints them oldest first', async () => {
    fx.model.trigger(LAN1, 5000);
    await fx.service.readNow();
    fx.model.advance(1_000);
    fx.model.trigger(LAN2, 5000);
    await fx.service.readNow();
    fx.model.advance(31_000);
    await fx.service.readNow();
    const r = await run(['events', '--rule', 'game', '--json', ...API, tokenFile], { fetch: api.fetch });
    expect(r.code).toBe(0);
    const events = JSON.parse(r.out) as { id: number; type: string; host?: string; contender?: string }[];
    expect(events.map((e) => e.type)).toEqual(['opened', 'conflict', 'closed']);
    expect(events.map((e) => e.host ?? e.contender)).toEqual([LAN1, LAN2, LAN1]);
    expect(new URL(api.requests[0]!.url).searchParams.get('rule')).toBe('game');
    const newest = await run(['events', '--limit', '2', ...API, tokenFile], { fetch: api.fetch });
    expect(new URL(api.requests.at(-1)!.url).searchParams.get('limit')).toBe('2');
    expect(newest.out).toMatch(
      /conflict\tgame\tipv4\t192\.168\.1\.20 refused, held by 192\.168\.1\.10\n.*closed\tgame\tipv4\t192\.168\.1\.10 no longer holds it: expired\n$/,
    );
    const since = await run(['events', '--since', '1h', ...API, tokenFile], { fetch: api.fetch });
    expect(since.code).toBe(0);
    const query = new URL(api.requests.at(-1)!.url).searchParams;
    expect(Date.parse(query.get('since')!)).toBeGreaterThan(Date.now() - 3_700_000);
    expect((await run(['events', '--type', 'nope', ...API, tokenFile], { fetch: api.fetch })).code).toBe(3);
  });
});

describe('argument helpers', () => {
  it.each([
    ['tcp:6970', { protocol: 'tcp', ports: '6970' }],
    ['UDP:7000-7010,7020', { protocol: 'udp', ports: '7000-7010,7020' }],
    ['tcp+udp:6901', { protocol: 'both', ports: '6901' }],
  ])('reads the port spec %s', (text, spec) => {
    expect(parsePortSpecArg(text, '--open')).toEqual(spec);
  });

  it('reads PORT[/PROTO] and refuses the rest', () => {
    expect(parsePortArg('7000/UDP')).toEqual({ port: 7000, protocol: 'udp' });
    expect(parsePortArg('22')).toEqual({ port: 22 });
    expect(() => parsePortArg('70000')).toThrow(/1-65535/);
    expect(() => parsePortArg('7000/sctp')).toThrow();
  });

  it('reads moments as ISO dates or durations back from now', () => {
    const now = Date.parse('2025-06-01T12:00:00Z');
    expect(parseMoment('15m', now)).toBe(now - 900_000);
    expect(parseMoment('1h30m', now)).toBe(now - 5_400_000);
    expect(parseMoment('2025-06-01T10:00:00Z', now)).toBe(Date.parse('2025-06-01T10:00:00Z'));
    expect(parseMoment('1d', now)).toBe(now - 86_400_000);
    expect(parseMoment('90', now)).toBe(now - 90_000);
    expect(() => parseMoment('yesterday', now)).toThrow(/ISO date .* or a duration: seconds \(90\)/);
  });

  it('splits a server-sent event stream, keeping an unfinished message', () => {
    const { messages, rest } = parseSseChunk(
      ': live\n\nevent: opened\nid: 3\ndata: {"rule":"g"}\n\nevent: closed\ndata: {',
    );
    expect(messages).toEqual([{ event: 'opened', data: '{"rule":"g"}' }]);
    expect(rest).toBe('event: closed\ndata: {');
  });

  it('describes a port check in words', () => {
    const text = formatCheck(
      [
        {
          port: 7000,
          protocol: 'udp',
          open: true,
          matches: [
            {
              rule: 'g',
              enabled: true,
              entries: [{ rule: 'g', family: 'ipv4', holder: '192.168.1.10', expiresAt: 65_000 }],
            },
          ],
          at: 5_000,
        },
      ],
      5_000,
    );
    expect(text).toBe(
      '✔ udp 7000 is open now:\n    rule "g" forwards it to 192.168.1.10 (ipv4, from anywhere), expires in 1m 00s\n',
    );
  });

  it('says when a port check answers from the last table because the kernel was slow', () => {
    const text = formatCheck(
      [{ port: 7000, protocol: 'udp', open: false, matches: [], at: 5_000, stale: true }],
      25_000,
    );
    expect(text).toBe(
      'Note: the kernel did not answer in time; this is the table read 20s ago.\n✘ udp 7000 is closed: no rule opens it.\n',
    );
  });
});
