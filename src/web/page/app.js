// The sensorpipe dashboard: every panel is drawn from the daemon's JSON API (docs/api.md) with
// uPlot. The view (range, zone, devices, bucket, live) lives in the URL query, so a link shares
// it. Tests read window.sensorpipe.panels[id].data: exactly what the API answered for each chart
// (drawn: what it plots, where angles are unwrapped).
'use strict';

(() => {
  // ---------------------------------------------------------------------------------------------
  // Constants

  const METRICS = {
    temperature: { label: 'Temperature', unit: '°C', color: '#e8590c', digits: 2 },
    humidity: { label: 'Humidity', unit: '%', color: '#1c7ed6', digits: 2 },
    pressure: { label: 'Pressure', unit: 'hPa', color: '#7048e8', digits: 1 },
    pitch: { label: 'Pitch', unit: '°', color: '#0c8599', digits: 1, angle: true },
    roll: { label: 'Roll', unit: '°', color: '#e67700', digits: 1, angle: true },
    yaw: { label: 'Yaw', unit: '°', color: '#c2255c', digits: 1, angle: true },
  };
  const RANGES = { '1h': 3600, '6h': 6 * 3600, '24h': 24 * 3600, '7d': 7 * 86400 };
  // The range when the URL names none ('auto'): the last 24 hours, but starting at the first reading
  // in them when that is later, so a device that started publishing minutes ago fills the chart
  // instead of being a sliver at the right edge of a day. At least 5 minutes (five 1-minute buckets,
  // a line rather than a dot); it ends now, so it follows live data, and once the device has a day
  // of readings it is the last 24 hours.
  const AUTO_WINDOW_S = 24 * 3600;
  const AUTO_MIN_SPAN_S = 5 * 60;
  // Pearson r from fewer buckets says little: with 10 pairs, two unrelated series still reach
  // |r| >= 0.63 one time in 20 (the 5 % critical value; with 4 pairs it is 0.95). Below this the
  // scatter says how many buckets it has instead of giving r and the line.
  const MIN_R_BUCKETS = 10;
  const BUCKETS = { '1m': 60, '5m': 300, '15m': 900, '1h': 3600, '1d': 86400 };
  const BUCKET_NAMES = { 60: '1 min', 300: '5 min', 900: '15 min', 3600: '1 hour', 86400: '1 day' };
  // An hour is half-empty when it holds fewer than this share of the readings the device's usual
  // interval implies (3600 / interval_s); the margin keeps ordinary jitter from flagging full hours.
  const FULL_HOUR_SHARE = 0.9;
  const METRICS_POLL_MS = 5000;
  const RESIZE_SETTLE_MS = 150;
  const PNG_LEGEND_ROWS = 3;
  const DASHES = [[], [6, 4], [2, 3], [10, 3, 2, 3], [1, 2]];
  const INK = '#17212b';
  const GRID = '#e9edf2';
  const AXIS = '#5d6b79';

  const PANELS = [
    { id: 'temperature_hourly', kind: 'hourly', metric: 'temperature', title: 'Average temperature per hour' },
    { id: 'humidity_hourly', kind: 'hourly', metric: 'humidity', title: 'Average humidity per hour' },
    { id: 'temperature', kind: 'line', metrics: ['temperature'], title: 'Temperature over time' },
    { id: 'humidity', kind: 'line', metrics: ['humidity'], title: 'Humidity over time' },
    { id: 'scatter', kind: 'scatter', title: 'Temperature and humidity' },
    { id: 'pressure', kind: 'line', metrics: ['pressure'], title: 'Pressure over time' },
    { id: 'orientation', kind: 'line', metrics: ['pitch', 'roll', 'yaw'], title: 'Orientation over time', wide: true },
    { id: 'devices', kind: 'devices', title: 'Device health', wide: true },
    { id: 'pipeline', kind: 'pipeline', title: 'Pipeline health', wide: true },
  ];

  const $ = (sel, root = document) => root.querySelector(sel);
  const el = (tag, props = {}, ...children) => {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(props)) {
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v);
    }
    for (const c of children) if (c != null) e.append(c);
    return e;
  };

  // ---------------------------------------------------------------------------------------------
  // Time zones: all formatting goes through Intl with an explicit zone.

  const browserTz = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  const fmtCache = new Map();
  function fmt(tz, opts) {
    const key = tz + JSON.stringify(opts);
    let f = fmtCache.get(key);
    if (!f) {
      f = new Intl.DateTimeFormat('en-US', Object.assign({ timeZone: tz, hourCycle: 'h23' }, opts));
      fmtCache.set(key, f);
    }
    return f;
  }
  // The wall-clock fields of instant ms in tz.
  function partsIn(ms, tz) {
    const out = {};
    const f = fmt(tz, { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
    for (const p of f.formatToParts(new Date(ms))) if (p.type !== 'literal') out[p.type] = Number(p.value);
    if (out.hour === 24) out.hour = 0;
    return out;
  }
  // The zone's offset from UTC at instant ms, in ms (Asia/Seoul: +9 h).
  function offsetMs(ms, tz) {
    const p = partsIn(ms, tz);
    return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - Math.floor(ms / 1000) * 1000;
  }
  // The instant a wall-clock time in tz names (the earlier one when a change makes it ambiguous).
  function wallToMs(y, mo, d, h, mi, s, tz) {
    const guess = Date.UTC(y, mo - 1, d, h, mi, s);
    let t = guess - offsetMs(guess, tz);
    const again = guess - offsetMs(t, tz);
    if (again !== t) t = Math.min(t, again);
    return t;
  }
  const pad2 = (n) => String(n).padStart(2, '0');
  function isoIn(ms, tz) {
    const p = partsIn(ms, tz);
    const off = Math.round(offsetMs(ms, tz) / 60000);
    const sign = off < 0 ? '-' : '+';
    const a = Math.abs(off);
    return `${p.year}-${pad2(p.month)}-${pad2(p.day)}T${pad2(p.hour)}:${pad2(p.minute)}:${pad2(p.second)}` +
      (off === 0 && tz === 'UTC' ? 'Z' : `${sign}${pad2(Math.floor(a / 60))}:${pad2(a % 60)}`);
  }
  const localInputValue = (ms, tz) => {
    const p = partsIn(ms, tz);
    return `${p.year}-${pad2(p.month)}-${pad2(p.day)}T${pad2(p.hour)}:${pad2(p.minute)}`;
  };
  function parseLocalInput(v, tz) {
    const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(v || '');
    if (!m) return null;
    return wallToMs(+m[1], +m[2], +m[3], +m[4], +m[5], +(m[6] || 0), tz);
  }
  const hourLabel = (ms, tz) => fmt(tz, { hour: '2-digit', minute: '2-digit' }).format(ms);
  const dayLabel = (ms, tz) => fmt(tz, { month: 'short', day: 'numeric' }).format(ms);
  const dateTimeLabel = (ms, tz) =>
    fmt(tz, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' }).format(ms);
  // A time given as the API takes it: ISO 8601 with an offset or Z, or epoch seconds.
  function parseTime(v) {
    if (v == null || v === '') return null;
    if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
    const t = Date.parse(v);
    return Number.isFinite(t) ? t : null;
  }
  function agoText(ms) {
    const s = Math.max(0, Math.round(ms / 1000));
    if (s < 90) return `${s} s ago`;
    if (s < 90 * 60) return `${Math.round(s / 60)} min ago`;
    if (s < 36 * 3600) return `${Math.round(s / 3600)} h ago`;
    return `${Math.round(s / 86400)} days ago`;
  }
  function secondsText(s) {
    if (s == null || !Number.isFinite(s)) return '—';
    if (s < 1) return `${Math.round(s * 1000)} ms`;
    if (s < 120) return `${+s.toFixed(s < 10 ? 1 : 0)} s`;
    if (s < 7200) return `${+(s / 60).toFixed(1)} min`;
    return `${+(s / 3600).toFixed(1)} h`;
  }
  function bytesText(b) {
    if (b == null || !Number.isFinite(b)) return '—';
    const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0;
    while (b >= 1024 && i < u.length - 1) { b /= 1024; i++; }
    return `${i === 0 ? b : b.toFixed(b < 10 ? 2 : 1)} ${u[i]}`;
  }
  // One formatter per number of digits: a fleet's table formats thousands of numbers per draw.
  const numFormats = [];
  const numText = (v, d = 0) => {
    if (v == null || !Number.isFinite(v)) return '—';
    numFormats[d] ||= new Intl.NumberFormat('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
    return numFormats[d].format(v);
  };

  // ---------------------------------------------------------------------------------------------
  // The view's state, kept in the URL query.

  function readState() {
    const q = new URLSearchParams(location.search);
    const s = { range: 'auto', from: null, to: null, tz: browserTz, devices: [], bucket: 'auto', live: false };
    if (q.get('tz') && validTz(q.get('tz'))) s.tz = q.get('tz');
    const from = parseTime(q.get('from'));
    const to = parseTime(q.get('to'));
    const range = q.get('range') || (from != null || to != null ? 'custom' : 'auto');
    if (range === 'custom') {
      s.range = 'custom';
      s.to = to != null ? to : Date.now();
      s.from = from != null ? from : s.to - 86400e3;
      if (s.from >= s.to) s.from = s.to - 3600e3;
    } else if (RANGES[range] || range === 'auto') {
      s.range = range;
    }
    s.devices = [...new Set(q.getAll('device').filter(Boolean))];
    if (q.get('bucket') && (BUCKETS[q.get('bucket')] || q.get('bucket') === 'auto')) s.bucket = q.get('bucket');
    s.live = q.get('live') === '1';
    return s;
  }
  function writeState() {
    const q = new URLSearchParams();
    q.set('range', state.range);
    if (state.range === 'custom') {
      q.set('from', isoIn(state.from, state.tz));
      q.set('to', isoIn(state.to, state.tz));
    }
    q.set('tz', state.tz);
    for (const d of state.devices) q.append('device', d);
    if (state.bucket !== 'auto') q.set('bucket', state.bucket);
    if (state.live) q.set('live', '1');
    const url = `${location.pathname}?${q.toString()}`;
    if (url !== location.pathname + location.search) history.replaceState(null, '', url);
  }
  function validTz(tz) {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: tz });
      return true;
    } catch (e) {
      return false;
    }
  }
  // [from, to) in epoch ms for the current state; relative ranges end now.
  function currentRange() {
    if (state.range === 'custom') return { from: state.from, to: state.to };
    const to = (Math.floor(Date.now() / 1000) + 1) * 1000;
    if (state.range !== 'auto') return { from: to - RANGES[state.range] * 1000, to };
    const from = to - AUTO_WINDOW_S * 1000;
    if (autoFirst == null || autoFirst <= from) return { from, to };
    return { from: Math.min(Math.floor(autoFirst / 60e3) * 60e3, to - AUTO_MIN_SPAN_S * 1000), to };
  }
  // The first reading of the devices shown that have readings in the auto range's window (from
  // /api/devices: a device's first and last reading), or null when none has.
  function firstReading(devices) {
    const windowFrom = Date.now() - AUTO_WINDOW_S * 1000;
    let first = null;
    for (const d of devices) {
      if (state.devices.length && !state.devices.includes(d.device)) continue;
      if (d.first == null || d.last == null || d.last < windowFrom) continue;
      if (first == null || d.first < first) first = d.first;
    }
    return first;
  }
  // The start of the local hour in tz that holds ms, so hourly bars show whole hours.
  function floorLocalHour(ms, tz) {
    const off = offsetMs(ms, tz);
    return Math.floor((ms + off) / 3600e3) * 3600e3 - off;
  }

  // ---------------------------------------------------------------------------------------------
  // The API

  class ApiError extends Error {}
  // Off loopback the daemon wants `Authorization: Bearer <[http] token>` for /api/* reads: the
  // page asks for it once (on a 401) and keeps it for this tab only.
  const TOKEN_KEY = 'sensorpipe.token';
  let token = '';
  try {
    token = sessionStorage.getItem(TOKEN_KEY) || '';
  } catch (e) {
    token = '';
  }
  const authHeaders = () => (token ? { Authorization: `Bearer ${token}` } : {});
  function askForToken(why) {
    const form = $('#auth');
    $('#auth-why').textContent = why;
    form.hidden = false;
  }
  async function getJson(url) {
    let res;
    try {
      res = await fetch(url, { headers: Object.assign({ Accept: 'application/json' }, authHeaders()) });
    } catch (e) {
      throw new ApiError(`The daemon did not answer (${e.message}).`);
    }
    const text = await res.text();
    let body = null;
    try {
      body = JSON.parse(text);
    } catch (e) {
      if (res.ok) throw new ApiError(`${url.split('?')[0]} answered with something that is not JSON.`);
    }
    if (!res.ok) {
      const why = body && body.error ? body.error : text.trim().slice(0, 200) || res.statusText;
      if (res.status === 401) {
        askForToken(token ? 'The token was not accepted.' : 'This daemon listens beyond loopback, so reading its API needs its [http] token.');
        throw new ApiError('The daemon needs its token to answer: enter it above.');
      }
      throw new ApiError(`${url.split('?')[0]} answered ${res.status}: ${why}`);
    }
    return body;
  }
  function seriesUrl({ metric, agg = 'avg', bucket = 'auto', from, to }) {
    const q = new URLSearchParams({ metric, agg, bucket, from: String(Math.floor(from / 1000)), to: String(Math.ceil(to / 1000)), tz: state.tz });
    for (const d of state.devices) q.append('device', d);
    return `/api/series?${q.toString()}`;
  }
  // One fetch per distinct URL per refresh: panels that need the same series share it.
  function makeFetcher() {
    const cache = new Map();
    return (url) => {
      if (!cache.has(url)) cache.set(url, getJson(url));
      return cache.get(url);
    };
  }

  // Series of several answers on one time axis: [xs, ys per (answer, device)], null where a
  // series has no point (uPlot draws a gap there). With gapMs, a time with nulls in every series is
  // added after each point followed by no other within 1.5 gapMs, so a line stops where the
  // readings stop instead of joining across the missing buckets (1.5: a local day is 23 to 25 h).
  function align(answers, gapMs = 0) {
    const xsSet = new Set();
    const cols = [];
    for (const a of answers) {
      for (const s of a.answer.series) {
        const m = new Map();
        for (const [t, v] of s.points) {
          xsSet.add(t);
          m.set(t, v);
        }
        cols.push({ metric: a.metric, device: s.device, map: m });
      }
    }
    let xs = [...xsSet].sort((a, b) => a - b);
    if (gapMs > 0) {
      const withGaps = [];
      xs.forEach((x, i) => {
        withGaps.push(x);
        if (i + 1 < xs.length && xs[i + 1] - x > 1.5 * gapMs) withGaps.push(x + gapMs);
      });
      xs = withGaps;
    }
    const data = [xs];
    for (const c of cols) data.push(xs.map((x) => (c.map.has(x) ? c.map.get(x) : null)));
    return { data, cols };
  }

  // ---------------------------------------------------------------------------------------------
  // Colours: one hue per metric; devices differ by shade and dash.

  function shade(hex, k) {
    if (k === 0) return hex;
    const n = parseInt(hex.slice(1), 16);
    let r = n >> 16, g = (n >> 8) & 255, b = n & 255;
    const steps = [0, -0.35, 0.35, -0.6, 0.55];
    const f = steps[k % steps.length];
    const mix = (c) => Math.round(f < 0 ? c * (1 + f) : c + (255 - c) * f);
    r = mix(r); g = mix(g); b = mix(b);
    return `#${((1 << 24) | (r << 16) | (g << 8) | b).toString(16).slice(1)}`;
  }
  function alpha(hex, a) {
    const n = parseInt(hex.slice(1), 16);
    return `rgba(${n >> 16},${(n >> 8) & 255},${n & 255},${a})`;
  }

  // ---------------------------------------------------------------------------------------------
  // Panels: a card with a title, actions (PNG, CSV), a body and a note.

  const panels = {};  // id -> runtime panel
  const exposed = {}; // id -> what tests read (window.sensorpipe.panels)

  function buildPanels() {
    const grid = $('#grid');
    for (const def of PANELS) {
      const png = el('button', { type: 'button', class: 'png', title: 'Download the chart as PNG', text: 'PNG' });
      const csv = el('button', { type: 'button', class: 'csv', title: 'Download the data as CSV', text: 'CSV' });
      const title = el('h2', { text: def.title });
      // Until the first answer says more (the bucket chosen, the zone).
      const units = (def.metrics || [def.metric]).filter(Boolean).map((m) => METRICS[m].unit);
      const sub = el('p', { class: 'sub', text: def.kind === 'hourly' ? `avg per hour · ${units[0]}` :
        def.kind === 'line' ? `avg per bucket · ${[...new Set(units)].join(', ')}` :
        def.kind === 'scatter' ? 'same-bucket averages · °C against %' : '' });
      const body = el('div', { class: 'panel-body' });
      const note = el('p', { class: 'note' });
      const card = el('section', { class: `panel${def.wide ? ' wide' : ''}`, id: `panel-${def.id}`, 'data-panel': def.id },
        el('div', { class: 'panel-head' }, el('div', { class: 'panel-title' }, title, sub),
          el('div', { class: 'actions' }, def.kind === 'devices' ? null : png, csv)),
        body, note);
      grid.append(card);
      const p = { def, card, title, sub, body, note, png, csv, u: null, charts: [], signature: '' };
      png.addEventListener('click', () => downloadPng(p));
      csv.addEventListener('click', () => downloadCsv(p));
      panels[def.id] = p;
      exposed[def.id] = { state: 'loading', data: null, series: [] };
    }
    // Charts follow the grid's width once it has settled: a window dragged wider, or a full-page
    // capture that briefly lays the page out at another size, would otherwise redraw every chart
    // at each step (seconds with a fleet's 1,000 series).
    let settle = null;
    const ro = new ResizeObserver(() => {
      clearTimeout(settle);
      settle = setTimeout(() => {
        for (const p of Object.values(panels)) if (p.u) resizeChart(p);
      }, RESIZE_SETTLE_MS);
    });
    ro.observe(grid);
  }

  // Small multiples (one chart per metric) are lower than a panel's single chart.
  function chartSize(p) {
    const w = Math.max(240, Math.floor(p.body.clientWidth));
    const multiple = p.def.metrics && p.def.metrics.length > 1;
    const h = p.def.kind === 'pipeline' ? 150 : multiple ? (w < 480 ? 150 : 170) : w < 480 ? 210 : 260;
    return { width: w, height: h };
  }
  function resizeChart(p) {
    const { width, height } = chartSize(p);
    for (const u of p.charts) if (u.width !== width || u.height !== height) u.setSize({ width, height });
  }

  function setState(p, kind, message) {
    destroyChart(p);
    p.body.replaceChildren(el('div', { class: `state ${kind}`, text: message }));
    p.png.disabled = true;
    p.csv.disabled = kind !== 'table';
    exposed[p.def.id] = Object.assign(exposed[p.def.id] || {}, { state: kind, message, data: null, series: [] });
  }
  function destroyChart(p) {
    for (const u of p.charts) u.destroy();
    p.charts = [];
    p.u = null;
    p.signature = '';
  }
  // Creates the chart when its shape changed, or gives the existing one new data (live updates
  // then keep the legend and cursor where they are).
  function showChart(p, signature, makeOpts, data) {
    if (p.u && p.signature === signature && p.body.contains(p.u.root)) {
      p.u.setData(data);
    } else {
      destroyChart(p);
      p.body.replaceChildren();
      const opts = Object.assign(makeOpts(), chartSize(p));
      p.u = new uPlot(opts, data, p.body);
      p.charts = [p.u];
      p.signature = signature;
      window.sensorpipe.charts[p.def.id] = p.u;
    }
    p.png.disabled = false;
    p.csv.disabled = false;
  }

  // Axes shared by the time charts: tick labels in the chosen zone, remembered for tests.
  function timeAxis(p, tz) {
    return {
      stroke: AXIS,
      grid: { stroke: GRID, width: 1 },
      ticks: { stroke: GRID, width: 1 },
      font: '12px Inter, system-ui, sans-serif',
      space: 64,
      values: (u, splits, axisIdx, foundSpace, foundIncr) => {
        const labels = splits.map((v, i) => {
          if (foundIncr >= 86400e3) return dayLabel(v, tz);
          const h = foundIncr < 60e3 ? fmt(tz, { hour: '2-digit', minute: '2-digit', second: '2-digit' }).format(v) : hourLabel(v, tz);
          const prev = i > 0 ? splits[i - 1] : null;
          const newDay = prev == null || dayLabel(prev, tz) !== dayLabel(v, tz);
          return newDay ? `${h}\n${dayLabel(v, tz)}` : h;
        });
        exposed[p.def.id].ticks = labels.map((l) => l.split('\n')[0]);
        return labels;
      },
    };
  }
  // A value axis as wide as its widest label needs. shared ({ size }) is one width for charts
  // stacked over one time axis, so their plots stay aligned; angle labels values modulo 360 (an
  // unwrapped angle is drawn past 360° or below 0°).
  function valueAxis(unit, { label, angle, shared } = {}) {
    const suffix = unit === '%' || unit === '°' || unit === '°C' ? unit : '';
    const text = (v) => {
      if (!angle) return `${+v.toFixed(6)}${suffix}`;
      const a = +(((v % 360) + 360) % 360).toFixed(6);
      return `${a === 360 ? 0 : a}${suffix}`;
    };
    return {
      stroke: AXIS,
      grid: { stroke: GRID, width: 1 },
      ticks: { stroke: GRID, width: 1 },
      font: '12px Inter, system-ui, sans-serif',
      label,
      labelFont: '600 12px Inter, system-ui, sans-serif',
      labelSize: label ? 20 : 0,
      // uPlot ends a label ticks.size + gap left of the plot, and the title takes labelSize beyond
      // it: the axis is that plus the widest label, plus a pixel for glyphs that overhang their
      // advance. Later layout cycles may bring longer labels (more ticks once the x axis took its
      // height): grow then, never shrink within one layout, so the cycles end.
      size: (u, values, axisIdx, cycleNum) => {
        const axis = u.axes[axisIdx];
        if (axis.side % 2 === 0) return 30 + (label ? 20 : 0);  // a horizontal axis: one line of text
        u.ctx.font = axis.font[0];
        const widest = (values || []).reduce((w, v) => Math.max(w, u.ctx.measureText(String(v ?? '')).width), 0) /
          (devicePixelRatio || 1);
        const need = Math.ceil((axis.ticks.show ? axis.ticks.size : 0) + axis.gap + axis.labelSize + widest + 1);
        let size = cycleNum > 1 && axis._size ? Math.max(axis._size, need) : need;
        if (shared) size = shared.size = Math.max(shared.size, size);
        return size;
      },
      values: (u, vals) => vals.map((v) => (v == null ? '' : text(v))),
    };
  }
  // The legend gives what the API answered at the cursor (column col of p.lineData), not the
  // value drawn, which differs by whole turns for an unwrapped angle.
  const legendValue = (p, col, digits, unit) => (u, v, sidx, idx) => {
    const x = idx == null || !p.lineData ? v : p.lineData[col][idx];
    return x == null ? '—' : `${x.toFixed(digits)} ${unit}`;
  };

  // Angles are drawn without jumps: each value moves by whole turns to within 180° of the one before,
  // so 359° -> 1° -> 359° is a wiggle across 0° instead of two lines across the whole chart (the
  // axis labels it modulo 360). A series' first value is taken near the first of the series before
  // it of the same metric, so the devices line up.
  function unwrapAngles(data, cols) {
    const firstOf = new Map();
    return [data[0], ...cols.map((c, k) => {
      if (!METRICS[c.metric].angle) return data[k + 1];
      let prev = firstOf.get(c.metric);
      const col = data[k + 1].map((v) => {
        if (v == null) return null;
        prev = prev == null ? v : v - 360 * Math.round((v - prev) / 360);
        return prev;
      });
      const first = col.find((v) => v != null);
      if (!firstOf.has(c.metric) && first != null) firstOf.set(c.metric, first);
      return col;
    })];
  }

  // ---------------------------------------------------------------------------------------------
  // Line charts: one or more metrics, one series per (metric, device).

  async function drawLine(p, ctx) {
    const { def } = p;
    const answers = await Promise.all(def.metrics.map(async (metric) => {
      const url = seriesUrl({ metric, bucket: state.bucket, from: ctx.range.from, to: ctx.range.to });
      return { metric, url, answer: await ctx.get(url) };
    }));
    const bucketS = answers[0].answer.bucket_s;
    const { data, cols } = align(answers, bucketS * 1000);
    const drawn = unwrapAngles(data, cols);
    ctx.bucketS = bucketS;
    ctx.source = answers[0].answer.source;
    const unitList = [...new Set(def.metrics.map((m) => METRICS[m].unit))].join(', ');
    p.sub.textContent = `avg per ${BUCKET_NAMES[bucketS] || `${bucketS} s`} · ${unitList}`;
    const deviceIndex = deviceIndexer(cols.map((x) => x.device));
    const series = cols.map((c) => {
      const m = METRICS[c.metric];
      const k = deviceIndex(c.device);
      return { metric: c.metric, device: c.device, label: def.metrics.length > 1 ? `${c.device} · ${m.label}` : c.device, color: shade(m.color, k), dash: DASHES[k % DASHES.length], unit: m.unit, digits: m.digits };
    });
    exposed[def.id] = { state: 'ok', kind: 'line', data, drawn, series: series.map(({ metric, device, label }) => ({ metric, device, label })),
      bucket_s: bucketS, query: answers.map((a) => a.url), ticks: [] };
    if (data[0].length === 0) {
      setState(p, 'empty', 'No readings in this range.');
      exposed[def.id].state = 'empty';
      exposed[def.id].query = answers.map((a) => a.url);
      return;
    }
    const tz = state.tz;
    const signature = JSON.stringify(['line', tz, series.map((s) => s.label)]);
    // The x axis spans the chosen range, so readings that stop early show as an empty stretch (a
    // first bucket may start before the range does). A drag still zooms; a double click goes back
    // to the readings' own extent.
    const xRange = { min: Math.min(ctx.range.from, data[0][0]), max: Math.max(ctx.range.to, data[0][data[0].length - 1]) };
    p.lineData = data;
    if (def.metrics.length > 1) {
      showMultiples(p, signature, drawn, series, tz);
      for (const u of p.charts) u.setScale('x', xRange);
      p.series = series;
      p.note.textContent = 'One chart per angle, each on its own scale; the cursor moves on all three.';
      return;
    }
    showChart(p, signature, () => ({
      ms: 1,
      tzDate: (ts) => uPlot.tzDate(new Date(ts), tz),
      cursor: { points: { size: 6 } },
      scales: { x: { time: true } },
      legend: { live: true },
      series: [
        { label: 'Time', value: (u, v) => (v == null ? '—' : `${dateTimeLabel(v, tz)}`) },
        ...series.map((s, k) => ({ label: s.label, stroke: s.color, width: 1.6, dash: s.dash, spanGaps: false,
          points: { show: false }, value: legendValue(p, k + 1, s.digits, s.unit) })),
      ],
      axes: [timeAxis(p, tz), valueAxis(series[0].unit, { angle: METRICS[series[0].metric].angle })],
    }), drawn);
    p.u.setScale('x', xRange);
    p.series = series;
    p.note.textContent = '';
  }

  // Several metrics of very different ranges (pitch near 0°, yaw near 180°): one small chart per
  // metric over the same time axis, with a shared cursor. Their y axes share one width (the widest
  // any of them needs), so the plots stay aligned.
  function showMultiples(p, signature, data, series, tz) {
    const metrics = [...new Set(series.map((s) => s.metric))];
    const parts = metrics.map((m) => {
      const idx = series.map((s, k) => (s.metric === m ? k : -1)).filter((k) => k >= 0);
      return { metric: m, idx, data: [data[0], ...idx.map((k) => data[k + 1])] };
    });
    if (p.charts.length === parts.length && p.signature === signature && p.charts.every((u) => p.body.contains(u.root))) {
      parts.forEach((part, i) => p.charts[i].setData(part.data));
    } else {
      destroyChart(p);
      p.body.replaceChildren();
      const size = chartSize(p);
      p.yWidth = { size: 0 };
      p.charts = parts.map((part) => {
        const m = METRICS[part.metric];
        const holder = el('div', { class: 'multiple' });
        p.body.append(holder);
        return new uPlot(Object.assign({
          title: `${m.label} (${m.unit})`,
          ms: 1,
          tzDate: (ts) => uPlot.tzDate(new Date(ts), tz),
          cursor: { points: { size: 6 }, sync: { key: `sp-${p.def.id}` } },
          scales: { x: { time: true } },
          series: [
            { label: 'Time', value: (u, v) => (v == null ? '—' : dateTimeLabel(v, tz)) },
            ...part.idx.map((k) => {
              const s = series[k];
              return { label: s.device, stroke: s.color, width: 1.6, dash: s.dash, spanGaps: false, points: { show: false },
                value: legendValue(p, k + 1, s.digits, s.unit) };
            }),
          ],
          axes: [timeAxis(p, tz), valueAxis(m.unit, { angle: m.angle, shared: p.yWidth })],
        }, size), part.data, holder);
      });
      p.u = p.charts[0];
      p.signature = signature;
      window.sensorpipe.charts[p.def.id] = p.u;
    }
    // A chart drawn before another needed a wider axis takes the shared width now.
    for (const u of p.charts) if (u.axes[1]._size < p.yWidth.size) u.redraw(false, true);
    p.png.disabled = false;
    p.csv.disabled = false;
  }

  // ---------------------------------------------------------------------------------------------
  // Hourly bars, with half-empty hours hatched.

  // The tile behind the pattern, one per colour: a draw with 1,000 devices would make 1,000.
  const hatchTiles = new Map();
  function hatch(ctx, color) {
    const dpr = devicePixelRatio || 1;
    const key = `${color} ${dpr}`;
    if (!hatchTiles.has(key)) hatchTiles.set(key, hatchTile(color, dpr));
    return ctx.createPattern(hatchTiles.get(key), 'repeat');
  }
  function hatchTile(color, dpr) {
    const c = document.createElement('canvas');
    c.width = c.height = Math.round(8 * dpr);
    const g = c.getContext('2d');
    g.fillStyle = alpha(color, 0.18);
    g.fillRect(0, 0, c.width, c.height);
    g.strokeStyle = color;
    g.lineWidth = 1.5 * dpr;
    g.beginPath();
    for (let o = -c.width; o <= c.width; o += c.width) {
      g.moveTo(o, c.height);
      g.lineTo(o + c.width, 0);
    }
    g.stroke();
    return c;
  }
  // The rectangle of bar i of series k (0-based among nSeries) in canvas pixels.
  function barRect(u, xs, ys, i, k, nSeries, widthMs) {
    const xa = u.valToPos(xs[i], 'x', true);
    const xb = u.valToPos(xs[i] + widthMs, 'x', true);
    const gap = Math.max(1, (xb - xa) * 0.1);
    const bw = Math.max(1, (xb - xa - 2 * gap) / nSeries);
    const y0 = u.valToPos(u.scales.y.min, 'y', true);
    const y = u.valToPos(ys[i], 'y', true);
    return [xa + gap + k * bw, y, Math.max(1, bw - (nSeries > 1 ? 1 : 0)), y0 - y];
  }

  async function drawHourly(p, ctx) {
    const { def } = p;
    const metric = def.metric;
    const m = METRICS[metric];
    const from = floorLocalHour(ctx.range.from, state.tz);
    const avgUrl = seriesUrl({ metric, agg: 'avg', bucket: '1h', from, to: ctx.range.to });
    const countUrl = seriesUrl({ metric, agg: 'count', bucket: '1h', from, to: ctx.range.to });
    const [avg, count, devices] = await Promise.all([ctx.get(avgUrl), ctx.get(countUrl), ctx.devices]);
    const { data, cols } = align([{ metric, answer: avg }]);
    const countsOf = new Map(count.series.map((x) => [x.device, x.points]));
    const counts = cols.map((c) => {
      const mp = new Map(countsOf.get(c.device) || []);
      return data[0].map((x) => (mp.has(x) ? mp.get(x) : 0));
    });
    const deviceOf = new Map(devices.devices.map((x) => [x.device, x]));
    const intervals = cols.map((c) => {
      const d = deviceOf.get(c.device);
      return d && d.interval_s > 0 ? d.interval_s : null;
    });
    const expected = intervals.map((iv) => (iv ? 3600 / iv : null));
    const flags = cols.map((c, k) => data[0].map((x, i) => data[k + 1][i] != null && expected[k] != null &&
      counts[k][i] < FULL_HOUR_SHARE * expected[k]));
    const deviceIndex = deviceIndexer(cols.map((x) => x.device));
    const series = cols.map((c) => {
      const kk = deviceIndex(c.device);
      return { metric, device: c.device, label: c.device, color: shade(m.color, kk), unit: m.unit, digits: m.digits };
    });
    const tz = state.tz;
    exposed[def.id] = {
      state: 'ok', kind: 'hourly', data, series: series.map(({ metric: mm, device, label }) => ({ metric: mm, device, label })),
      counts, expected, flagged: flags, bucket_s: 3600, query: [avgUrl, countUrl],
      labels: data[0].map((x) => hourLabel(x, tz)), ticks: [],
    };
    p.sub.textContent = `avg per hour of the clock in ${tz} · ${m.unit}`;
    if (data[0].length === 0) {
      setState(p, 'empty', 'No readings in this range.');
      Object.assign(exposed[def.id], { state: 'empty', query: [avgUrl, countUrl] });
      return;
    }
    const n = series.length;
    const hourMs = 3600e3;
    const shared = { flags, counts, expected, span: [from, ctx.range.to] };
    p.hourly = shared;
    const signature = JSON.stringify(['hourly', tz, series.map((s) => s.label)]);
    if (p.u && p.signature === signature) p.u.hourly = shared;
    showChart(p, signature, () => ({
      ms: 1,
      tzDate: (ts) => uPlot.tzDate(new Date(ts), tz),
      cursor: { points: { show: false }, drag: { x: false, y: false } },
      scales: {
        x: { time: true, range: (u, min, max) => (min == null || max == null ? [min, max] :
          [Math.min(min, (u.hourly || shared).span[0]), Math.max(max + hourMs, (u.hourly || shared).span[1])]) },
        y: { range: (u, min, max) => niceRange(min, max) },
      },
      series: [
        { label: 'Hour', value: (u, v) => (v == null ? '—' : `${dayLabel(v, tz)} ${hourLabel(v, tz)}`) },
        ...series.map((s, k) => ({
          label: s.label, stroke: s.color, fill: alpha(s.color, 0.85), width: 0,
          points: { show: false },
          paths: (u, sidx) => {
            const xs = u.data[0], ys = u.data[sidx];
            const path = new Path2D();
            const fl = (u.hourly || shared).flags[k] || [];
            for (let i = 0; i < xs.length; i++) {
              if (ys[i] == null || fl[i]) continue;
              path.rect(...barRect(u, xs, ys, i, k, n, hourMs));
            }
            return { stroke: path, fill: path };
          },
          value: (u, v, sidx, idx) => {
            if (v == null) return '—';
            const h = u.hourly || shared;
            const c = idx == null ? null : h.counts[k][idx];
            return `${v.toFixed(s.digits)} ${s.unit}${c == null ? '' : ` (${c} readings${h.flags[k][idx] ? ', half-empty' : ''})`}`;
          },
        })),
      ],
      axes: [timeAxis(p, tz), valueAxis(m.unit)],
      hooks: {
        draw: [(u) => {
          const h = u.hourly || shared;
          const g = u.ctx;
          g.save();
          g.beginPath();
          g.rect(u.bbox.left, u.bbox.top, u.bbox.width, u.bbox.height);
          g.clip();
          series.forEach((s, k) => {
            const pat = hatch(g, s.color);
            const ys = u.data[k + 1];
            for (let i = 0; i < u.data[0].length; i++) {
              if (ys[i] == null || !h.flags[k][i]) continue;
              const [x, y, w, hh] = barRect(u, u.data[0], ys, i, k, n, hourMs);
              g.fillStyle = pat;
              g.fillRect(x, y, w, hh);
              g.strokeStyle = s.color;
              g.lineWidth = 1;
              g.setLineDash([3, 2]);
              g.strokeRect(x + 0.5, y + 0.5, w - 1, hh - 1);
            }
          });
          g.restore();
        }],
      },
    }), data);
    p.u.hourly = shared;
    p.series = series;
    const nFlagged = flags.reduce((a, f) => a + f.filter(Boolean).length, 0);
    const cad = intervals.filter(Boolean);
    const cadText = cad.length ? `the device's usual ${secondsText(cad[0])} interval` : 'the device\'s usual interval';
    p.note.replaceChildren(el('span', { class: 'flag' }),
      `Hatched: fewer than ${Math.round(FULL_HOUR_SHARE * 100)} % of the readings ${cadText} implies — its average may mislead. `,
      el('strong', { text: nFlagged === 0 ? 'No half-empty hours here.' : `${nFlagged} half-empty hour${nFlagged > 1 ? 's' : ''}.` }));
  }
  function niceRange(min, max) {
    if (min == null || max == null) return [0, 1];
    const span = Math.max(max - min, Math.abs(max) * 0.02, 0.5);
    const lo = min - span * 0.35;
    const hi = max + span * 0.12;
    const step = Math.pow(10, Math.floor(Math.log10(span)));
    return [Math.floor(lo / step) * step, Math.ceil(hi / step) * step];
  }

  // ---------------------------------------------------------------------------------------------
  // Scatter of same-bucket averages, with the least-squares line and Pearson r.

  function fit(pairs) {
    const n = pairs.length;
    if (n < 2) return null;
    let sx = 0, sy = 0;
    for (const q of pairs) { sx += q.temperature; sy += q.humidity; }
    const mx = sx / n, my = sy / n;
    let sxx = 0, syy = 0, sxy = 0;
    for (const q of pairs) {
      const dx = q.temperature - mx, dy = q.humidity - my;
      sxx += dx * dx; syy += dy * dy; sxy += dx * dy;
    }
    if (sxx === 0) return null;
    const slope = sxy / sxx;
    return { n, slope, intercept: my - slope * mx, r: syy === 0 ? null : sxy / Math.sqrt(sxx * syy) };
  }
  function strength(r) {
    const a = Math.abs(r);
    const word = a >= 0.9 ? 'very strong' : a >= 0.7 ? 'strong' : a >= 0.4 ? 'moderate' : a >= 0.2 ? 'weak' : 'no clear';
    return `${word}${a >= 0.2 ? (r < 0 ? ' negative' : ' positive') : ''} correlation`;
  }

  async function drawScatter(p, ctx) {
    const tUrl = seriesUrl({ metric: 'temperature', bucket: state.bucket, from: ctx.range.from, to: ctx.range.to });
    const hUrl = seriesUrl({ metric: 'humidity', bucket: state.bucket, from: ctx.range.from, to: ctx.range.to });
    const [t, h] = await Promise.all([ctx.get(tUrl), ctx.get(hUrl)]);
    const pairs = [];
    const byDevice = [];
    const humidityOf = new Map(h.series.map((x) => [x.device, x.points]));
    for (const ts of t.series) {
      const hPoints = humidityOf.get(ts.device);
      if (!hPoints) continue;
      const hm = new Map(hPoints);
      const xs = [], ys = [];
      for (const [time, temperature] of ts.points) {
        if (!hm.has(time)) continue;
        const humidity = hm.get(time);
        pairs.push({ device: ts.device, t: time, temperature, humidity });
        xs.push(temperature);
        ys.push(humidity);
      }
      if (xs.length) byDevice.push({ device: ts.device, xs, ys });
    }
    const f = pairs.length >= MIN_R_BUCKETS ? fit(pairs) : null;
    p.sub.textContent = `avg per ${BUCKET_NAMES[t.bucket_s] || `${t.bucket_s} s`}, one dot per bucket · °C against %`;
    const data = [null, ...byDevice.map((d) => [d.xs, d.ys])];
    let line = null;
    if (f) {
      // A loop, not Math.min(...): 1,000 devices of 288 buckets are more arguments than a call takes.
      let xmin = Infinity, xmax = -Infinity;
      for (const q of pairs) {
        if (q.temperature < xmin) xmin = q.temperature;
        if (q.temperature > xmax) xmax = q.temperature;
      }
      line = [[xmin, xmax], [f.intercept + f.slope * xmin, f.intercept + f.slope * xmax]];
      data.push(line);
    }
    exposed[p.def.id] = {
      state: 'ok', kind: 'scatter', data, pairs,
      series: [...byDevice.map((d) => ({ device: d.device, label: d.device })), ...(f ? [{ label: 'least squares' }] : [])],
      r: f ? f.r : null, slope: f ? f.slope : null, intercept: f ? f.intercept : null, n: pairs.length,
      min_buckets: MIN_R_BUCKETS, bucket_s: t.bucket_s, query: [tUrl, hUrl],
    };
    if (pairs.length === 0) {
      setState(p, 'empty', 'No readings in this range.');
      Object.assign(exposed[p.def.id], { state: 'empty', query: [tUrl, hUrl] });
      return;
    }
    const deviceIndex = deviceIndexer(byDevice.map((x) => x.device));
    const series = byDevice.map((d) => ({ device: d.device, label: d.device, color: shade('#495057', deviceIndex(d.device)) }));
    if (f) series.push({ label: 'least squares', color: '#e03131', line: true });
    const signature = JSON.stringify(['scatter', series.map((s) => s.label)]);
    showChart(p, signature, () => ({
      mode: 2,
      cursor: { drag: { x: false, y: false }, points: { show: false } },
      legend: { live: false },
      scales: { x: { time: false }, y: {} },
      series: [
        {},
        ...series.map((s) => (s.line ?
          { label: s.label, stroke: s.color, width: 2, paths: uPlot.paths.linear(), points: { show: false } } :
          { label: s.label, stroke: alpha(s.color, 0.9), fill: alpha(s.color, 0.35), width: 1, paths: uPlot.paths.points(),
            points: { show: true, size: 5, stroke: alpha(s.color, 0.9), fill: alpha(s.color, 0.35) } })),
      ],
      axes: [
        Object.assign(valueAxis('°C', { label: 'Temperature (°C)' }), { grid: { stroke: GRID, width: 1 } }),
        valueAxis('%', { label: 'Humidity (%)' }),
      ],
    }), data);
    p.series = series;
    const fitText = f ? ` · least squares: humidity = ${f.slope.toFixed(3)} × temperature ${f.intercept < 0 ? '−' : '+'} ${Math.abs(f.intercept).toFixed(2)}` : '';
    if (pairs.length < MIN_R_BUCKETS) {
      p.note.textContent = `Pearson r needs at least ${MIN_R_BUCKETS} buckets; ${pairs.length} so far.`;
    } else if (!f) {
      p.note.textContent = `The temperature is the same in all ${pairs.length} buckets: no line to fit, no r.`;
    } else if (f.r == null) {
      p.note.textContent = `The humidity is the same in all ${pairs.length} buckets: no r${fitText}.`;
    } else {
      p.note.replaceChildren('Pearson ', el('strong', { text: `r = ${f.r.toFixed(3)}` }), ` (${strength(f.r)}, ${f.n} buckets)${fitText}`);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Device health from /api/devices.

  async function drawDevices(p, ctx) {
    const answer = await ctx.devices;
    const tz = state.tz;
    const list = answer.devices.filter((d) => state.devices.length === 0 || state.devices.includes(d.device));
    exposed[p.def.id] = { state: 'ok', kind: 'devices', data: list, series: [], now: answer.now };
    p.sub.textContent = `last reading and usual interval · silent after three intervals without one · times in ${tz}`;
    if (list.length === 0) {
      setState(p, 'empty', 'No devices have sent readings yet.');
      exposed[p.def.id].state = 'empty';
      return;
    }
    destroyChart(p);
    const cols = ['temperature', 'humidity', 'pressure', 'pitch', 'roll', 'yaw'];
    const names = ['Device', 'Status', 'Last reading', 'Received', 'Interval', 'Readings',
      ...cols.map((c) => `${METRICS[c].label} (${METRICS[c].unit})`)];
    const head = el('tr', {}, ...names.map((h) => el('th', { text: h })));
    // data-label names each cell on a phone, where every device is a card of label: value lines.
    const td = (i, props, ...children) => el('td', Object.assign({ 'data-label': names[i] }, props), ...children);
    const rows = list.map((d) => {
      const last = d.last_reading || {};
      return el('tr', { class: d.silent ? 'silent' : '', 'data-device': d.device },
        td(0, { class: 'name' }, el('strong', { text: d.device })),
        td(1, {}, el('span', { class: `badge ${d.silent ? 'silent' : 'ok'}`, text: d.silent ? 'silent' : 'reporting' })),
        td(2, { text: d.last != null ? `${dayLabel(d.last, tz)} ${fmt(tz, { hour: '2-digit', minute: '2-digit', second: '2-digit' }).format(d.last)}` : '—' }),
        td(3, { text: d.last_received != null ? agoText(answer.now - d.last_received) : '—' }),
        td(4, { class: 'n', text: secondsText(d.interval_s) }),
        td(5, { class: 'n', text: numText(d.readings) }),
        ...cols.map((c, i) => td(6 + i, { class: 'n', text: last[c] == null ? '—' : numText(last[c], METRICS[c].digits) })));
    });
    p.body.replaceChildren(el('div', { class: 'table-wrap' }, el('table', { class: 'devices' }, el('thead', {}, head), el('tbody', {}, ...rows))));
    p.png.disabled = true;
    p.csv.disabled = false;
    const silent = list.filter((d) => d.silent).length;
    p.note.replaceChildren(el('strong', { text: silent ? `${silent} of ${list.length} silent.` : `All ${list.length} reporting.` }),
      ' "Received" is when the daemon last got a reading; "Last reading" is the reading\'s own time.');
  }

  // ---------------------------------------------------------------------------------------------
  // Pipeline health from /metrics (Prometheus text), scraped every few seconds.

  function parsePrometheus(text) {
    const out = [];
    for (const line of text.split('\n')) {
      if (!line || line[0] === '#') continue;
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
      if (!m) continue;
      const labels = {};
      if (m[3]) {
        const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
        let l;
        while ((l = re.exec(m[3]))) labels[l[1]] = l[2].replace(/\\(.)/g, (x, c) => (c === 'n' ? '\n' : c));
      }
      out.push({ name: m[1], labels, value: Number(m[4]) });
    }
    return out;
  }
  const metricsHistory = [];  // {t, received}
  let lastScrape = null;
  function sumOf(samples, name, pred = () => true) {
    let s = 0, found = false;
    for (const x of samples) if (x.name === name && pred(x.labels)) { s += x.value; found = true; }
    return found ? s : null;
  }

  async function scrapeMetrics() {
    const p = panels.pipeline;
    let text;
    try {
      const res = await fetch('/metrics', { headers: authHeaders() });
      if (!res.ok) throw new Error(`/metrics answered ${res.status}`);
      text = await res.text();
    } catch (e) {
      p.tiles = null;
      setState(p, 'error', `Cannot read the pipeline's metrics: ${e.message}`);
      return;
    }
    const t = Date.now();
    const samples = parsePrometheus(text);
    const received = (sumOf(samples, 'sensorpipe_messages_received_total') || 0) +
      (sumOf(samples, 'sensorpipe_http_messages_received_total') || 0);
    let rate = null;
    if (lastScrape && t > lastScrape.t) {
      rate = Math.max(0, (received - lastScrape.received) / ((t - lastScrape.t) / 1000));
      metricsHistory.push({ t, rate });
      while (metricsHistory.length > 720) metricsHistory.shift();
    }
    lastScrape = { t, received };
    drawPipeline(p, samples, rate, received);
  }

  function drawPipeline(p, samples, rate, received) {
    const rejected = samples.filter((x) => x.name === 'sensorpipe_messages_rejected_total');
    const rejectedTotal = rejected.reduce((a, x) => a + x.value, 0);
    const lags = samples.filter((x) => x.name === 'sensorpipe_consumer_lag_records');
    const files = samples.filter((x) => x.name === 'sensorpipe_lake_files');
    const raw = files.filter((x) => x.labels.format !== 'parquet').reduce((a, x) => a + x.value, 0);
    const compacted = files.filter((x) => x.labels.format === 'parquet').reduce((a, x) => a + x.value, 0);
    const lastCompaction = sumOf(samples, 'sensorpipe_compaction_last_committed_timestamp_seconds');
    const lakeBytes = sumOf(samples, 'sensorpipe_lake_bytes');
    const logBytes = sumOf(samples, 'sensorpipe_log_bytes');
    const connected = sumOf(samples, 'sensorpipe_mqtt_connected');
    const health = {
      messages_per_second: rate, received_total: received,
      rejected: Object.fromEntries(rejected.map((x) => [x.labels.reason, x.value])), rejected_total: rejectedTotal,
      lag: lags.map((x) => ({ stream: x.labels.stream, consumer: x.labels.consumer, view: x.labels.view, records: x.value })),
      lake_files: files.map((x) => ({ view: x.labels.view, format: x.labels.format, files: x.value })), raw_files: raw, compacted_files: compacted,
      last_compaction: lastCompaction ? lastCompaction * 1000 : null, lake_bytes: lakeBytes, log_bytes: logBytes, mqtt_connected: connected,
    };
    const tile = (k, v, detail, cls = '') => el('div', { class: `tile ${cls}` }, el('div', { class: 'k', text: k }), v, detail);
    const vv = (main, small) => el('div', { class: 'v' }, main, small ? el('small', { text: ` ${small}` }) : null);
    const dd = (pairs) => el('div', { class: 'd' }, ...pairs.map(([a, b]) => el('div', {}, el('span', { text: a }), el('span', { text: b }))));
    const nonzero = rejected.filter((x) => x.value > 0).sort((a, b) => b.value - a.value);
    const maxLag = lags.reduce((a, x) => Math.max(a, x.value), 0);
    const tiles = el('div', { class: 'tiles' },
      // A rate needs two scrapes: the first draws everything else and says the rate is coming.
      tile('Messages in', rate == null ? vv('—', 'measuring…') : vv(numText(rate, rate < 10 ? 1 : 0), '/s'),
        dd([['received', numText(received)], ['broker', connected == null ? '—' : connected ? 'connected' : 'disconnected']]),
        connected === 0 ? 'warn' : ''),
      tile('Rejected', vv(numText(rejectedTotal)),
        dd(nonzero.length ? nonzero.slice(0, 4).map((x) => [x.labels.reason, numText(x.value)]) : [['by reason', 'none']]),
        rejectedTotal > 0 ? 'warn' : ''),
      tile('Consumer lag', vv(numText(maxLag), 'records'),
        dd(lags.map((x) => [x.labels.consumer || x.labels.view || x.labels.stream || 'consumer', numText(x.value)])),
        maxLag > 10000 ? 'warn' : ''),
      tile('Lake objects', vv(numText(raw + compacted)),
        dd([['raw', numText(raw)], ['compacted', numText(compacted)]])),
      tile('Last compaction', vv(lastCompaction ? agoText(Date.now() - lastCompaction * 1000) : 'never'),
        dd([['at', lastCompaction ? `${dayLabel(lastCompaction * 1000, state.tz)} ${hourLabel(lastCompaction * 1000, state.tz)}` : '—']])),
      tile('Disk', vv(bytesText((lakeBytes || 0) + (logBytes || 0))),
        dd([['lake', bytesText(lakeBytes)], ['log', bytesText(logBytes)]])));
    if (!p.tiles) {
      p.tiles = el('div');
      p.rate = el('div', { class: 'rate-chart' });
      destroyChart(p);
      p.body.replaceChildren(p.tiles, p.rate);
    }
    p.tiles.replaceChildren(tiles);
    p.sub.textContent = `from /metrics every ${METRICS_POLL_MS / 1000} s · messages per second since this page opened`;
    const data = [metricsHistory.map((x) => x.t), metricsHistory.map((x) => x.rate)];
    exposed.pipeline = { state: 'ok', kind: 'pipeline', data, series: [{ label: 'messages/s' }], health };
    p.png.disabled = data[0].length === 0;
    p.csv.disabled = false;
    if (data[0].length < 1) {
      // Holds the chart's place (its height and the legend's), so the page does not jump when it comes.
      p.rate.replaceChildren(el('div', { class: 'state measuring',
        text: `Messages per second: measuring… the rate needs a second scrape, ${METRICS_POLL_MS / 1000} s after the first.` }));
      p.note.textContent = '';
      return;
    }
    p.note.textContent = '';
    const tz = state.tz;
    if (!p.u || p.rateTz !== tz) {
      if (p.u) p.u.destroy();
      p.rate.replaceChildren();
      const { width, height } = chartSize(p);
      p.u = new uPlot({
        width, height, ms: 1,
        tzDate: (ts) => uPlot.tzDate(new Date(ts), tz),
        cursor: { points: { size: 5 } },
        series: [{ label: 'Time', value: (u, v) => (v == null ? '—' : dateTimeLabel(v, tz)) },
          { label: 'messages/s', stroke: '#1f5fa8', fill: alpha('#1f5fa8', 0.12), width: 1.5, points: { show: false },
            value: (u, v) => (v == null ? '—' : `${numText(v, 1)} /s`) }],
        scales: { y: { range: (u, min, max) => [0, Math.max(1, max * 1.15)] } },
        axes: [timeAxis(p, tz), valueAxis('')],
      }, data, p.rate);
      p.charts = [p.u];
      p.rateTz = tz;
    } else {
      p.u.setData(data);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Downloads: the chart as PNG (title, legend and chart on one canvas), the data as CSV.

  function saveBlob(blob, name) {
    const a = el('a', { href: URL.createObjectURL(blob), download: name });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
  }
  function fileStem(p) {
    const r = currentRange();
    const day = (ms) => isoIn(ms, state.tz).slice(0, 16).replace(/[:T]/g, '');
    return `sensorpipe-${p.def.id}-${day(r.from)}-${day(r.to)}`;
  }
  function rangeText() {
    const r = currentRange();
    const tz = state.tz;
    return `${dayLabel(r.from, tz)} ${hourLabel(r.from, tz)} – ${dayLabel(r.to, tz)} ${hourLabel(r.to, tz)} (${tz})`;
  }

  // The PNG's legend: items in rows as wide as the chart, at most PNG_LEGEND_ROWS, then '+N more'.
  // g carries the legend's font. Returns the rows of {s, x} and where the last row ends.
  function legendRows(g, series, width, dpr) {
    const rows = series.length ? [[]] : [];
    const moreW = g.measureText(`+${series.length} more`).width;
    let x = 0;
    for (let i = 0; i < series.length; i++) {
      const w = 15 * dpr + g.measureText(series[i].label).width + 17 * dpr;
      const lastRow = rows.length === PNG_LEGEND_ROWS;
      const room = lastRow && i < series.length - 1 ? moreW : 0;
      if (x > 0 && x + w + room > width) {
        if (lastRow) return { rows, more: series.length - i, end: x };
        rows.push([]);
        x = 0;
      }
      rows[rows.length - 1].push({ s: series[i], x });
      x += w;
    }
    return { rows, more: 0, end: x };
  }
  function downloadPng(p) {
    if (!p.u) return;
    const canvases = p.charts.map((u) => u.ctx.canvas);
    const titles = p.charts.length > 1 ? p.charts.map((u) => (u.root.querySelector('.u-title') || {}).textContent || '') : [''];
    const dpr = canvases[0].width / p.u.width || 1;
    const titleH = p.charts.length > 1 ? 20 * dpr : 0;
    const src = { width: canvases[0].width, height: canvases.reduce((a, c) => a + c.height + titleH, 0) };
    const padding = 16 * dpr;
    const series = p.def.kind === 'pipeline' ? [{ label: 'messages/s', color: '#1f5fa8' }] : p.series || [];
    const c = document.createElement('canvas');
    const g = c.getContext('2d');
    g.font = `${12 * dpr}px Inter, system-ui, sans-serif`;
    const legend = legendRows(g, series, src.width, dpr);
    const legendH = legend.rows.length * 18 * dpr + (series.length ? 4 * dpr : 0);
    c.width = src.width + 2 * padding;  // resets the context, font and all
    c.height = src.height + 2 * padding + 44 * dpr + legendH + (p.note.textContent ? 20 * dpr : 0);
    g.fillStyle = '#fff';
    g.fillRect(0, 0, c.width, c.height);
    g.fillStyle = INK;
    g.textBaseline = 'top';
    g.font = `600 ${16 * dpr}px Inter, system-ui, sans-serif`;
    g.fillText(p.def.title, padding, padding);
    g.fillStyle = AXIS;
    g.font = `${12 * dpr}px Inter, system-ui, sans-serif`;
    g.fillText(`${p.sub.textContent} · ${rangeText()}`, padding, padding + 22 * dpr);
    let y = padding + 44 * dpr;
    legend.rows.forEach((row, r) => {
      const ry = y + r * 18 * dpr;
      for (const { s, x } of row) {
        g.fillStyle = s.color;
        g.fillRect(padding + x, ry + 3 * dpr, 10 * dpr, 10 * dpr);
        g.fillStyle = INK;
        g.fillText(s.label, padding + x + 15 * dpr, ry + 1 * dpr);
      }
      if (r === legend.rows.length - 1 && legend.more) {
        g.fillStyle = AXIS;
        g.fillText(`+${legend.more} more`, padding + legend.end, ry + 1 * dpr);
      }
    });
    y += legendH;
    let cy = y;
    canvases.forEach((cv, i) => {
      if (titleH) {
        g.fillStyle = INK;
        g.font = `600 ${12.5 * dpr}px Inter, system-ui, sans-serif`;
        g.fillText(titles[i], padding, cy + 3 * dpr);
        g.font = `${12 * dpr}px Inter, system-ui, sans-serif`;
        cy += titleH;
      }
      g.drawImage(cv, padding, cy);
      cy += cv.height;
    });
    if (p.note.textContent) {
      g.fillStyle = AXIS;
      g.fillText(p.note.textContent, padding, y + src.height + 6 * dpr, c.width - 2 * padding);
    }
    // Synchronously, so the download starts inside the user's click (toBlob's callback would run
    // after it).
    const bin = atob(c.toDataURL('image/png').split(',')[1]);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    saveBlob(new Blob([bytes], { type: 'image/png' }), `${fileStem(p)}.png`);
  }

  function csvCell(v) {
    if (v == null) return '';
    const s = String(v);
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  }
  function csvFor(p) {
    const x = exposed[p.def.id];
    const tz = state.tz;
    const time = (ms) => isoIn(ms, tz);
    const rows = [];
    switch (p.def.kind) {
      case 'line': {
        rows.push(['time', ...x.series.map((s) => `${s.device} ${s.metric} (${METRICS[s.metric].unit})`)]);
        x.data[0].forEach((t, i) => {
          const values = x.series.map((s, k) => x.data[k + 1][i]);
          if (values.some((v) => v != null)) rows.push([time(t), ...values]);  // not the gap markers
        });
        break;
      }
      case 'hourly': {
        const unit = METRICS[p.def.metric].unit;
        rows.push(['hour', ...x.series.flatMap((s) => [`${s.device} avg ${s.metric} (${unit})`, `${s.device} readings`, `${s.device} half_empty`])]);
        x.data[0].forEach((t, i) => rows.push([time(t), ...x.series.flatMap((s, k) => [x.data[k + 1][i], x.counts[k][i], x.flagged[k][i]])]));
        break;
      }
      case 'scatter': {
        rows.push(['device', 'bucket', 'temperature (°C)', 'humidity (%)']);
        for (const q of x.pairs) rows.push([q.device, time(q.t), q.temperature, q.humidity]);
        break;
      }
      case 'devices': {
        rows.push(['device', 'silent', 'first', 'last', 'last_received', 'interval_s', 'readings', ...Object.keys(METRICS)]);
        for (const d of x.data) {
          rows.push([d.device, d.silent, d.first != null ? time(d.first) : '', d.last != null ? time(d.last) : '',
            d.last_received != null ? time(d.last_received) : '', d.interval_s, d.readings,
            ...Object.keys(METRICS).map((m) => (d.last_reading || {})[m])]);
        }
        break;
      }
      case 'pipeline': {
        rows.push(['time', 'messages_per_second']);
        x.data[0].forEach((t, i) => rows.push([time(t), x.data[1][i]]));
        break;
      }
      default:
    }
    return rows.map((r) => r.map(csvCell).join(',')).join('\r\n') + '\r\n';
  }
  function downloadCsv(p) {
    if (!exposed[p.def.id] || !exposed[p.def.id].data) return;
    saveBlob(new Blob([csvFor(p)], { type: 'text/csv' }), `${fileStem(p)}.csv`);
  }

  // ---------------------------------------------------------------------------------------------
  // Controls

  let state = readState();
  let autoFirst = null;  // the first reading the auto range starts at (firstReading), null for none
  let knownDevices = [];
  // A device's shade and dash: its place among the devices chosen, or when all are, among those
  // the panel shows (one device alone is always drawn plain).
  // Built once per panel: a fleet of 1,000 devices would otherwise sort the list once per series.
  function deviceIndexer(shown) {
    const among = state.devices.length ? [...state.devices].sort() : [...new Set(shown)].sort();
    const index = new Map(among.map((d, k) => [d, k]));
    return (d) => index.get(d) || 0;
  }

  function fillZones() {
    const sel = $('#tz');
    let zones = [];
    try {
      zones = Intl.supportedValuesOf('timeZone');
    } catch (e) {
      zones = [];
    }
    zones = [...new Set(['UTC', browserTz, state.tz, ...zones])];
    const head = ['UTC', browserTz];
    const rest = zones.filter((z) => !head.includes(z)).sort();
    sel.replaceChildren(...[...new Set(head)].map((z) => el('option', { value: z, text: z === browserTz ? `${z} (this browser)` : z })),
      el('option', { disabled: '', text: '──────────' }),
      ...rest.map((z) => el('option', { value: z, text: z })));
    sel.value = state.tz;
  }

  function syncControls() {
    $('#range').value = state.range;
    $('#controls').classList.toggle('custom', state.range === 'custom');
    const r = currentRange();
    $('#from').value = localInputValue(r.from, state.tz);
    $('#to').value = localInputValue(r.to, state.tz);
    $('#tz').value = state.tz;
    $('#bucket').value = state.bucket;
    $('#live').checked = state.live;
    syncDevices();
  }
  function syncDevices() {
    const list = $('#device-list');
    const all = [...new Set([...knownDevices, ...state.devices])].sort();
    list.replaceChildren(...all.map((d) => el('label', { class: 'check' },
      (() => {
        const cb = el('input', { type: 'checkbox', value: d });
        cb.checked = state.devices.includes(d);
        cb.addEventListener('change', () => {
          const chosen = [...list.querySelectorAll('input:checked')].map((x) => x.value);
          state.devices = chosen.length === all.length ? [] : chosen;
          changed();
        });
        return cb;
      })(), ` ${d}`)));
    $('#device-all').checked = state.devices.length === 0;
    $('#devices-summary').textContent = state.devices.length === 0 ? 'All devices' :
      state.devices.length === 1 ? state.devices[0] : `${state.devices.length} devices`;
  }

  function bindControls() {
    $('#range').addEventListener('change', (e) => {
      const v = e.target.value;
      if (v === 'custom') {
        const r = currentRange();
        state.from = r.from;
        state.to = r.to;
      }
      state.range = v;
      changed();
    });
    const onCustom = () => {
      const from = parseLocalInput($('#from').value, state.tz);
      const to = parseLocalInput($('#to').value, state.tz);
      if (from == null || to == null || from >= to) return;
      state.from = from;
      state.to = to;
      changed();
    };
    $('#from').addEventListener('change', onCustom);
    $('#to').addEventListener('change', onCustom);
    $('#tz').addEventListener('change', (e) => {
      if (!validTz(e.target.value)) return;
      state.tz = e.target.value;
      changed();
    });
    $('#bucket').addEventListener('change', (e) => {
      state.bucket = e.target.value;
      changed();
    });
    $('#device-all').addEventListener('change', () => {
      state.devices = [];
      changed();
    });
    $('#live').addEventListener('change', (e) => {
      state.live = e.target.checked;
      writeState();
      setLive(state.live);
    });
    document.addEventListener('click', (e) => {
      const menu = $('#devices-menu');
      if (menu.open && !menu.contains(e.target)) menu.open = false;
    });
    $('#controls').addEventListener('submit', (e) => e.preventDefault());
    $('#auth').addEventListener('submit', (e) => {
      e.preventDefault();
      token = $('#auth-token').value.trim();
      try {
        sessionStorage.setItem(TOKEN_KEY, token);
      } catch (err) {
        // a private window may refuse storage: the token then lasts until a reload
      }
      $('#auth').hidden = true;
      $('#auth-token').value = '';
      refresh();
      scrapeMetrics();
      if (state.live) setLive(true);
    });
  }

  function changed() {
    writeState();
    syncControls();
    refresh();
  }

  // ---------------------------------------------------------------------------------------------
  // Live mode: the rollup's events say when new readings arrived; the shown series are fetched again.

  let source = null;
  function setLiveStatus(text, cls) {
    const status = $('#live-status');
    status.textContent = text;
    status.className = `live-status ${cls}`;
  }
  function onReadings(data) {
    let ev = {};
    try {
      ev = JSON.parse(data);
    } catch (err) {
      ev = {};
    }
    window.sensorpipe.events += 1;
    const shown = state.devices.length === 0 || !ev.devices || ev.devices.some((d) => state.devices.includes(d));
    if (!shown) return;
    if (state.range === 'custom' && ev.last != null && (ev.last < state.from || ev.last >= state.to)) return;
    refresh();
  }
  function setLive(on) {
    if (source) source.close();
    source = null;
    if (!on) {
      setLiveStatus('', '');
      return;
    }
    setLiveStatus('connecting…', 'retry');
    source = token ? new TokenEventStream('/api/events') : new EventSource('/api/events');
    source.addEventListener('open', () => setLiveStatus('live', 'on'));
    // Both reconnect by themselves; say so while they do.
    source.addEventListener('error', () => setLiveStatus('reconnecting…', 'retry'));
    source.addEventListener('readings', (e) => onReadings(e.data));
  }

  // EventSource cannot send an Authorization header: with a token, the same stream is read with
  // fetch and parsed here (event/data lines, blank line ends an event), reconnecting after 2 s.
  class TokenEventStream extends EventTarget {
    constructor(url) {
      super();
      this.abort = new AbortController();
      this.run(url);
    }
    close() {
      this.abort.abort();
    }
    emit(type, data) {
      const e = new Event(type);
      e.data = data;
      this.dispatchEvent(e);
    }
    async run(url) {
      const { signal } = this.abort;
      while (!signal.aborted) {
        try {
          const res = await fetch(url, { headers: Object.assign({ Accept: 'text/event-stream' }, authHeaders()), signal });
          if (!res.ok || !res.body) throw new Error(`${url} answered ${res.status}`);
          this.emit('open');
          const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
          let buf = '';
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            buf += value.replace(/\r\n?/g, '\n');
            let end;
            while ((end = buf.indexOf('\n\n')) >= 0) {
              const block = buf.slice(0, end);
              buf = buf.slice(end + 2);
              let type = 'message';
              const data = [];
              for (const line of block.split('\n')) {
                if (line === '' || line[0] === ':') continue;
                const colon = line.indexOf(':');
                const field = colon < 0 ? line : line.slice(0, colon);
                const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
                if (field === 'event') type = value;
                else if (field === 'data') data.push(value);
              }
              if (data.length) this.emit(type, data.join('\n'));
            }
          }
        } catch (e) {
          if (signal.aborted) return;
        }
        this.emit('error');
        await new Promise((r) => setTimeout(r, 2000));
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Refresh: every panel from one consistent set of answers.

  let generation = 0;
  let running = null;
  let again = false;

  function refresh() {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        await refreshOnce();
      } while (again);
      running = null;
    })();
    return running;
  }

  async function refreshOnce() {
    const gen = ++generation;
    const started = performance.now();
    const get = makeFetcher();
    const devices = get('/api/devices');
    // The auto range starts where the readings do: it waits for the devices' first readings (a
    // failed answer leaves the whole window; the device panel shows the error).
    if (state.range === 'auto') autoFirst = await devices.then((d) => firstReading(d.devices), () => null);
    const range = currentRange();
    const ctx = { range, get, devices };
    ctx.devices.then((d) => {
      const names = d.devices.map((x) => x.device).sort();
      if (JSON.stringify(names) !== JSON.stringify(knownDevices)) {
        knownDevices = names;
        syncDevices();
      }
    }, () => {});
    const draws = { hourly: drawHourly, line: drawLine, scatter: drawScatter, devices: drawDevices };
    await Promise.all(Object.values(panels).filter((p) => draws[p.def.kind]).map(async (p) => {
      if (!p.u && !exposed[p.def.id].data) setState(p, 'loading', 'Loading…');
      try {
        await draws[p.def.kind](p, ctx);
      } catch (e) {
        if (gen !== generation) return;
        setState(p, 'error', e instanceof ApiError ? e.message : `Could not draw this panel: ${e.message}`);
        p.note.textContent = '';
        console.warn(`panel ${p.def.id}:`, e);
      }
    }));
    const z = state.tz;
    const bucket = ctx.bucketS ? ` · bucket ${BUCKET_NAMES[ctx.bucketS] || `${ctx.bucketS} s`}${state.bucket === 'auto' ? ' (auto)' : ''}` : '';
    $('#summary').textContent = `${rangeText()}${bucket}${ctx.source ? ` · from the ${ctx.source}` : ''} · UTC${fmtOffset(offsetMs(range.to, z))}`;
    window.sensorpipe.generation = gen;
    window.sensorpipe.lastRefreshMs = performance.now() - started;
    window.sensorpipe.lastRefreshAt = Date.now();
  }
  function fmtOffset(ms) {
    const m = Math.round(ms / 60000);
    if (m === 0) return '';
    const a = Math.abs(m);
    return `${m < 0 ? '−' : '+'}${Math.floor(a / 60)}${a % 60 ? `:${pad2(a % 60)}` : ''}`;
  }

  // ---------------------------------------------------------------------------------------------
  // Start

  window.sensorpipe = {
    panels: exposed,
    charts: {},  // id -> the uPlot instance, for debugging
    generation: 0,
    events: 0,
    ready: null,
    readyMs: null,
    refresh: () => refresh(),
    state: () => Object.assign({}, state, currentRange()),
  };

  function start() {
    buildPanels();
    fillZones();
    syncControls();
    bindControls();
    writeState();
    const metricsLoop = async () => {
      await scrapeMetrics();
      setTimeout(metricsLoop, METRICS_POLL_MS);
    };
    const first = scrapeMetrics();
    setTimeout(metricsLoop, METRICS_POLL_MS);
    // Ready once every panel has drawn its first answer; the pipeline panel's rate, which needs a
    // second scrape METRICS_POLL_MS later, is not waited for. readyMs is the time from navigation
    // start (performance.now()), for bench/dashboard_load.mjs.
    window.sensorpipe.ready = Promise.all([refresh(), first]).then(() => {
      window.sensorpipe.readyMs = performance.now();
      document.documentElement.dataset.ready = '1';
      return true;
    });
    setLive(state.live);
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
