// P11 in the browser: page load to every panel drawn. Run by bench/dashboard.sh.
//
//   node bench/dashboard_load.mjs URL ROUNDS [BUDGET_S]
//
// Opens URL (the dashboard, with its view in the query) in Debian's headless chromium through
// playwright-core (.cache/browser, as the browser test does), ROUNDS times, each in a new browser
// context (so nothing is cached: page, assets and API answers are fetched again), after one
// warm-up round that is not counted. A round's time is from navigation start (the page's
// performance.timeOrigin) to window.sensorpipe.ready resolving: every panel has drawn its first
// answer (app.js stamps window.sensorpipe.readyMs there). Stops early, after at least 5 rounds,
// once BUDGET_S seconds (default 600) have gone, and says how many rounds it ran.
// Prints one JSON object on stdout: medians and p95 of the ready time, of the last /api answer's
// arrival (the rest is the page's own work), the bytes of the API answers, and what each panel
// showed (its state and how many series), so a number that comes from a page that could not draw
// is seen as such.
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '../.cache/browser/node_modules/'));
const { chromium } = require('playwright-core');

const [url, roundsArg, budgetArg] = process.argv.slice(2);
if (!url || !roundsArg) {
  console.error('usage: dashboard_load.mjs URL ROUNDS [BUDGET_S]');
  process.exit(2);
}
const rounds = Number(roundsArg);
const budgetMs = Number(budgetArg || 600) * 1000;
const READY_TIMEOUT_MS = 180e3;

const median = (xs) => {
  const a = [...xs].sort((x, y) => x - y);
  const n = a.length;
  return n === 0 ? null : n % 2 ? a[(n - 1) / 2] : (a[n / 2 - 1] + a[n / 2]) / 2;
};
// The same p95 as bench/dashboard.sh: the ceil(0.95 n)-th smallest.
const p95 = (xs) => {
  const a = [...xs].sort((x, y) => x - y);
  return a.length === 0 ? null : a[Math.min(a.length, Math.ceil(a.length * 0.95)) - 1];
};
const round1 = (x) => (x == null ? null : Math.round(x * 10) / 10);

async function once(browser) {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, timezoneId: 'UTC' });
  const page = await context.newPage();
  const errors = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  try {
    await page.goto(url, { waitUntil: 'commit' });
    await page.waitForFunction(() => window.sensorpipe && window.sensorpipe.readyMs != null, null,
      { timeout: READY_TIMEOUT_MS, polling: 50 });
    return await page.evaluate(() => {
      // What the page fetched before it was ready (not the next /metrics scrape, 5 s on).
      const api = performance.getEntriesByType('resource')
        .filter((e) => /\/api\/|\/metrics/.test(e.name) && e.responseEnd <= window.sensorpipe.readyMs);
      return {
        ready_ms: window.sensorpipe.readyMs,
        api_done_ms: api.reduce((a, e) => Math.max(a, e.responseEnd), 0),
        api_requests: api.length,
        api_bytes: api.reduce((a, e) => a + (e.encodedBodySize || 0), 0),
        refresh_ms: window.sensorpipe.lastRefreshMs,
        panels: Object.fromEntries(Object.entries(window.sensorpipe.panels).map(([id, p]) => [id,
          { state: p.state, series: (p.series || []).length, ...(p.message ? { message: p.message } : {}) }])),
      };
    }).then((r) => Object.assign(r, { errors }));
  } catch (e) {
    return { error: String(e.message || e).split('\n')[0], errors };
  } finally {
    await context.close();
  }
}

const browser = await chromium.launch({
  executablePath: process.env.SP_CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-dev-shm-usage'],
});
const out = { url, browser: browser.version(), rounds_asked: rounds };
try {
  const warm = await once(browser);
  out.warmup_ms = round1(warm.ready_ms);
  const runs = [];
  const t0 = Date.now();
  for (let i = 0; i < rounds; i++) {
    if (i >= 5 && Date.now() - t0 > budgetMs) break;
    const r = await once(browser);
    runs.push(r);
    if (r.error) break;  // a page that did not get ready in 3 minutes: no point in more rounds
  }
  const ok = runs.filter((r) => !r.error);
  const ready = ok.map((r) => r.ready_ms);
  const api = ok.map((r) => r.api_done_ms);
  const last = ok.length ? ok[ok.length - 1] : warm;
  Object.assign(out, {
    rounds: runs.length,
    failed: runs.filter((r) => r.error).map((r) => r.error),
    ready_ms: { median: round1(median(ready)), p95: round1(p95(ready)), min: round1(Math.min(...ready)), max: round1(Math.max(...ready)),
      all: ready.map(round1) },
    api_done_ms: { median: round1(median(api)), p95: round1(p95(api)) },
    api_requests: last.api_requests,
    api_bytes: last.api_bytes,
    panels: last.panels,
    console_errors: [...new Set(runs.flatMap((r) => r.errors))].slice(0, 5),
  });
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
process.exit(out.rounds > 0 && out.failed.length === 0 ? 0 : 1);
