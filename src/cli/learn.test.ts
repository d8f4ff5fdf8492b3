import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { inProcessFetch, runCliCaptured } from '../../test/cli/run-cli.js';
import { staticForwardRuleset } from '../../test/factories.js';
import { FakeRecorder } from '../../test/service/fake-recorder.js';
import { FakeWan, ROUTER_LINKS } from '../../test/service/fake-wan.js';
import { type Fixture, LAN1, startFixture } from '../../test/service/fixture.js';
import { createApp } from '../api/app.js';
import { parseDuration } from './commands/learn.js';

const TOKEN = 'secret-token';
const SERVER = '203.0.113.10';
let dir: string;
let tokenFile: string;
let fx: Fixture | undefined;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'porttrigger-learn-cli-'));
  tokenFile = join(dir, 'token');
  await writeFile(tokenFile, `${TOKEN}\n`);
});
afterAll(() => rm(dir, { recursive: true, force: true }));
afterEach(async () => {
  await fx?.cleanup();
  fx = undefined;
});

function run(argv: string[], service: Fixture['service'], answer?: string) {
  return runCliCaptured([...argv, '--api', 'http://127.0.0.1:1', '--token-file', tokenFile], {
    cwd: dir,
    fetch: inProcessFetch(createApp({ service, token: TOKEN })),
    ...(answer !== undefined ? { ask: async () => answer } : {}),
  });
}

describe('porttrigger learn', () => {
  it('learns for the time given, prints what it sees live, then the proposals', async () => {
    const recorder = new FakeRecorder();
    recorder.onStart = () => recorder.seeApplication(Date.now(), LAN1, SERVER);
    fx = await startFixture({ recorder });
    const r = await run(['learn', '--host', LAN1, '--for', '1s'], fx.service);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain(`Learning from ${LAN1} until`);
    expect(r.out).toMatch(new RegExp(`out  ${LAN1} connected to ${SERVER} tcp 6970`));
    expect(r.out).toContain(`in   ${SERVER} tried udp 8002 (nothing forwarded it)`);
    expect(r.out).toContain('Seen: 1 outbound connection, 3 inbound attempts.');
    expect(r.out).toContain('1. Learned tcp 6970 (high confidence)');
    expect(r.out).toContain('   trigger tcp 6970; open udp 8000-8002; remote contacted; idle timeout 60 s');
    expect(recorder.running).toBe(0);
  });

  it("prints another tool's static forward as a conflict, and a note when the ruleset could not be read", async () => {
    const recorder = new FakeRecorder();
    recorder.onStart = () => recorder.seeApplication(Date.now(), LAN1, SERVER);
    const forward = staticForwardRuleset('udp', 8002, '192.168.1.50', 8002);
    let reader: () => Promise<unknown> = async () => forward;
    fx = await startFixture({ recorder, foreignRuleset: () => reader(), wan: new FakeWan(ROUTER_LINKS) });
    expect((await run(['learn', '--for', '1', '--json'], fx.service)).code).toBe(0);
    const flagged = await run(['learn', '--last'], fx.service);
    expect(flagged.out).toContain(
      '   conflict: its udp ports overlap a static forward of table ip nat (chain prerouting) to 192.168.1.50:8002 (udp 8002)\n',
    );
    expect(flagged.out).not.toContain('Note:');

    reader = () => Promise.reject(new Error('nft: operation not permitted'));
    const unread = await run(['learn', '--last'], fx.service);
    expect(unread.out).toContain('1. Learned tcp 6970 (high confidence)');
    expect(unread.out).not.toContain('conflict:');
    expect(unread.out).toContain(
      'Note: static port forwards of other tools could not be checked: nft: operation not permitted\n',
    );
    expect(JSON.parse((await run(['learn', '--last', '--json'], fx.service)).out).notes).toEqual([
      'static port forwards of other tools could not be checked: nft: operation not permitted',
    ]);
  });

  it('applies a proposal of the last session after confirmation, and not when refused', async () => {
    const recorder = new FakeRecorder();
    recorder.onStart = () => recorder.seeApplication(Date.now(), LAN1, SERVER);
    fx = await startFixture({ recorder });
    expect((await run(['learn', '--for', '1', '--json'], fx.service)).code).toBe(0);

    const refused = await run(['learn', '--last', '--apply', '1'], fx.service, 'n');
    expect(refused.out).toContain('Nothing added.');
    expect(readFileSync(fx.configPath, 'utf8')).not.toContain('Learned');

    const nobody = await run(['learn', '--last', '--apply', '1'], fx.service);
    expect(nobody.code).toBe(2);
    expect(nobody.err).toContain('add --yes');

    const yes = await run(['learn', '--last', '--apply', '1'], fx.service, 'yes');
    expect(yes.out).toContain('Added rule "Learned tcp 6970"; it is applied.');
    expect(readFileSync(fx.configPath, 'utf8')).toContain('Learned tcp 6970');

    const json = await run(['learn', '--last', '--json'], fx.service);
    const body = JSON.parse(json.out);
    expect(body.session).toMatchObject({
      state: 'finished',
      endReason: 'time-limit',
      outbound: 1,
      inbound: 3,
    });
    expect(body.proposals[0].conflicts).toContain('rule "Learned tcp 6970" already triggers on tcp 6970');

    const missing = await run(['learn', '--last', '--apply', '9', '--yes'], fx.service);
    expect(missing.code).toBe(3);
    expect(missing.err).toContain('no proposal number 9');
  });

  it('refuses a bad duration, a second session and a datapath that cannot record', async () => {
    fx = await startFixture();
    const unavailable = await run(['learn', '--for', '1'], fx.service);
    expect(unavailable.code).toBe(5);
    expect(unavailable.err).toContain('cannot record');
    expect((await run(['learn', '--for', 'soon'], fx.service)).code).toBe(3);
    expect((await run(['learn', '--for', '2h'], fx.service)).code).toBe(3);
    expect(parseDuration('5m')).toBe(300);
    expect(parseDuration('90s')).toBe(90);
    expect(parseDuration('1h')).toBe(3600);
    await fx.cleanup();
    const recorder = new FakeRecorder();
    fx = await startFixture({ recorder });
    await fx.service.learn.start({});
    const busy = await run(['learn', '--for', '1', '--json'], fx.service);
    expect(busy.code).toBe(3);
    expect(JSON.parse(busy.err).error.code).toBe('LEARN_ACTIVE');
  });

  it('applies a low-confidence proposal only with --low-confidence, and the API refuses it without the confirmation', async () => {
    const recorder = new FakeRecorder();
    // Only a name lookup preceded two tries from hosts nobody contacted: a guess.
    recorder.onStart = () => recorder.seeGuess(Date.now(), LAN1, SERVER);
    fx = await startFixture({ recorder });
    await fx.service.learn.start({ host: LAN1, durationS: 60 });
    await expect.poll(() => fx?.service.learn.status().inbound).toBe(2);
    await fx.service.learn.stop();
    const listed = await run(['learn', '--last'], fx.service);
    expect(listed.out).toContain('1. Learned udp 53 from any host (low confidence)');
    expect(listed.out).toMatch(/confidence low: only DNS traffic \(udp 53\)/);
    const refused = await run(['learn', '--last', '--apply', '1', '--yes'], fx.service);
    expect(refused.code).not.toBe(0);
    expect(refused.err).toMatch(/proposal 1 has low confidence .*add --low-confidence/);
    await expect(fx.service.learn.apply(1)).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    expect(fx.service.config.rules.map((r) => r.name)).not.toContain('Learned udp 53 from any host');
    const applied = await run(['learn', '--last', '--apply', '1', '--yes', '--low-confidence'], fx.service);
    expect(applied.err).toBe('');
    expect(applied.out).toContain('Added rule "Learned udp 53 from any host"');
  });
});
