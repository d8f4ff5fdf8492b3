import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeWan } from '../../test/service/fake-wan.js';
import { type Fixture, LAN1, startFixture } from '../../test/service/fixture.js';
import { type InProcessPanel, PANEL_ORIGIN as ORIGIN, openPanel } from '../../test/service/panel.js';

const TOKEN = 'panel-live-test-token-0123456789';

/** Reads server-sent events from a streaming response, one message at a time. */
function messages(body: ReadableStream<Uint8Array>) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  return {
    /** The next message of type `event`, with its data lines joined as a browser joins them. */
    async next(event: string): Promise<string> {
      for (;;) {
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          if (!block.startsWith(`event: ${event}\n`)) continue;
          return block
            .split('\n')
            .filter((l) => l.startsWith('data: '))
            .map((l) => l.slice(6))
            .join('\n');
        }
        const { value, done } = await reader.read();
        if (done) throw new Error(`the stream ended before a "${event}" message`);
        buffer += decoder.decode(value, { stream: true });
      }
    },
    close: () => reader.cancel(),
  };
}

describe('the live table and the rule switch, pushed and answered in place', () => {
  let fx: Fixture;
  let wan: FakeWan;
  let panel: InProcessPanel;
  let cookie: string;
  let csrf: string;

  beforeEach(async () => {
    wan = new FakeWan();
    fx = await startFixture({ wan });
    panel = openPanel(fx.service, TOKEN);
    ({ cookie, csrf } = await panel.signIn('/rules'));
  });
  afterEach(() => fx.cleanup());

  const request = (path: string, init?: RequestInit) => panel.request(path, init);

  function rowIdOf(html: string, holder: string): string | undefined {
    return new RegExp(`<tr id="(entry-[0-9a-f]+)" data-holder="${holder.replaceAll('.', '\\.')}"`).exec(
      html,
    )?.[1];
  }

  it("streams the table's state first, then the row of a trigger as it opens and its removal as it closes", async () => {
    const page = await (await request('/table', { headers: { cookie } })).text();
    expect(page).toContain('sse-connect="/events?view=table"');
    expect(page).toContain('sse-swap="live"');
    const response = await request('/events?view=table', { headers: { cookie } });
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const stream = messages(response.body!);
    try {
      const snapshot = await stream.next('live');
      expect(snapshot).toMatch(/^<div id="live-table" hx-swap-oob="innerHTML">/);
      expect(snapshot).toContain('<tbody id="entries-rows" data-upsert="true"></tbody>');

      fx.model.trigger(LAN1, 5000);
      await fx.service.readNow();
      const opened = await stream.next('live');
      expect(opened).toContain('hx-swap-oob="beforeend:#entries-rows"');
      const id = rowIdOf(opened, LAN1);
      expect(id).toBeDefined();
      expect(opened).toContain(`aria-label="Release game from ${LAN1}"`);
      expect(opened).toContain(`name="_csrf" value="${csrf}"`);
      // The same entry has the same row id when the whole table is rendered: a repeated push replaces it.
      const whole = await (await request('/table', { headers: { cookie } })).text();
      expect(rowIdOf(whole, LAN1)).toBe(id);

      await fx.service.release({ rule: 'game' });
      const closed = await stream.next('live');
      expect(closed).toContain(`<div id="${id}" hx-swap-oob="delete"></div>`);
      expect(closed).not.toContain('<tr');
    } finally {
      await stream.close();
    }
  });

  it('pushes a conflict into its list, naming who held the rule', async () => {
    const response = await request('/events?view=table', { headers: { cookie } });
    const stream = messages(response.body!);
    try {
      await stream.next('live');
      fx.model.trigger(LAN1, 5000);
      await fx.service.readNow();
      await stream.next('live');
      fx.model.trigger('192.168.1.20', 5000);
      await fx.service.readNow();
      const conflict = await stream.next('live');
      expect(conflict).toContain('hx-swap-oob="beforeend:#conflicts"');
      expect(conflict).toMatch(/192\.168\.1\.20.*wanted game, but .*192\.168\.1\.10.* held it/);
    } finally {
      await stream.close();
    }
  });

  it('pushes nothing into the live table for a change of the WAN', async () => {
    const response = await request('/events?view=table', { headers: { cookie } });
    const stream = messages(response.body!);
    try {
      await stream.next('live');
      wan.report([{ name: 'wan0', up: true, addresses: ['203.0.113.9'] }]);
      fx.model.trigger(LAN1, 5000);
      await fx.service.readNow();
      const next = await stream.next('live');
      expect(next).toContain('hx-swap-oob="beforeend:#entries-rows"');
      expect(next).not.toContain('203.0.113.9');
      expect(fx.service.queryEvents({ limit: 10 }).events.map((e) => e.type)).toContain('wan-changed');
    } finally {
      await stream.close();
    }
  });

  it("answers the switch of a script with the rule's item in its new state and the notice; a plain form is redirected", async () => {
    const hx = { cookie, origin: ORIGIN, 'hx-request': 'true', 'x-csrf-token': csrf };
    const off = await request('/rules/game/disable', { method: 'POST', headers: hx });
    expect(off.status).toBe(200);
    const offHtml = await off.text();
    expect(offHtml).toMatch(/^<li class="rule off">/);
    expect(offHtml).toContain('aria-label="Turn on game"');
    expect(offHtml).toContain(
      '<div id="notices" hx-swap-oob="innerHTML"><p class="banner ok" role="status">The rule is off.</p></div>',
    );
    expect(fx.service.config.rules.find((r) => r.name === 'game')?.enabled).toBe(false);

    fx.model.failNextApply = true;
    const refused = await request('/rules/game/enable', { method: 'POST', headers: hx });
    expect(refused.status).toBe(502);
    const refusedHtml = await refused.text();
    expect(refusedHtml).toContain('aria-label="Turn on game"');
    expect(refusedHtml).toMatch(/role="alert">nft rejected the ruleset: test\. Nothing changed\./);
    expect(fx.service.config.rules.find((r) => r.name === 'game')?.enabled).toBe(false);

    const plain = await panel.postForm('/rules/game/enable', new URLSearchParams({ _csrf: csrf }), {
      cookie,
    });
    expect(plain.status).toBe(303);
    expect(plain.headers.get('location')).toBe('/rules?done=enabled&show=game');
    expect(fx.service.config.rules.find((r) => r.name === 'game')?.enabled).toBe(true);

    const forged = await request('/rules/game/disable', {
      method: 'POST',
      headers: { ...hx, 'x-csrf-token': 'forged' },
    });
    expect(forged.status).toBe(403);
    expect(fx.service.config.rules.find((r) => r.name === 'game')?.enabled).toBe(true);
  });

  it('answers the global switch of a script with the switch in its new state; a refused one changes nothing', async () => {
    const hx = { cookie, origin: ORIGIN, 'hx-request': 'true', 'x-csrf-token': csrf };
    const post = (enabled: 'on' | 'off', headers: Record<string, string> = hx) =>
      request('/switch', {
        method: 'POST',
        body: new URLSearchParams({ enabled }),
        headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
      });
    const off = await post('off');
    expect(off.status).toBe(200);
    const offHtml = await off.text();
    expect(offHtml).toMatch(/^<section class="card switch" id="switch"/);
    expect(offHtml).toContain('Port triggering is off</h2>');
    expect(offHtml).toContain('<input type="hidden" name="enabled" value="on"/>');
    expect(offHtml).toContain('role="status">Port triggering is off.</p>');
    expect(fx.service.config.enabled).toBe(false);

    const file = readFileSync(fx.configPath, 'utf8');
    fx.model.failNextApply = true;
    const refused = await post('on');
    expect(refused.status).toBe(502);
    const refusedHtml = await refused.text();
    expect(refusedHtml).toContain('Port triggering is off</h2>');
    expect(refusedHtml).toMatch(/role="alert">nft rejected the ruleset: test\. Nothing changed\./);
    expect(fx.service.config.enabled).toBe(false);
    expect(readFileSync(fx.configPath, 'utf8')).toBe(file);

    const plain = await post('on', { cookie, origin: ORIGIN });
    expect(plain.status).toBe(403);
    const withToken = await request('/switch', {
      method: 'POST',
      body: new URLSearchParams({ _csrf: csrf, enabled: 'on' }),
      headers: { cookie, origin: ORIGIN, 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(withToken.status).toBe(303);
    expect(withToken.headers.get('location')).toBe('/?done=switched-on');
    expect(fx.service.config.enabled).toBe(true);
  });
});
