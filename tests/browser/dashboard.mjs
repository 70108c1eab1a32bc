// The dashboard in headless Chromium (Debian's chromium, driven by playwright-core from npm;
// scripts/fetch-test-tools.sh installs it in .cache/browser). Run by tests/dashboard_test.cc against
// a real daemon holding the seed's day:
//
//   node tests/browser/dashboard.mjs BASE_URL OUT_DIR EXPECTATIONS_JSON
//
// EXPECTATIONS_JSON: {"from": ISO, "to": ISO, "device": id, "token": [http] token,
//   "live_reading": {...a message inside [from, to)...}, "live_deadline_ms": 10000}
// Checks: the page loads with no console errors and no request leaving 127.0.0.1; it is ready when
// every panel has drawn, the pipeline panel from one /metrics scrape with its rate still measuring
// (the rate comes with the second scrape and is checked then); every panel plots
// exactly what the API answers for the same parameters; the browser's zone is the default; UTC ->
// Asia/Seoul shifts the hour labels by +9 h; live mode shows a reading POSTed to /v1/ingest within
// the deadline; the PNG and CSV downloads work; a narrower window refits every chart; 1,000 devices
// (a stubbed API) still draw every panel on a page a few screens tall; a phone-sized screen has no
// sideways scrolling. Every chart's y-axis labels lie inside its canvas and panel (the text the page
// draws is measured where it is drawn), at desktop and phone widths, for the seed's day and for a
// cold room (-38 °C, 1013.2 hPa in tiny steps, pitch wandering 359 -> 1 -> 359), whose pitch is drawn
// without a plunge across the chart while the legend and CSV show the API's values; the scatter
// gives Pearson r only from 10 buckets up; with no range in the URL, a device that started minutes
// ago fills the time axis and live data is followed, while a range in the URL is honoured.
// Screenshots go to OUT_DIR. Prints one JSON report; exits 0 only when every check passed.
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const source = process.env.SP_SOURCE_DIR || path.resolve(here, '../..');
const require = createRequire(path.join(source, '.cache/browser/node_modules/'));
const { chromium } = require('playwright-core');

const [base, outDir, expectArg] = process.argv.slice(2);
if (!base || !outDir || !expectArg) {
  console.error('usage: dashboard.mjs BASE_URL OUT_DIR EXPECTATIONS_JSON');
  process.exit(2);
}
const want = JSON.parse(expectArg);
fs.mkdirSync(outDir, { recursive: true });

const checks = [];
const report = { checks, screenshots: [], downloads: [] };
function check(name, ok, detail = '') {
  checks.push({ name, ok: !!ok, detail: typeof detail === 'string' ? detail : JSON.stringify(detail) });
  return !!ok;
}
const epochS = (iso) => String(Math.floor(Date.parse(iso) / 1000));
const isoZ = (ms) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function api(p) {
  const res = await fetch(base + p);
  const body = await res.text();
  if (!res.ok) throw new Error(`GET ${p}: ${res.status} ${body.slice(0, 300)}`);
  return JSON.parse(body);
}
function seriesPath(metric, agg, bucket, tz) {
  const q = new URLSearchParams({ metric, agg, bucket, from: epochS(want.from), to: epochS(want.to), tz });
  return `/api/series?${q}`;
}
// The (x, y) pairs of column k of a uPlot data array, skipping gaps.
function pairsOf(data, k) {
  const out = [];
  for (let i = 0; i < data[0].length; i++) if (data[k][i] != null) out.push([data[0][i], data[k][i]]);
  return out;
}
function samePoints(got, wantPts) {
  if (got.length !== wantPts.length) return `${got.length} points plotted, the API has ${wantPts.length}`;
  for (let i = 0; i < got.length; i++) {
    if (got[i][0] !== wantPts[i][0] || got[i][1] !== wantPts[i][1]) {
      return `point ${i}: plotted ${JSON.stringify(got[i])}, the API has ${JSON.stringify(wantPts[i])}`;
    }
  }
  return '';
}
// The query parameters the page sent for one series, without the ones that differ by design.
function paramsOf(url) {
  return Object.fromEntries([...new URL(url, base).searchParams].filter(([k]) => k !== 'device'));
}

// Readings of one device (each with a temperature) through POST /v1/ingest; resolves once
// /api/series counts them all (its buckets are whole days, which may hold earlier readings).
async function ingest(readings) {
  const ts = readings.map((r) => Date.parse(r.timestamp));
  const q = new URLSearchParams({ metric: 'temperature', agg: 'count', bucket: '1d', tz: 'UTC', device: readings[0].client_id,
    from: String(Math.floor(Math.min(...ts) / 1000) - 86400), to: String(Math.floor(Math.max(...ts) / 1000) + 86400) });
  const counted = async () => (await api(`/api/series?${q}`)).series.reduce((n, x) => n + x.points.reduce((m, pt) => m + pt[1], 0), 0);
  const before = await counted();
  const res = await fetch(`${base}/v1/ingest`, {
    method: 'POST', headers: { Authorization: `Bearer ${want.token}`, 'Content-Type': 'application/x-ndjson' },
    body: readings.map((r) => JSON.stringify(r)).join('\n') + '\n',
  });
  const body = await res.text();
  if (!res.ok || JSON.parse(body).accepted !== readings.length) throw new Error(`POST /v1/ingest: ${res.status} ${body}`);
  for (const deadline = Date.now() + 60e3; Date.now() < deadline; await sleep(200)) {
    if (await counted() === before + readings.length) return;
  }
  throw new Error(`${readings.length} readings of ${readings[0].client_id} posted, not all counted after 60 s`);
}

// Records the text each chart draws on its canvas, with its box in canvas pixels, so a test can
// tell whether a label lies inside the canvas (uPlot's labels are canvas text, not elements). A
// clear of the whole canvas starts a new drawing.
function recordChartText() {
  const proto = CanvasRenderingContext2D.prototype;
  const fillText = proto.fillText;
  const clearRect = proto.clearRect;
  proto.clearRect = function (x, y, w, h) {
    if (x <= 0 && y <= 0 && w >= this.canvas.width && h >= this.canvas.height) this.canvas.spTexts = [];
    return clearRect.call(this, x, y, w, h);
  };
  proto.fillText = function (text, x, y, maxWidth) {
    const m = this.measureText(text);
    const t = this.getTransform();
    const corners = [[x - m.actualBoundingBoxLeft, y - m.actualBoundingBoxAscent], [x + m.actualBoundingBoxRight, y - m.actualBoundingBoxAscent],
      [x - m.actualBoundingBoxLeft, y + m.actualBoundingBoxDescent], [x + m.actualBoundingBoxRight, y + m.actualBoundingBoxDescent]]
      .map(([cx, cy]) => [t.a * cx + t.c * cy + t.e, t.b * cx + t.d * cy + t.f]);
    const xs = corners.map((c) => c[0]), ys = corners.map((c) => c[1]);
    (this.canvas.spTexts ||= []).push({ text: String(text), box: [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)],
      // uPlot draws y tick labels with a middle baseline and the y axis's title rotated.
      y: this.textBaseline === 'middle' || t.b !== 0 });
    return fillText.call(this, text, x, y, maxWidth);
  };
}

// Every y-axis label (tick values and titles) of every chart on the page, and those whose box
// leaves their canvas or their panel (half a device pixel of slack for anti-aliasing).
async function yLabels(page) {
  return page.evaluate(() => {
    const charts = [];
    for (const canvas of document.querySelectorAll('.panel .uplot canvas')) {
      const panel = canvas.closest('.panel');
      const c = canvas.getBoundingClientRect();
      const pr = panel.getBoundingClientRect();
      const k = c.width / canvas.width;
      const labels = (canvas.spTexts || []).filter((x) => x.y);
      const out = labels.filter(({ box: [l, t, r, b] }) => l < -0.5 || t < -0.5 || r > canvas.width + 0.5 || b > canvas.height + 0.5 ||
        c.left + l * k < pr.left - 0.5 || c.left + r * k > pr.right + 0.5 || c.top + t * k < pr.top - 0.5 || c.top + b * k > pr.bottom + 0.5);
      charts.push({ panel: panel.dataset.panel, title: (canvas.closest('.uplot').querySelector('.u-title') || {}).textContent || '',
        canvas: [canvas.width, canvas.height], labels: labels.map((x) => x.text),
        out: out.map((x) => ({ text: x.text, box: x.box.map((v) => Math.round(v * 10) / 10) })) });
    }
    return charts;
  });
}
async function checkYLabels(page, label) {
  const charts = await yLabels(page);
  const bad = charts.filter((ch) => ch.out.length > 0 || ch.labels.length === 0);
  report.y_labels = report.y_labels || {};
  report.y_labels[label] = charts.map((ch) => `${ch.panel}${ch.title ? `/${ch.title}` : ''}: ${ch.labels.join(' ')}`);
  check(`${label}: every chart's y-axis labels lie inside its canvas and panel`, charts.length >= 9 && bad.length === 0,
    { charts: charts.length, bad: bad.slice(0, 6) });
  return charts;
}

const hardStop = setTimeout(() => {
  check('finished within 480 s', false);
  finish();
}, 480e3);

let browser;
function finish() {
  clearTimeout(hardStop);
  report.ok = checks.every((c) => c.ok);
  report.failed = checks.filter((c) => !c.ok).map((c) => c.name);
  console.log(JSON.stringify(report, null, 1));
  const done = () => process.exit(report.ok ? 0 : 1);
  if (browser) browser.close().then(done, done);
  else done();
}

// Everything a page does that a test cares about: console errors, failed requests, requests that
// would leave the machine.
function watch(page, label) {
  const seen = { errors: [], outside: [], failed: [], requests: 0 };
  page.on('console', (m) => {
    if (m.type() === 'error') seen.errors.push(`${label}: console: ${m.text()}`);
  });
  page.on('pageerror', (e) => seen.errors.push(`${label}: page error: ${e.message}`));
  page.on('request', (r) => {
    seen.requests++;
    const u = new URL(r.url());
    if (u.protocol === 'data:' || u.protocol === 'blob:') return;
    if (u.hostname !== '127.0.0.1') seen.outside.push(r.url());
  });
  page.on('requestfailed', (r) => {
    // An EventSource closed by the page, or a download, is not a failure of the page.
    const f = r.failure();
    if (f && /ERR_ABORTED/.test(f.errorText)) return;
    seen.failed.push(`${r.url()}: ${f ? f.errorText : '?'}`);
  });
  return seen;
}

// setup(page) runs before the navigation (to route requests).
async function openDashboard(context, query, label, setup = async () => {}) {
  const page = await context.newPage();
  const seen = watch(page, label);
  await setup(page);
  const t0 = Date.now();
  await page.goto(`${base}/${query}`, { waitUntil: 'load' });
  await waitReady(page);
  return { page, seen, loadMs: Date.now() - t0 };
}
// Every panel has drawn its first answer; the pipeline panel's rate may still be measuring.
async function waitReady(page) {
  await page.waitForFunction(() => window.sensorpipe && window.sensorpipe.ready);
  await page.evaluate(() => window.sensorpipe.ready);
}
// The pipeline panel's rate: it needs a second scrape of /metrics, 5 s after the first.
async function waitRate(page) {
  await page.waitForFunction(() => window.sensorpipe.panels.pipeline.data && window.sensorpipe.panels.pipeline.data[0].length > 0,
    null, { timeout: 20000 });
}
const panelsOf = (page) => page.evaluate(() => JSON.parse(JSON.stringify(window.sensorpipe.panels)));
async function waitForRefresh(page, since) {
  await page.waitForFunction((g) => window.sensorpipe.generation > g && document.documentElement.dataset.ready === '1', since,
    { timeout: 20000 });
}

async function comparePanels(page, tz) {
  const panels = await panelsOf(page);
  const device = want.device;
  for (const [id, metrics] of [['temperature', ['temperature']], ['humidity', ['humidity']], ['pressure', ['pressure']],
    ['orientation', ['pitch', 'roll', 'yaw']]]) {
    const p = panels[id];
    if (!check(`${id} (${tz}): drawn`, p && p.state === 'ok', p && p.message)) continue;
    const problems = [];
    for (const metric of metrics) {
      const pathWant = seriesPath(metric, 'avg', 'auto', tz);
      const answer = await api(pathWant);
      const sent = p.query.find((u) => new URL(u, base).searchParams.get('metric') === metric);
      const expectedParams = paramsOf(pathWant);
      if (!sent || JSON.stringify(paramsOf(sent)) !== JSON.stringify(expectedParams)) {
        problems.push(`${metric}: the page asked ${sent}, expected the parameters of ${pathWant}`);
      }
      for (const s of answer.series) {
        const k = p.series.findIndex((x) => x.metric === metric && x.device === s.device);
        if (k < 0) {
          problems.push(`${metric}/${s.device}: not plotted`);
          continue;
        }
        const diff = samePoints(pairsOf(p.data, k + 1), s.points);
        if (diff) problems.push(`${metric}/${s.device}: ${diff}`);
      }
      if (!answer.series.some((s) => s.device === device)) problems.push(`${metric}: the API has no series for ${device}`);
      if (p.bucket_s !== answer.bucket_s) problems.push(`bucket ${p.bucket_s} s, the API chose ${answer.bucket_s} s`);
    }
    check(`${id} (${tz}): plots exactly what /api/series answers`, problems.length === 0, problems.slice(0, 5).join('; '));
  }
  for (const metric of ['temperature', 'humidity']) {
    const id = `${metric}_hourly`;
    const p = panels[id];
    if (!check(`${id} (${tz}): drawn`, p && p.state === 'ok', p && p.message)) continue;
    const avg = await api(seriesPath(metric, 'avg', '1h', tz));
    const count = await api(seriesPath(metric, 'count', '1h', tz));
    const devices = await api('/api/devices');
    const problems = [];
    for (const s of avg.series) {
      const k = p.series.findIndex((x) => x.device === s.device);
      if (k < 0) {
        problems.push(`${s.device}: not plotted`);
        continue;
      }
      const diff = samePoints(pairsOf(p.data, k + 1), s.points);
      if (diff) problems.push(`${s.device} avg: ${diff}`);
      const c = count.series.find((x) => x.device === s.device);
      const cm = new Map(c ? c.points : []);
      const d = devices.devices.find((x) => x.device === s.device);
      p.data[0].forEach((t, i) => {
        const n = cm.get(t) || 0;
        if (p.counts[k][i] !== n) problems.push(`${s.device} ${new Date(t).toISOString()}: ${p.counts[k][i]} readings shown, ${n} counted`);
        const half = n < 0.9 * (3600 / d.interval_s);
        if (p.flagged[k][i] !== half) problems.push(`${s.device} ${new Date(t).toISOString()}: half-empty ${p.flagged[k][i]}, expected ${half}`);
      });
    }
    if (avg.bucket_s !== 3600) problems.push(`bucket_s ${avg.bucket_s}`);
    check(`${id} (${tz}): bars, readings per hour and half-empty flags match the API`, problems.length === 0, problems.slice(0, 5).join('; '));
  }
  {
    const p = panels.scatter;
    if (check(`scatter (${tz}): drawn`, p && p.state === 'ok', p && p.message)) {
      const t = await api(seriesPath('temperature', 'avg', 'auto', tz));
      const h = await api(seriesPath('humidity', 'avg', 'auto', tz));
      const pairs = [];
      for (const ts of t.series) {
        const hm = new Map((h.series.find((x) => x.device === ts.device) || { points: [] }).points);
        for (const [time, v] of ts.points) if (hm.has(time)) pairs.push({ device: ts.device, t: time, temperature: v, humidity: hm.get(time) });
      }
      const n = pairs.length;
      const mx = pairs.reduce((a, q) => a + q.temperature, 0) / n;
      const my = pairs.reduce((a, q) => a + q.humidity, 0) / n;
      let sxx = 0, syy = 0, sxy = 0;
      for (const q of pairs) {
        sxx += (q.temperature - mx) ** 2;
        syy += (q.humidity - my) ** 2;
        sxy += (q.temperature - mx) * (q.humidity - my);
      }
      const r = sxy / Math.sqrt(sxx * syy);
      const slope = sxy / sxx;
      const plotted = p.data.slice(1, 1 + p.series.filter((s) => s.device).length).reduce((a, d) => a + d[0].length, 0);
      check(`scatter (${tz}): the same-bucket pairs of /api/series`, JSON.stringify(p.pairs) === JSON.stringify(pairs) && plotted === n,
        `${p.pairs.length} pairs shown (${plotted} dots), ${n} from the API`);
      check(`scatter (${tz}): Pearson r and the least-squares line`, Math.abs(p.r - r) < 1e-9 && Math.abs(p.slope - slope) < 1e-9,
        `page r=${p.r} slope=${p.slope}; recomputed r=${r} slope=${slope}`);
      report.pearson_r = p.r;
    }
  }
  {
    const p = panels.devices;
    const d = await api('/api/devices');
    const shown = (p.data || []).map((x) => [x.device, x.readings, x.interval_s, x.silent]);
    const api_ = d.devices.map((x) => [x.device, x.readings, x.interval_s, x.silent]);
    check(`devices (${tz}): the devices of /api/devices`, p.state === 'ok' && JSON.stringify(shown) === JSON.stringify(api_),
      { shown, api: api_ });
  }
  return panels;
}

try {
  browser = await chromium.launch({
    executablePath: process.env.SP_CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-dev-shm-usage'],
  });
  report.browser = browser.version();

  // What the server sends: the page, its assets with types and caching, 404 for anything else.
  {
    const problems = [];
    const page = await fetch(`${base}/`);
    const html = await page.text();
    if (page.status !== 200 || !/^text\/html/.test(page.headers.get('content-type'))) problems.push(`/: ${page.status} ${page.headers.get('content-type')}`);
    if (!/default-src 'self'/.test(page.headers.get('content-security-policy') || '')) problems.push('/: no Content-Security-Policy');
    const refs = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]);
    const css = await (await fetch(`${base}/assets/app.css`)).text();
    refs.push(...[...css.matchAll(/url\("([^"]+)"\)/g)].map((m) => `/assets/${m[1]}`));
    const types = { js: 'text/javascript', css: 'text/css', woff2: 'font/woff2' };
    for (const ref of refs) {
      const res = await fetch(base + ref);
      const body = Buffer.from(await res.arrayBuffer());
      const type = types[ref.split('.').pop()];
      if (res.status !== 200 || !(res.headers.get('content-type') || '').startsWith(type) || body.length === 0) {
        problems.push(`${ref}: ${res.status} ${res.headers.get('content-type')} ${body.length} bytes`);
      }
      const etag = res.headers.get('etag');
      if (!etag || res.headers.get('cache-control') !== 'no-cache') problems.push(`${ref}: etag ${etag}, cache-control ${res.headers.get('cache-control')}`);
      const again = await fetch(base + ref, { headers: { 'If-None-Match': etag } });
      if (again.status !== 304) problems.push(`${ref} with its ETag: ${again.status}, not 304`);
    }
    const missing = await fetch(`${base}/assets/no-such-file.js`);
    if (missing.status !== 404) problems.push(`/assets/no-such-file.js: ${missing.status}`);
    check('the page and its assets are served from the daemon', problems.length === 0 && refs.length >= 6, problems.join('; ') || refs.join(' '));
  }

  // A cold room an hour long, a reading a minute: negative temperatures, humidity near 100 %,
  // pressure moving in thousandths (labels of many digits), pitch wandering 359 -> 1 -> 359. It ends
  // before the seed's day starts and within the rollup's day of minutes behind the seed's last
  // reading, so the seed's day is still answered from the rollup as before.
  const coldFrom = Date.parse('2022-07-13T12:00:00Z');
  const r3 = (v) => Math.round(v * 1000) / 1000;
  const mod360 = (v) => ((v % 360) + 360) % 360;
  const cold = Array.from({ length: 60 }, (_, i) => ({
    client_id: 'coldroom', timestamp: isoZ(coldFrom + 30e3 + i * 60e3), temperature: r3(-38.2 - 0.35 * Math.sin(i / 9)),
    humidity: r3(99.93 + 0.04 * Math.cos(i / 7)), pressure: r3(1013.22 + 0.015 * Math.sin(i / 11)),
    pitch: r3(mod360(-1 + 2 * (1 - Math.abs(i - 30) / 30))), roll: r3(mod360(0.4 * Math.sin(i / 6))),
    yaw: r3(181.5 + 0.3 * Math.sin(i / 8)), count: i,
  }));
  await ingest(cold);
  const coldQuery = (minutes) => `?range=custom&from=${encodeURIComponent(isoZ(coldFrom))}&to=${encodeURIComponent(isoZ(coldFrom + minutes * 60e3))}` +
    '&tz=UTC&device=coldroom';

  // Desktop, UTC first: the seed's hours as UTC.
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, timezoneId: 'America/New_York', acceptDownloads: true });
  await context.addInitScript(recordChartText);
  const query = `?range=custom&from=${encodeURIComponent(want.from)}&to=${encodeURIComponent(want.to)}&tz=UTC`;
  // The second /metrics scrape (the first with a rate) is held back until the page has been
  // checked at ready, so "ready does not wait for the rate" does not depend on timing.
  let releaseScrapes;
  const scrapesHeld = new Promise((r) => { releaseScrapes = r; });
  let scrapes = 0;
  const { page, seen, loadMs } = await openDashboard(context, query, 'desktop', (pg) => pg.route('**/metrics', async (route) => {
    if (++scrapes > 1) await scrapesHeld;
    await route.continue();
  }));
  report.page_load_to_ready_ms = loadMs;
  report.ready_ms = await page.evaluate(() => window.sensorpipe.readyMs);
  report.first_refresh_ms = await page.evaluate(() => window.sensorpipe.lastRefreshMs);
  {
    const atReady = await page.evaluate(() => ({
      pipeline: JSON.parse(JSON.stringify(window.sensorpipe.panels.pipeline)),
      rateTile: document.querySelector('[data-panel="pipeline"] .tile .v').textContent,
      placeholder: (document.querySelector('[data-panel="pipeline"] .rate-chart') || {}).textContent,
      states: Object.fromEntries(Object.entries(window.sensorpipe.panels).map(([k, v]) => [k, v.state])),
    }));
    const h = atReady.pipeline.health || {};
    check('ready: every panel drawn, the pipeline panel from its first scrape alone',
      Object.values(atReady.states).every((st) => st === 'ok') && h.received_total > 0 && h.lag && h.lag.length > 0 &&
        h.raw_files + h.compacted_files > 0 && h.lake_bytes > 0 && h.rejected && h.rejected.malformed_json === 1,
      { states: atReady.states, health: h });
    check('ready: the rate reads "measuring…" until the second scrape', h.messages_per_second === null &&
      atReady.pipeline.data[0].length === 0 && /^—\s*measuring…$/.test(atReady.rateTile.trim()) && /measuring/.test(atReady.placeholder),
      { tile: atReady.rateTile, chart: atReady.placeholder, rate: h.messages_per_second });
    await page.screenshot({ path: path.join(outDir, 'desktop-ready.png'), fullPage: true });
    report.screenshots.push('desktop-ready.png');
  }
  releaseScrapes();
  const rateFrom = Date.now();
  await waitRate(page);
  report.rate_after_ready_ms = Date.now() - rateFrom;
  const utc = await comparePanels(page, 'UTC');
  {
    const p = utc.pipeline;
    const text = await (await fetch(`${base}/metrics`)).text();
    const rejected = {};
    for (const m of text.matchAll(/^sensorpipe_messages_rejected_total\{reason="([^"]+)"\} (\S+)$/gm)) rejected[m[1]] = Number(m[2]);
    const h = p.health || {};
    check('pipeline: rejected by reason as /metrics says', JSON.stringify(h.rejected) === JSON.stringify(rejected), { shown: h.rejected, metrics: rejected });
    check('pipeline: messages per second, lag, lake objects and disk shown',
      h.messages_per_second != null && h.lag && h.lag.length > 0 && h.raw_files + h.compacted_files > 0 && h.lake_bytes > 0,
      h);
  }
  await checkYLabels(page, 'desktop, seed day');
  await page.screenshot({ path: path.join(outDir, 'desktop-utc.png'), fullPage: true });
  report.screenshots.push('desktop-utc.png');

  // Zone: UTC -> Asia/Seoul moves every hour label by +9 h over the same instants.
  {
    const before = utc.temperature_hourly;
    const g = await page.evaluate(() => window.sensorpipe.generation);
    await page.selectOption('#tz', 'Asia/Seoul');
    await waitForRefresh(page, g);
    const seoul = await comparePanels(page, 'Asia/Seoul');
    const after = seoul.temperature_hourly;
    const hour = (l) => Number(l.split(':')[0]);
    const shifted = before.labels.length > 0 && before.labels.length === after.labels.length &&
      before.data[0].every((t, i) => t === after.data[0][i] && hour(after.labels[i]) === (hour(before.labels[i]) + 9) % 24);
    check('time zone UTC -> Asia/Seoul shifts the hour labels by +9 h', shifted, { utc: before.labels.slice(0, 4), seoul: after.labels.slice(0, 4) });
    const firstTick = (p) => (p.ticks && p.ticks.length ? hour(p.ticks[0]) : null);
    const lineTicks = [utc.temperature, seoul.temperature].map(firstTick);
    check('time axes are labelled in the chosen zone', lineTicks[0] != null && lineTicks[1] != null &&
      (lineTicks[1] - lineTicks[0] + 24) % 24 >= 8 && (lineTicks[1] - lineTicks[0] + 24) % 24 <= 10, { utc: utc.temperature.ticks, seoul: seoul.temperature.ticks });
    check('the zone is kept in the URL', new URL(page.url()).searchParams.get('tz') === 'Asia/Seoul', page.url());
    await page.screenshot({ path: path.join(outDir, 'desktop.png'), fullPage: true });
    report.screenshots.push('desktop.png');
  }

  // Downloads: every chart as PNG, every panel's data as CSV.
  {
    const panels = await panelsOf(page);
    let onThisPage = 0;
    for (const id of Object.keys(panels)) {
      const card = page.locator(`[data-panel="${id}"]`);
      for (const kind of ['png', 'csv']) {
        const button = card.locator(`button.${kind}`);
        if (kind === 'png' && id === 'devices') {  // a table, not a chart
          check('devices: no PNG offered for the table', (await button.count()) === 0);
          continue;
        }
        if (await button.isDisabled()) {
          check(`${id}: ${kind} download offered`, false, 'button disabled');
          continue;
        }
        // Chromium refuses the 11th download from one page without a navigation in between.
        if (++onThisPage > 10) {
          await page.reload();
          await waitReady(page);
          await waitRate(page);  // the pipeline's PNG is its rate chart
          onThisPage = 1;
        }
        const [download] = await Promise.all([page.waitForEvent('download', { timeout: 15000 }), button.click()]);
        const file = path.join(outDir, download.suggestedFilename());
        await download.saveAs(file);
        const bytes = fs.readFileSync(file);
        report.downloads.push(path.basename(file));
        if (kind === 'png') {
          const sig = bytes.subarray(0, 8).toString('hex');
          check(`${id}: PNG download`, sig === '89504e470d0a1a0a' && bytes.length > 2000 && file.endsWith('.png'), `${path.basename(file)}: ${bytes.length} bytes, ${sig}`);
        } else {
          const lines = bytes.toString('utf8').split('\r\n').filter((l) => l !== '');
          const p = panels[id];
          // Line charts hold a null row where the readings stop (a gap marker): not a CSV row.
          const rows = id === 'scatter' ? p.pairs.length : id === 'devices' ? p.data.length :
            p.data[0].filter((t, i) => p.data.slice(1).some((col) => col[i] != null)).length;
          const header = { temperature_hourly: /^hour,/, humidity_hourly: /^hour,/, scatter: /^device,bucket,temperature/, devices: /^device,silent,/ }[id] || /^time,/;
          check(`${id}: CSV download`, header.test(lines[0]) && lines.length === rows + 1, `${path.basename(file)}: header "${lines[0]}", ${lines.length - 1} rows, ${rows} expected`);
        }
      }
    }
  }

  // Live mode: a new reading inside the range shows on the charts without a reload.
  {
    // A mark on the window: a reload would lose it.
    const g0 = await page.evaluate(() => {
      window.notReloaded = true;
      return window.sensorpipe.generation;
    });
    await page.locator('#live').check();
    await page.waitForFunction(() => document.querySelector('#live-status').textContent === 'live', null, { timeout: 15000 });
    check('live mode is kept in the URL', new URL(page.url()).searchParams.get('live') === '1', page.url());
    const r = want.live_reading;
    const ts = Date.parse(r.timestamp);
    const t0 = Date.now();
    const res = await fetch(`${base}/v1/ingest`, {
      method: 'POST', headers: { Authorization: `Bearer ${want.token}`, 'Content-Type': 'application/x-ndjson' }, body: JSON.stringify(r) + '\n',
    });
    const posted = Date.now();
    check('the live reading was accepted', res.ok, `${res.status} ${await res.text()}`);
    let seenMs = null;
    try {
      await page.waitForFunction(({ ts: t, v }) => {
        const p = window.sensorpipe.panels.temperature;
        if (!p.data) return false;
        const i = p.data[0].findIndex((x) => x <= t && t < x + p.bucket_s * 1000);
        return i >= 0 && p.data.slice(1).some((col) => col[i] === v);
      }, { ts, v: r.temperature }, { timeout: want.live_deadline_ms || 10000, polling: 50 });
      seenMs = Date.now() - posted;
    } catch (e) {
      seenMs = null;
    }
    report.live_ms = seenMs;
    report.live_post_ms = posted - t0;
    check(`live: the new reading is on the temperature chart within ${want.live_deadline_ms || 10000} ms`, seenMs != null,
      seenMs == null ? 'not seen' : `${seenMs} ms after the POST answered`);
    // A refresh redraws each panel when its own requests answer: the hourly chart may take the
    // reading a moment after the temperature chart did.
    await page.waitForFunction(({ t, dev }) => {
      const h = window.sensorpipe.panels.temperature_hourly;
      const k = h && h.series ? h.series.findIndex((s) => s.device === dev) : -1;
      const i = k >= 0 && h.data ? h.data[0].findIndex((x) => x <= t && t < x + 3600e3) : -1;
      return i >= 0 && h.counts[k][i] === 1;
    }, { t: ts, dev: r.client_id }, { timeout: want.live_deadline_ms || 10000, polling: 50 }).catch(() => {});
    const panels = await panelsOf(page);
    const hourly = panels.temperature_hourly;
    const k = hourly.series.findIndex((s) => s.device === r.client_id);
    const i = hourly.data[0].findIndex((x) => x <= ts && ts < x + 3600e3);
    check('live: the reading\'s hour is a new, half-empty hour, flagged on the hourly chart',
      k >= 0 && i >= 0 && hourly.counts[k][i] === 1 && hourly.flagged[k][i] === true,
      { hour: i >= 0 ? new Date(hourly.data[0][i]).toISOString() : null, count: i >= 0 && k >= 0 ? hourly.counts[k][i] : null });
    // The charts change before the refresh that drew them counts itself done.
    await page.waitForFunction((g) => window.sensorpipe.generation > g, g0, { timeout: 10000 }).catch(() => {});
    const after = await page.evaluate(() => ({ generation: window.sensorpipe.generation, mark: window.notReloaded === true,
      events: window.sensorpipe.events }));
    check('live: refreshed by a server-sent event, without a reload', after.generation > g0 && after.mark && after.events > 0,
      { before: g0, ...after });
    await page.screenshot({ path: path.join(outDir, 'desktop-live.png'), fullPage: true });
    report.screenshots.push('desktop-live.png');
  }

  // A narrower window (one column of panels): once its size has settled every chart takes its
  // panel's new width.
  {
    const widths = () => page.evaluate(() => [...document.querySelectorAll('.panel-body')].flatMap((body) =>
      [...body.querySelectorAll('.uplot')].map((u) => [Math.max(240, Math.floor(body.clientWidth)), u.querySelector('canvas').clientWidth])));
    const fits = (pairs) => pairs.every(([want, got]) => want === got);
    const before = await widths();
    await page.setViewportSize({ width: 1000, height: 900 });
    let after = await widths();
    for (const deadline = Date.now() + 10000; !fits(after) && Date.now() < deadline; after = await widths()) await sleep(100);
    check('a narrower window: every chart fits its panel again', fits(after) && after.length === before.length &&
      after.every(([want], i) => want !== before[i][0]), { before, after });
  }
  // The cold room: labels of large, negative and many-digit values inside their charts; pitch
  // across 0°/360° drawn without a plunge, the legend and the CSV giving the API's values.
  {
    const { page: cp, seen: cs } = await openDashboard(context, coldQuery(60), 'cold room');
    await waitRate(cp);
    const charts = await checkYLabels(cp, 'desktop, cold room');
    const angleLabels = charts.filter((ch) => ch.panel === 'orientation').flatMap((ch) => ch.labels);
    check('cold room: the orientation axes are labelled in [0°, 360°)', angleLabels.length > 0 &&
      angleLabels.every((l) => /^\d+(\.\d+)?°$/.test(l) && parseFloat(l) < 360), angleLabels);
    const pitch = (await api(`/api/series?metric=pitch&agg=avg&bucket=1m&tz=UTC&device=coldroom&from=${coldFrom / 1000}&to=${coldFrom / 1000 + 3600}`))
      .series[0].points;
    const drawn = await cp.evaluate(() => {
      const u = window.sensorpipe.charts.orientation;  // the first of the three: pitch
      return { xs: u.data[0], ys: u.data[1] };
    });
    const pts = pairsOf([drawn.xs, drawn.ys], 1);
    let jump = 0;
    for (let i = 1; i < pts.length; i++) jump = Math.max(jump, Math.abs(pts[i][1] - pts[i - 1][1]));
    const sameAngle = pts.length === pitch.length && pts.every(([t, v], i) => t === pitch[i][0] && Math.abs(mod360(v - pitch[i][1] + 180) - 180) < 1e-9);
    check('cold room: pitch 359° -> 1° -> 359° is drawn without a line across the chart', sameAngle && jump < 10,
      { largest_step: jump, points: pts.length, api: pitch.length, first: pts.slice(0, 2), middle: pts.slice(29, 32) });
    // The legend under the cursor, at the bucket where pitch is 1°.
    const i = pitch.findIndex(([, v]) => v === 1);
    await cp.locator('[data-panel="orientation"]').scrollIntoViewIfNeeded();
    const legend = await cp.evaluate(async (t) => {
      const u = window.sensorpipe.charts.orientation;
      const over = u.over.getBoundingClientRect();
      return { x: over.left + u.valToPos(t, 'x'), y: over.top + over.height / 2 };
    }, pitch[i][0]).then(async ({ x, y }) => {
      await cp.mouse.move(x, y);
      return cp.evaluate(() => window.sensorpipe.charts.orientation.root.querySelectorAll('.u-legend .u-series')[1]
        .querySelector('.u-value').textContent);
    });
    check('cold room: the legend shows the API\'s pitch under the cursor', legend === `${pitch[i][1].toFixed(1)} °`, `${legend} at ${pitch[i][1]}`);
    {
      const [download] = await Promise.all([cp.waitForEvent('download', { timeout: 15000 }),
        cp.locator('[data-panel="orientation"] button.csv').click()]);
      const file = path.join(outDir, 'coldroom-orientation.csv');
      await download.saveAs(file);
      const rows = fs.readFileSync(file, 'utf8').split('\r\n').filter(Boolean).map((l) => l.split(','));
      const col = rows[0].findIndex((h) => /pitch/.test(h));
      const csvPitch = rows.slice(1).map((r) => Number(r[col]));
      check('cold room: the CSV holds the API\'s pitch', col > 0 && JSON.stringify(csvPitch) === JSON.stringify(pitch.map((pt) => pt[1])),
        { header: rows[0], first: csvPitch.slice(0, 3), middle: csvPitch.slice(29, 32) });
      report.downloads.push('coldroom-orientation.csv');
    }
    const scatterNote = () => cp.evaluate(() => ({ r: window.sensorpipe.panels.scatter.r, n: window.sensorpipe.panels.scatter.n,
      note: document.querySelector('[data-panel="scatter"] .note').textContent }));
    const hour = await scatterNote();
    check('cold room: Pearson r from 60 buckets', hour.n === 60 && typeof hour.r === 'number' && /r = -?\d/.test(hour.note), hour);
    await cp.screenshot({ path: path.join(outDir, 'desktop-cold.png'), fullPage: true });
    report.screenshots.push('desktop-cold.png');
    // Five minutes: five 1-minute buckets are too few for r.
    await cp.goto(`${base}/${coldQuery(5)}`);
    await waitReady(cp);
    const five = await scatterNote();
    check('cold room, 5 buckets: no Pearson r, the panel says how many it needs', five.n === 5 && five.r === null &&
      /r needs at least 10 buckets; 5 so far/.test(five.note) && !/r = /.test(five.note), five);
    check('cold room: no console errors', cs.errors.length === 0, cs.errors.slice(0, 5).join('\n'));
    await cp.close();
  }

  check('desktop: no console errors', seen.errors.length === 0, seen.errors.slice(0, 5).join('\n'));
  check('desktop: no request left 127.0.0.1', seen.outside.length === 0 && seen.requests > 10, seen.outside.slice(0, 5).join(' '));
  check('desktop: no failed request', seen.failed.length === 0, seen.failed.slice(0, 5).join(' '));

  // The browser's own zone is the default.
  {
    const p2 = await context.newPage();
    const seen2 = watch(p2, 'default zone');
    await p2.goto(`${base}/?range=24h`);
    await p2.waitForFunction(() => window.sensorpipe && window.sensorpipe.ready);
    await p2.evaluate(() => window.sensorpipe.ready);
    const st = await p2.evaluate(() => window.sensorpipe.state());
    const tz = st.tz;
    check('the default zone is the browser\'s', tz === 'America/New_York' && new URL(p2.url()).searchParams.get('tz') === tz, tz);
    check('range=24h in the URL: the last 24 hours', st.range === '24h' && st.to - st.from === 86400e3, st);
    check('default view: no console errors', seen2.errors.length === 0, seen2.errors.slice(0, 5).join('\n'));
    await p2.close();
  }

  // A fleet: 1,000 devices in 5-minute buckets (the API stubbed in the page with synthetic series,
  // so the daemon needs no fleet). Every panel still draws: the scatter's 288,000 pairs once
  // overflowed the stack through Math.min(...pairs).
  {
    const fleet = await browser.newContext({ viewport: { width: 1400, height: 900 }, timezoneId: 'UTC' });
    const fp = await fleet.newPage();
    const seenF = watch(fp, 'fleet');
    const names = Array.from({ length: 1000 }, (_, i) => `d-${String(i).padStart(4, '0')}`);
    await fp.route('**/api/devices', (route) => route.fulfill({ contentType: 'application/json', body: JSON.stringify({
      now: Date.parse(want.to), devices: names.map((device, i) => ({ device, first: Date.parse(want.from), last: Date.parse(want.to) - 60e3,
        last_received: Date.parse(want.to) - 60e3, readings: 1440, interval_s: 60, silent: false,
        last_reading: { temperature: 30 + (i % 50) / 10, humidity: 58, pressure: 1008.5, pitch: 1, roll: 359, yaw: 185 } })) }) }));
    await fp.route('**/api/series?*', (route) => {
      const q = new URL(route.request().url()).searchParams;
      const from = Number(q.get('from')) * 1000, to = Number(q.get('to')) * 1000;
      const bucketS = q.get('bucket') === '1h' ? 3600 : 300;
      const agg = q.get('agg');
      const series = names.map((device, i) => {
        const points = [];
        for (let t = Math.ceil(from / (bucketS * 1000)) * bucketS * 1000, k = 0; t < to; t += bucketS * 1000, k++) {
          points.push([t, agg === 'count' ? bucketS / 60 : Math.round((30 + (i % 50) / 10 + 5 * Math.sin(k / 20) + (k % 7) / 10) * 1000) / 1000]);
        }
        return { device, points };
      });
      route.fulfill({ contentType: 'application/json', body: JSON.stringify({ metric: q.get('metric'), agg, bucket_s: bucketS, tz: q.get('tz'),
        from, to, source: 'rollup', series }) });
    });
    const t0 = Date.now();
    await fp.goto(`${base}/?range=custom&from=${encodeURIComponent(want.from)}&to=${encodeURIComponent(want.to)}&tz=UTC`);
    await waitReady(fp);
    report.fleet_page_ready_ms = Date.now() - t0;
    const states = await fp.evaluate(() => Object.fromEntries(Object.entries(window.sensorpipe.panels).map(([k, v]) =>
      [k, `${v.state}${v.message ? `: ${v.message}` : ''} (${(v.series || []).length} series)`])));
    check('fleet (1,000 devices): every panel drawn', Object.values(states).every((st) => st.startsWith('ok')), states);
    const scatter = await fp.evaluate(() => window.sensorpipe.panels.scatter.n);
    check('fleet: the scatter holds every same-bucket pair', scatter === 1000 * 288, `${scatter} pairs`);
    check('fleet: no console errors', seenF.errors.length === 0, seenF.errors.slice(0, 5).join('\n'));
    // The PNG's legend wraps to the chart's width and stops after three rows with '+N more' (it was
    // one row running off the image): its height is the chart's, the title's and three rows'.
    {
      const [download] = await Promise.all([fp.waitForEvent('download', { timeout: 30000 }),
        fp.locator('[data-panel="temperature"] button.png').click()]);
      const file = path.join(outDir, 'fleet-temperature.png');
      await download.saveAs(file);
      const pngHeight = fs.readFileSync(file).readUInt32BE(20);  // IHDR
      const chartHeight = await fp.evaluate(() => window.sensorpipe.charts.temperature.ctx.canvas.height);
      check('fleet: the PNG\'s legend wraps, three rows at most', pngHeight === chartHeight + 2 * 16 + 44 + 3 * 18 + 4,
        `${pngHeight} px high for a ${chartHeight} px chart`);
      report.downloads.push('fleet-temperature.png');
    }
    // The legends and the device table scroll within their panels: without that the page was 55,000 px
    // tall, a 1,000-row legend under every chart and the table below them.
    const height = await fp.evaluate(() => document.documentElement.scrollHeight);
    check('fleet: the page stays a few screens tall', height <= 5 * 900, `${height} px`);
    // Rasterizing the 1,000-series charts below the fold takes seconds in software on a loaded runner.
    await fp.screenshot({ path: path.join(outDir, 'fleet.png'), fullPage: true, timeout: 120e3 });
    report.screenshots.push('fleet.png');
    await fleet.close();
  }

  // A phone: one column, nothing wider than the screen.
  {
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true,
      timezoneId: 'Asia/Seoul' });
    await phone.addInitScript(recordChartText);
    const { page: pp, seen: ps } = await openDashboard(phone, `?range=custom&from=${encodeURIComponent(want.from)}&to=${encodeURIComponent(want.to)}&tz=Asia/Seoul`, 'phone');
    const widths = await pp.evaluate(() => ({
      doc: document.documentElement.scrollWidth,
      panels: [...document.querySelectorAll('.panel')].map((p) => p.getBoundingClientRect().right),
      canvases: [...document.querySelectorAll('.panel canvas')].map((c) => c.getBoundingClientRect().right),
    }));
    check('phone (390 px): no sideways scrolling', widths.doc <= 390 && widths.panels.every((r) => r <= 390) && widths.canvases.every((r) => r <= 390), widths);
    const states = await pp.evaluate(() => Object.fromEntries(Object.entries(window.sensorpipe.panels).map(([k, v]) => [k, v.state])));
    check('phone: every panel drawn', Object.values(states).every((s) => s === 'ok'), states);
    check('phone: no console errors', ps.errors.length === 0, ps.errors.slice(0, 5).join('\n'));
    await checkYLabels(pp, 'phone, seed day');
    await pp.screenshot({ path: path.join(outDir, 'phone.png'), fullPage: true });
    report.screenshots.push('phone.png');
    await pp.goto(`${base}/${coldQuery(60)}`);
    await waitReady(pp);
    await checkYLabels(pp, 'phone, cold room');
    await pp.screenshot({ path: path.join(outDir, 'phone-cold.png'), fullPage: true });
    report.screenshots.push('phone-cold.png');
    await phone.close();
  }

  // No range in the URL: a device that started publishing 8 minutes ago fills the time axis instead
  // of being a sliver at the right edge of 24 hours, and live mode follows it. Last: its readings
  // of today move the rollup's window of minutes away from the seed's day.
  {
    const now = Date.now();
    const fresh = [];
    for (let t = now - 8 * 60e3, i = 0; t <= now - 70e3; t += 20e3, i++) {
      fresh.push({ client_id: 'fresh', timestamp: isoZ(t), temperature: 21 + (i % 5) / 10, humidity: 45, pressure: 1008, pitch: 2, roll: 3, yaw: 90 });
    }
    await ingest(fresh);
    const first = Date.parse(fresh[0].timestamp);
    const { page: dp, seen: ds } = await openDashboard(context, '?tz=UTC', 'default range');
    const view = () => dp.evaluate(() => {
      const u = window.sensorpipe.charts.temperature;
      const p = window.sensorpipe.panels.temperature;
      const k = p.series.findIndex((s) => s.device === 'fresh');
      return { state: window.sensorpipe.state(), x: [u.scales.x.min, u.scales.x.max],
        fresh: k < 0 ? [] : p.data[0].filter((t, i) => p.data[k + 1][i] != null) };
    });
    const v = await view();
    const firstMinute = Math.floor(first / 60e3) * 60e3;
    check('no range in the URL: the range starts at the first reading of the last 24 h', v.state.range === 'auto' &&
      new URL(dp.url()).searchParams.get('range') === 'auto' && v.state.from === firstMinute && v.state.to >= now,
      { state: v.state, first_minute: firstMinute });
    const covered = v.fresh.length ? (v.fresh[v.fresh.length - 1] - v.fresh[0]) / (v.x[1] - v.x[0]) : 0;
    // About 0.75 here (7 of 9 minutes: the page opens a little after the readings end); a quarter
    // leaves room for a slow machine, and 24 hours gave 0.003.
    check('no range in the URL: the readings fill the time axis, not a sliver of it', covered > 0.25,
      { covered, x: v.x, buckets: v.fresh.length });
    await dp.screenshot({ path: path.join(outDir, 'desktop-fresh.png'), fullPage: true });
    report.screenshots.push('desktop-fresh.png');
    await dp.locator('#live').check();
    await dp.waitForFunction(() => document.querySelector('#live-status').textContent === 'live', null, { timeout: 15000 });
    const ts = Date.now();
    await ingest([{ client_id: 'fresh', timestamp: isoZ(ts), temperature: 22.5, humidity: 45, pressure: 1008, pitch: 2, roll: 3, yaw: 90 }]);
    const minute = Math.floor(Date.parse(isoZ(ts)) / 60e3) * 60e3;
    const followed = await dp.waitForFunction((m) => {
      const p = window.sensorpipe.panels.temperature;
      const k = p.series ? p.series.findIndex((s) => s.device === 'fresh') : -1;
      return k >= 0 && p.data[0].some((t, i) => t === m && p.data[k + 1][i] != null);
    }, minute, { timeout: want.live_deadline_ms || 10000, polling: 50 }).then(() => true, () => false);
    const after = await view();
    check('no range in the URL, live: a new reading is followed, the start kept', followed && after.state.from === firstMinute &&
      after.state.to > ts && after.x[1] > ts, { state: after.state, x: after.x, reading: ts });
    check('default range: no console errors', ds.errors.length === 0, ds.errors.slice(0, 5).join('\n'));
    await dp.close();
  }
} catch (e) {
  check('ran to the end', false, e.stack || String(e));
}
finish();
