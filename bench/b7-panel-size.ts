/**
 * B7's second half: the panel with 1,000 rules beside the same actions with a home config (3 rules) in the same
 * run: the rules page until it can be used, a rule's switch, the rule form's save, the overview and the live table.
 */
import type { Browser, BrowserContext, Page, Request } from 'playwright-core';
import type { BenchContext } from './lib/context.js';
import type { BenchNetwork } from './lib/lab.js';
import type { Row } from './lib/results.js';
import { rawConfig } from './lib/rulesets.js';
import { startBenchService } from './lib/service.js';
import { type Summary, summarize } from './lib/stats.js';

/** The size measured and its baseline. */
const BIG_RULES = 1000;
const HOME_RULES = 3;
/** Rules that both configs have (bench/lib/rulesets.ts names them): one is switched, one is edited. */
const SWITCHED = 'filler-1';
const EDITED = 'filler-2';
/** A wait longer than this after the service answered is one a person notices. */
const PERCEPTIBLE_MS = 100;
const WAIT_LIMIT_MS = 30_000;

/** How the size half measures, for the part's method. */
export const PANEL_SIZE_METHOD = `The panel with ${BIG_RULES.toLocaleString('en')} rules (bench/lib/rulesets.ts) against a home config of ${HOME_RULES} rules, each with its own service in the same network and a fresh browser context, the home config first. Page loads (rules page, overview, live table, interleaved): from the navigation's start to the first animation frame after the \`load\` event, when every deferred script (htmx) has processed the page, on the browser's performance clock; the time the whole HTML was received is kept beside it, and \`GET /api/v1/table\` is timed from this process in the same rounds (the kernel read that the overview and the live table wait for). A rule's switch (${SWITCHED}, on the rules page as it opens): from the click to the first frame in which the switch shows its new state (a MutationObserver, then \`requestAnimationFrame\`), split at the end of the switch's response as the browser received it (playwright's request timing) into the service's part and the panel's; every other request the page makes meanwhile is counted. The rule form (${EDITED}): its description changed and saved, from the click on Save to the frame that shows the saved notice, split at the answer to the form's POST.`;

/** Repetitions of each action, per config. */
function repsOf(ctx: BenchContext): { loads: number; toggles: number; edits: number } {
  return ctx.plan.mode === 'quick'
    ? { loads: 4, toggles: 10, edits: 4 }
    : { loads: 10, toggles: 30, edits: 10 };
}

/** Nearest-rank percentile. */
function percentile(samples: readonly number[], p: number): number | undefined {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((sorted.length * p) / 100) - 1))];
}

/**
 * Installed before a page's own scripts (as text: the bench compiles without the DOM's types): notes the first
 * animation frame after the `load` event (every deferred script, htmx among them, has run and processed the page by
 * then), in milliseconds since the navigation started.
 */
const LOAD_WATCHER = `(() => {
  addEventListener('load', () => requestAnimationFrame(() => { window.ptLoadFrame = performance.now(); }));
})();`;

/**
 * Notes (wall clock) every animation frame in which rule `rule`'s switch shows a new state; one attribute lookup
 * per DOM change, so the watcher costs the same with 3 rules or 1,000.
 */
function switchWatcher(rule: string): string {
  return `(() => {
  const on = 'button[aria-label=' + JSON.stringify('Turn off ' + ${JSON.stringify(rule)}) + ']';
  const off = 'button[aria-label=' + JSON.stringify('Turn on ' + ${JSON.stringify(rule)}) + ']';
  window.ptSwitch = [];
  let last = '';
  const look = () => {
    const state = document.querySelector(on) ? 'on' : document.querySelector(off) ? 'off' : '';
    if (state === '' || state === last) return;
    last = state;
    requestAnimationFrame(() => window.ptSwitch.push({ state, at: Date.now() }));
  };
  new MutationObserver(look).observe(document.body, { childList: true, subtree: true, attributes: true, attributeFilter: ['aria-label'] });
  look();
})();`;
}

/** One page load as the browser timed it: milliseconds from the navigation's start. */
interface LoadTiming {
  /** The whole document received. */
  readonly html: number;
  /** The first frame after `load`. */
  readonly ready: number;
  readonly bytes: number;
}

async function timedLoad(page: Page, url: string): Promise<LoadTiming> {
  await page.goto(url, { waitUntil: 'load', timeout: WAIT_LIMIT_MS });
  const handle = await page.waitForFunction(
    () => {
      const w = globalThis as unknown as {
        ptLoadFrame?: number;
        performance: { getEntriesByType(t: string): { responseEnd: number; encodedBodySize: number }[] };
      };
      const nav = w.performance.getEntriesByType('navigation')[0];
      return w.ptLoadFrame !== undefined && nav
        ? { html: nav.responseEnd, ready: w.ptLoadFrame, bytes: nav.encodedBodySize }
        : undefined;
    },
    undefined,
    { timeout: WAIT_LIMIT_MS, polling: 20 },
  );
  return (await handle.jsonValue()) as LoadTiming;
}

/** When the browser had the whole answer to `request` (wall clock, ms). */
function answeredAt(request: Request): number {
  const timing = request.timing();
  return timing.startTime + timing.responseEnd;
}

/** Every figure of one config. */
interface SizeFigures {
  readonly rulesLoad: LoadTiming[];
  readonly overviewLoad: LoadTiming[];
  readonly tableLoad: LoadTiming[];
  /** `GET /api/v1/table`, call to reply: the kernel read that the overview and the live table wait for. */
  readonly tableRest: number[];
  /** Click → switch shown in its new state. */
  readonly toggleTotal: number[];
  /** Click → the switch's answer received (the service's part, with the request). */
  readonly toggleAnswer: number[];
  /** Answer received → shown (the panel's part). */
  readonly toggleAfter: number[];
  /** The same switch through the REST API, call to reply: the service's own time for the change. */
  readonly toggleRest: number[];
  /** Requests the page made per toggle, beyond the switch's own. */
  readonly toggleExtraRequests: number[];
  readonly toggleMissed: number;
  /** Click on Save → the saved notice on the screen. */
  readonly editTotal: number[];
  /** Click → the answer to the form's POST (the save itself). */
  readonly editAnswer: number[];
  readonly editAfter: number[];
}

async function measureSize(
  ctx: BenchContext,
  bn: BenchNetwork,
  browser: Browser,
  rules: number,
): Promise<SizeFigures> {
  const reps = repsOf(ctx);
  const service = await startBenchService(
    ctx,
    bn.net.namespaces.router,
    rawConfig(rules, { family: 'ipv4' }),
    `b7-size-${rules}`,
  );
  let context: BrowserContext | undefined;
  try {
    const origin = new URL(service.baseUrl).origin;
    context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
    await context.addInitScript({ content: LOAD_WATCHER });
    const page = await context.newPage();
    page.setDefaultTimeout(WAIT_LIMIT_MS);
    await page.goto(`${origin}/sign-in`);
    await page.getByLabel('API token').fill(service.token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Overview' }).waitFor();

    const rulesLoad: LoadTiming[] = [];
    const overviewLoad: LoadTiming[] = [];
    const tableLoad: LoadTiming[] = [];
    const tableRest: number[] = [];
    // Interleaved, so that a burst of load elsewhere on the machine falls on every page alike.
    for (let i = 0; i < reps.loads; i++) {
      rulesLoad.push(await timedLoad(page, `${origin}/rules`));
      overviewLoad.push(await timedLoad(page, `${origin}/`));
      tableLoad.push(await timedLoad(page, `${origin}/table`));
      const start = performance.now();
      await service.get('/table');
      tableRest.push(performance.now() - start);
    }

    // ---- a rule's switch: first through the REST API (the service's own time), then in the page ----
    const toggleRest: number[] = [];
    for (let i = 0; i < reps.toggles; i++) {
      const start = performance.now();
      const reply = await fetch(
        `${service.baseUrl}/rules/${SWITCHED}/${i % 2 === 0 ? 'disable' : 'enable'}`,
        {
          method: 'POST',
          headers: { authorization: `Bearer ${service.token}` },
        },
      );
      await reply.arrayBuffer();
      if (!reply.ok) throw new Error(`POST /rules/${SWITCHED}: ${reply.status}`);
      toggleRest.push(performance.now() - start);
    }
    if (reps.toggles % 2 === 1) {
      await fetch(`${service.baseUrl}/rules/${SWITCHED}/enable`, {
        method: 'POST',
        headers: { authorization: `Bearer ${service.token}` },
      });
    }
    await timedLoad(page, `${origin}/rules`);
    await page.evaluate(switchWatcher(SWITCHED));
    const toggleTotal: number[] = [];
    const toggleAnswer: number[] = [];
    const toggleAfter: number[] = [];
    const toggleExtraRequests: number[] = [];
    let toggleMissed = 0;
    const requests: string[] = [];
    page.on('request', (r) => requests.push(`${r.method()} ${new URL(r.url()).pathname}`));
    for (let i = 0; i < reps.toggles; i++) {
      const [from, to] = i % 2 === 0 ? ['Turn off', 'off'] : ['Turn on', 'on'];
      requests.length = 0;
      const answered = page.waitForEvent('requestfinished', {
        predicate: (r) => r.method() === 'POST' && /\/(enable|disable)$/.test(r.url()),
        timeout: WAIT_LIMIT_MS,
      });
      const button = page.getByRole('button', { name: `${from} ${SWITCHED}`, exact: true });
      await button.waitFor();
      const clickedAt = Date.now();
      await button.click();
      try {
        const answerAt = answeredAt(await answered);
        const handle = await page.waitForFunction(
          ({ state, since }) =>
            (globalThis as unknown as { ptSwitch: { state: string; at: number }[] }).ptSwitch.find(
              (t) => t.state === state && t.at >= since,
            )?.at,
          { state: to, since: clickedAt },
          { timeout: WAIT_LIMIT_MS, polling: 20 },
        );
        const shownAt = (await handle.jsonValue()) as number;
        toggleTotal.push(shownAt - clickedAt);
        toggleAnswer.push(answerAt - clickedAt);
        toggleAfter.push(shownAt - answerAt);
        toggleExtraRequests.push(requests.length - 1);
      } catch {
        toggleMissed++;
      }
    }
    page.removeAllListeners('request');

    // ---- the rule form: change the description, save, the saved notice on the rules page ----
    const editTotal: number[] = [];
    const editAnswer: number[] = [];
    const editAfter: number[] = [];
    for (let i = 0; i < reps.edits; i++) {
      await page.goto(`${origin}/rules/${EDITED}/edit`);
      await page.getByLabel('Description (optional)').fill(`edited ${i}`);
      const answered = page.waitForEvent('requestfinished', {
        predicate: (r) => r.method() === 'POST' && r.url().endsWith(`/rules/${EDITED}/edit`),
        timeout: WAIT_LIMIT_MS,
      });
      const clickedAt = Date.now();
      await page.getByRole('button', { name: 'Save rule' }).click();
      const answerAt = answeredAt(await answered);
      const handle = await page.waitForFunction(
        () => {
          const d = globalThis as unknown as {
            document: { querySelector(s: string): { textContent: string | null } | null };
          };
          const text = d.document.querySelector('#notices .banner.ok')?.textContent ?? '';
          return text.startsWith('The rule is saved') ? Date.now() : undefined;
        },
        undefined,
        { timeout: WAIT_LIMIT_MS, polling: 'raf' },
      );
      const shownAt = (await handle.jsonValue()) as number;
      editTotal.push(shownAt - clickedAt);
      editAnswer.push(answerAt - clickedAt);
      editAfter.push(shownAt - answerAt);
    }
    return {
      rulesLoad,
      overviewLoad,
      tableLoad,
      tableRest,
      toggleTotal,
      toggleAnswer,
      toggleAfter,
      toggleRest,
      toggleExtraRequests,
      toggleMissed,
      editTotal,
      editAnswer,
      editAfter,
    };
  } finally {
    await context?.close();
    await service.stop();
  }
}

function fmt(n: number | undefined): string {
  return n === undefined ? '?' : n.toFixed(0);
}

function pcts(samples: readonly number[]): string {
  return `p50 ${fmt(percentile(samples, 50))} ms, p99 ${fmt(percentile(samples, 99))} ms`;
}

function ratioOfMedians(value: Summary | undefined, baseline: Summary | undefined): number | undefined {
  return value && baseline && baseline.median > 0 ? value.median / baseline.median : undefined;
}

const GROUP = `B7 the panel with ${BIG_RULES.toLocaleString('en')} rules`;
const BASELINE = `the same with the home config (${HOME_RULES} rules), same run`;

function loadRow(id: string, what: string, big: LoadTiming[], home: LoadTiming[], besides = ''): Row {
  const value = summarize(big.map((l) => l.ready));
  const baseline = summarize(home.map((l) => l.ready));
  const html = big.map((l) => l.html);
  return {
    id,
    group: GROUP,
    label: `${what}: navigation → first frame after \`load\` (every switch live), ${big.length} loads`,
    unit: 'ms',
    better: 'lower',
    baselineLabel: BASELINE,
    baseline,
    value,
    ratio: ratioOfMedians(value, baseline),
    note: `${pcts(big.map((l) => l.ready))}; the HTML (${Math.round((big[0]?.bytes ?? 0) / 1024)} KB) received after ${pcts(html)}; home: ${pcts(home.map((l) => l.ready))}, ${Math.round((home[0]?.bytes ?? 0) / 1024)} KB${besides}`,
    extra: {
      html: summarize(html),
      homeHtml: summarize(home.map((l) => l.html)),
      bytes: big[0]?.bytes,
      homeBytes: home[0]?.bytes,
    },
  };
}

/** The rows of the big-config half of B7: each figure with 1,000 rules against the home config's. */
export async function measurePanelSizes(
  ctx: BenchContext,
  bn: BenchNetwork,
  browser: Browser,
): Promise<Row[]> {
  const home = await measureSize(ctx, bn, browser, HOME_RULES);
  const big = await measureSize(ctx, bn, browser, BIG_RULES);
  // Both pages wait for the service's read of the kernel's table before their HTML is sent.
  const tableRead = `; \`GET /api/v1/table\` in the same rounds: ${pcts(big.tableRest)} (home ${pcts(home.tableRest)})`;
  const rows: Row[] = [
    loadRow('big-rules-load', 'the rules page', big.rulesLoad, home.rulesLoad),
    loadRow('big-overview-load', 'the overview', big.overviewLoad, home.overviewLoad, tableRead),
    loadRow('big-table-load', 'the live table', big.tableLoad, home.tableLoad, tableRead),
  ];
  const after = summarize(big.toggleAfter);
  const afterP99 = percentile(big.toggleAfter, 99);
  const extra = Math.max(0, ...big.toggleExtraRequests);
  rows.push({
    id: 'big-toggle',
    group: GROUP,
    label: `a rule's switch: the service's answer → the new state on the screen, ${big.toggleAfter.length} toggles`,
    unit: 'ms',
    better: 'lower',
    baselineLabel: BASELINE,
    baseline: summarize(home.toggleAfter),
    value: after,
    ratio: ratioOfMedians(after, summarize(home.toggleAfter)),
    goal: {
      text: `p99 ≤ ${PERCEPTIBLE_MS} ms after the answer`,
      met: afterP99 !== undefined && big.toggleMissed === 0 ? afterP99 <= PERCEPTIBLE_MS : false,
      ...(afterP99 !== undefined ? { compared: { statistic: 'p99', value: afterP99 } } : {}),
    },
    note: `after the answer ${pcts(big.toggleAfter)}; click → answer ${pcts(big.toggleAnswer)} (the REST API's own call: ${pcts(big.toggleRest)}; home ${pcts(home.toggleRest)}); click → shown ${pcts(big.toggleTotal)} (home: ${pcts(home.toggleTotal)}); requests besides the switch's own: at most ${extra}${big.toggleMissed > 0 ? `; ${big.toggleMissed} toggle(s) not shown within ${WAIT_LIMIT_MS / 1000} s` : ''}`,
    extra: {
      clickToScreen: summarize(big.toggleTotal),
      clickToAnswer: summarize(big.toggleAnswer),
      homeClickToScreen: summarize(home.toggleTotal),
      homeClickToAnswer: summarize(home.toggleAnswer),
      rest: summarize(big.toggleRest),
      homeRest: summarize(home.toggleRest),
      p99: afterP99,
      extraRequests: extra,
    },
  });
  const editAfter = summarize(big.editAfter);
  const editP99 = percentile(big.editAfter, 99);
  rows.push({
    id: 'big-edit',
    group: GROUP,
    label: `the rule form: the answer to Save → the saved notice on the rules page, ${big.editAfter.length} saves`,
    unit: 'ms',
    better: 'lower',
    baselineLabel: BASELINE,
    baseline: summarize(home.editAfter),
    value: editAfter,
    ratio: ratioOfMedians(editAfter, summarize(home.editAfter)),
    goal: {
      text: `p99 ≤ ${PERCEPTIBLE_MS} ms after the answer`,
      met: editP99 !== undefined ? editP99 <= PERCEPTIBLE_MS : undefined,
      ...(editP99 !== undefined ? { compared: { statistic: 'p99', value: editP99 } } : {}),
    },
    note: `after the answer ${pcts(big.editAfter)}; click → answer (the save) ${pcts(big.editAnswer)}; click → shown ${pcts(big.editTotal)} (home: ${pcts(home.editTotal)})`,
    extra: {
      clickToScreen: summarize(big.editTotal),
      clickToAnswer: summarize(big.editAnswer),
      homeClickToScreen: summarize(home.editTotal),
      homeClickToAnswer: summarize(home.editAnswer),
      p99: editP99,
    },
  });
  for (const r of rows) ctx.log(`  ${r.id}: ${r.note ?? ''}`);
  return rows;
}
