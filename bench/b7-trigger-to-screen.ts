import type dgram from 'node:dgram';
import { existsSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { type Browser, chromium, type Page } from 'playwright-core';
import { measurePanelSizes, PANEL_SIZE_METHOD } from './b7-panel-size.js';
import type { BenchContext } from './lib/context.js';
import { NamespaceHelper } from './lib/helpers.js';
import { createBenchNetwork } from './lib/lab.js';
import { newPart, type PartResult, type Row } from './lib/results.js';
import { type BenchService, type StreamedEvent, startBenchService, streamEvents } from './lib/service.js';
import { summarize } from './lib/stats.js';

/** Debian's Chromium; the bench never downloads a browser. */
const CHROMIUM = '/usr/bin/chromium';
/** A `remote: contacted` rule: each trigger to another WAN address is a new entry, so a new row. */
const SCREEN = { rule: 'screen', trigger: 6500, open: 7500 } as const;
/** The rule the toggle measurement turns off and on. */
const TOGGLE = { rule: 'toggle', trigger: 6600, open: 7600 } as const;
const ROW_GOAL_MS = 300;
const TOGGLE_GOAL_MS = 100;
/** How long one row, event or toggle is waited for before it counts as missed. */
const WAIT_LIMIT_MS = 10_000;

function remote(i: number): string {
  return `203.0.113.${100 + i}`;
}

function rawB7Config(): Record<string, unknown> {
  return {
    interfaces: { lan: ['br-lan'], wan: ['wan0'] },
    mode: 'standalone',
    ipv6: false,
    rules: [
      {
        name: SCREEN.rule,
        family: 'ipv4',
        trigger: [{ protocol: 'udp', ports: String(SCREEN.trigger) }],
        open: [{ protocol: 'udp', ports: String(SCREEN.open) }],
        remote: 'contacted',
        idleTimeout: 600,
      },
      {
        name: TOGGLE.rule,
        family: 'ipv4',
        trigger: [{ protocol: 'udp', ports: String(TOGGLE.trigger) }],
        open: [{ protocol: 'udp', ports: String(TOGGLE.open) }],
        idleTimeout: 600,
      },
    ],
  };
}

function send(socket: dgram.Socket, port: number, address: string): Promise<void> {
  return new Promise((resolve, reject) =>
    socket.send('trigger', port, address, (error) => (error ? reject(error) : resolve())),
  );
}

/** The p-th percentile (nearest rank) of samples. */
function percentile(samples: readonly number[], p: number): number | undefined {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((sorted.length * p) / 100) - 1))];
}

/**
 * Installed in every page before its own scripts (browser code, as text: the bench compiles without the DOM's
 * types): notes, on the browser's wall clock, the first frame in which a table cell that is a WAN address is on the
 * screen (`ptRows`), and every frame in which the toggle rule's switch shows a new state (`ptToggle`). A
 * mutation is seen when the DOM changes; the time kept is that of the next animation frame, when it is painted.
 */
function screenWatcher(toggleRule: string): string {
  return `(() => {
  const rule = ${JSON.stringify(toggleRule)};
  window.ptRows = {};
  window.ptToggle = [];
  let last = '';
  const look = () => {
    const seen = [];
    for (const cell of document.querySelectorAll('tr > td')) {
      const text = (cell.textContent || '').trim();
      if (/^203\\.0\\.113\\.\\d+$/.test(text) && window.ptRows[text] === undefined) seen.push(text);
    }
    let state = '';
    for (const button of document.querySelectorAll('button')) {
      const label = button.getAttribute('aria-label') || '';
      if (label === 'Turn on ' + rule) state = 'off';
      if (label === 'Turn off ' + rule) state = 'on';
    }
    const changed = state !== '' && state !== last;
    if (changed) last = state;
    if (seen.length === 0 && !changed) return;
    requestAnimationFrame(() => {
      const at = Date.now();
      for (const r of seen) if (window.ptRows[r] === undefined) window.ptRows[r] = at;
      if (changed) window.ptToggle.push({ state, at });
    });
  };
  const start = () => {
    new MutationObserver(look).observe(document, {
      childList: true,
      subtree: true,
      attributes: true,
      attributeFilter: ['aria-label'],
    });
    look();
  };
  start();
})();`;
}

async function signIn(page: Page, origin: string, token: string): Promise<void> {
  await page.goto(`${origin}/sign-in`);
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
}

/** When the screen showed the row of `address`, or undefined when it did not within the limit. */
async function rowShownAt(page: Page, address: string): Promise<number | undefined> {
  try {
    const handle = await page.waitForFunction(
      (a) => (globalThis as unknown as { ptRows: Record<string, number> }).ptRows[a],
      address,
      { timeout: WAIT_LIMIT_MS, polling: 20 },
    );
    return (await handle.jsonValue()) as number;
  } catch {
    return undefined;
  }
}

/**
 * B7: how long after a trigger packet an open panel page shows its row, beside the service's own `opened` event
 * on the API's event stream in the same run; and how long after the service answers a toggle the rules page
 * shows it as done. Debian's Chromium through playwright-core, the real service, real packets.
 */
export async function runB7(ctx: BenchContext): Promise<PartResult> {
  const part = newPart('b7', 'B7 trigger to screen');
  const started = Date.now();
  const { triggers, toggles } = ctx.plan.b7;
  part.method.push(
    `The service (\`node dist/main/daemon.js --netns ROUTER\`) runs in a virtual network with a \`remote: contacted\` rule; Debian's Chromium (${CHROMIUM}, headless, through playwright-core) is signed in to the panel with the live table open. lan1 sends one UDP trigger to each of ${triggers} addresses on the WAN segment, one at a time (each a new entry, so a new row). A script installed in the page before its own notes the first animation frame in which a table row names the address (a MutationObserver, then \`requestAnimationFrame\`); the time from the send to that frame is the figure. Baseline: the time from the same send to the arrival of its \`opened\` event on the API's \`GET /events/stream\` in this process, so the ratio is the panel's own delay on top of the service's. Both clocks are the machine's wall clock.`,
    `Toggle: on the rules page the switch of a rule is clicked ${toggles} times (off, on, …). The service's answer is the end of the response to the switch's request as the browser received it (playwright's request timing); the figure is the time from it to the first frame that shows the rule's new state. Baseline: the same change through the REST API (\`POST /api/v1/rules/{name}/disable\` and \`/enable\`) from this process, call to reply.`,
    PANEL_SIZE_METHOD,
  );
  if (!existsSync(CHROMIUM)) {
    part.status = 'skipped';
    part.reason = `${CHROMIUM} is missing (bash scripts/ensure-deps.sh installs it)`;
    return part;
  }
  const bn = await createBenchNetwork(ctx, 'b7', { rps: false, sinks: false });
  const sockets: dgram.Socket[] = [];
  let browser: Browser | undefined;
  let stream: ReturnType<typeof streamEvents> | undefined;
  try {
    const service = await startBenchService(ctx, bn.net.namespaces.router, rawB7Config(), 'b7');
    const origin = new URL(service.baseUrl).origin;
    const events: StreamedEvent[] = [];
    stream = streamEvents(service, (e) => events.push(e));
    await stream.ready;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    const closeBrowser = ctx.defer('chromium', () => browser?.close());
    const context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
    await context.addInitScript({ content: screenWatcher(TOGGLE.rule) });
    const page = await context.newPage();
    await signIn(page, origin, service.token);
    await page.goto(`${origin}/table`);
    await page.getByRole('heading', { name: 'Live trigger table' }).waitFor();

    const lan = await NamespaceHelper.start(ctx, bn.net.namespaces.lan1);
    const trigger = await lan.udp(0);
    sockets.push(trigger);
    trigger.on('error', () => undefined);

    // ---- trigger → row on the screen ----
    const onScreen: number[] = [];
    const onStream: number[] = [];
    // Per trigger, the row's time after the event's: what the panel adds to the service's own delay.
    const panelOwn: number[] = [];
    let missedRows = 0;
    let missedEvents = 0;
    for (let i = 0; i < triggers; i++) {
      const to = remote(i);
      const sentAt = Date.now();
      await send(trigger, SCREEN.trigger, to);
      const shownAt = await rowShownAt(page, to);
      const event = events.find(
        (e) => e.type === 'opened' && e.data['rule'] === SCREEN.rule && e.data['remote'] === to,
      );
      if (shownAt !== undefined) onScreen.push(shownAt - sentAt);
      else missedRows++;
      if (event) onStream.push(event.receivedAt - sentAt);
      else missedEvents++;
      if (shownAt !== undefined && event) panelOwn.push(shownAt - event.receivedAt);
      if (i === 2 && onScreen.length === 0) {
        throw new Error(
          `no row appeared for the first triggers (events seen: ${events.map((e) => e.type).join(', ') || 'none'}; service: ${service.stderr().trim().split('\n').slice(-2).join(' / ')})`,
        );
      }
      await delay(50);
    }
    const p99 = percentile(onScreen, 99);
    const p50 = percentile(onScreen, 50);
    const streamP99 = percentile(onStream, 99);
    const screen = summarize(onScreen);
    const baseline = summarize(onStream);
    const rowRow: Row = {
      id: 'trigger-to-row',
      group: 'B7 trigger → row on the screen',
      label: `time from a trigger to its row in an open live table, ${onScreen.length} triggers`,
      unit: 'ms',
      better: 'lower',
      baselineLabel: 'the same trigger to its `opened` event on the API event stream',
      baseline,
      value: screen,
      ratio: screen && baseline && baseline.median > 0 ? screen.median / baseline.median : undefined,
      goal: {
        text: `p99 ≤ ${ROW_GOAL_MS} ms`,
        met: p99 !== undefined && missedRows === 0 ? p99 <= ROW_GOAL_MS : false,
        ...(p99 !== undefined ? { compared: { statistic: 'p99', value: p99 } } : {}),
      },
      note: `p50 ${p50?.toFixed(0) ?? '?'} ms, p99 ${p99?.toFixed(0) ?? '?'} ms (event stream: p99 ${streamP99?.toFixed(0) ?? '?'} ms; the row after its event: p50 ${percentile(panelOwn, 50)?.toFixed(0) ?? '?'} ms, p99 ${percentile(panelOwn, 99)?.toFixed(0) ?? '?'} ms)${missedRows > 0 ? `; ${missedRows} row(s) did not appear within ${WAIT_LIMIT_MS / 1000} s` : ''}${missedEvents > 0 ? `; ${missedEvents} event(s) did not arrive` : ''}`,
      extra: {
        p50,
        p99,
        streamP99,
        rowAfterEventP50: percentile(panelOwn, 50),
        rowAfterEventP99: percentile(panelOwn, 99),
        rowAfterEvent: summarize(panelOwn),
      },
    };
    part.rows.push(rowRow);
    ctx.log(
      `  trigger → row: p50 ${p50?.toFixed(0)} ms, p99 ${p99?.toFixed(0)} ms; row after event p99 ${percentile(panelOwn, 99)?.toFixed(0)} ms; ${missedRows} missed`,
    );

    // ---- toggle → shown as done ----
    part.rows.push(await measureToggle(ctx, page, origin, service, toggles));
    stream.close();
    stream = undefined;
    await service.stop();

    // ---- the panel with 1,000 rules beside the home config ----
    part.rows.push(...(await measurePanelSizes(ctx, bn, browser)));

    await closeBrowser();
    browser = undefined;
  } finally {
    stream?.close();
    for (const s of sockets) s.close();
    await browser?.close();
    await bn.destroy();
    part.durationS = Math.round((Date.now() - started) / 1000);
  }
  return part;
}

async function api(service: BenchService, path: string): Promise<number> {
  const start = performance.now();
  const reply = await fetch(`${service.baseUrl}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${service.token}` },
  });
  await reply.arrayBuffer();
  if (!reply.ok) throw new Error(`POST ${path}: ${reply.status}`);
  return performance.now() - start;
}

/** Clicks the toggle rule's switch `count` times on the rules page and times answer → screen. */
async function measureToggle(
  ctx: BenchContext,
  page: Page,
  origin: string,
  service: BenchService,
  count: number,
): Promise<Row> {
  // The baseline first: the service's own time for the same change.
  const viaApi: number[] = [];
  for (let i = 0; i < count; i++) {
    viaApi.push(await api(service, `/rules/${TOGGLE.rule}/${i % 2 === 0 ? 'disable' : 'enable'}`));
  }
  if (count % 2 === 1) await api(service, `/rules/${TOGGLE.rule}/enable`);

  await page.goto(`${origin}/rules`);
  const afterAnswer: number[] = [];
  const clickToScreen: number[] = [];
  let missed = 0;
  for (let i = 0; i < count; i++) {
    const turningOff = i % 2 === 0;
    const [from, to] = turningOff ? ['Turn off', 'off'] : ['Turn on', 'on'];
    const answered = page.waitForEvent('requestfinished', {
      predicate: (r) => r.method() === 'POST' && /\/rules\/toggle\/(enable|disable)$/.test(r.url()),
      timeout: WAIT_LIMIT_MS,
    });
    const clickedAt = Date.now();
    await page.getByRole('button', { name: `${from} ${TOGGLE.rule}` }).click();
    try {
      const request = await answered;
      const timing = request.timing();
      const answerAt = timing.startTime + timing.responseEnd;
      // A page loaded again starts a new log: the frame wanted is the first in the new state after the click.
      const handle = await page.waitForFunction(
        ({ state, since }) => {
          const log = (globalThis as unknown as { ptToggle?: { state: string; at: number }[] }).ptToggle;
          return log?.find((t) => t.state === state && t.at >= since)?.at;
        },
        { state: to, since: clickedAt },
        { timeout: WAIT_LIMIT_MS, polling: 20 },
      );
      const shownAt = (await handle.jsonValue()) as number;
      afterAnswer.push(shownAt - answerAt);
      clickToScreen.push(shownAt - clickedAt);
    } catch {
      missed++;
    }
  }
  const value = summarize(afterAnswer);
  const baseline = summarize(viaApi);
  const total = summarize(clickToScreen);
  const p99 = percentile(afterAnswer, 99);
  ctx.log(`  toggle: answer → screen median ${value?.median.toFixed(0)} ms; ${missed} missed`);
  return {
    id: 'toggle-to-screen',
    group: 'B7 toggle → shown as done',
    label: `time from the answer to a rule's switch to its new state on the rules page, ${afterAnswer.length} toggles`,
    unit: 'ms',
    better: 'lower',
    baselineLabel: 'the same change through the REST API, call to reply',
    baseline,
    value,
    ratio: total && baseline && baseline.median > 0 ? total.median / baseline.median : undefined,
    goal: {
      text: `p99 ≤ ${TOGGLE_GOAL_MS} ms after the answer`,
      met: p99 !== undefined && missed === 0 ? p99 <= TOGGLE_GOAL_MS : false,
      ...(p99 !== undefined ? { compared: { statistic: 'p99', value: p99 } } : {}),
    },
    note: `ratio: click → screen (median ${total?.median.toFixed(0) ?? '?'} ms) ÷ the REST call; p99 after the answer ${p99?.toFixed(0) ?? '?'} ms${missed > 0 ? `; ${missed} toggle(s) not shown within ${WAIT_LIMIT_MS / 1000} s` : ''}`,
    extra: { clickToScreen: total, p99 },
  };
}
