// CouponPop merchant dashboard: sign in, pick a store, read the numbers.
// Plain browser JavaScript and inline SVG: no build step, no CDN, works
// offline from the API binary (assets are embedded with go:embed).
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);
  const SVG = 'http://www.w3.org/2000/svg';
  const DAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
  const DAY_NAMES = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];
  const SERIES = [
    { key: 'issued', label: 'Issued', color: 'var(--issued)' },
    { key: 'used', label: 'Used', color: 'var(--used)' },
    { key: 'expired', label: 'Expired', color: 'var(--expired)', dash: '5 4' },
    { key: 'canceled', label: 'Canceled', color: 'var(--canceled)', dash: '2 3' },
  ];
  const nf = new Intl.NumberFormat('en-US');

  // Tokens live in sessionStorage: one tab, gone when it closes.
  const session = {
    get access() { return sessionStorage.getItem('cp.access'); },
    get refresh() { return sessionStorage.getItem('cp.refresh'); },
    get email() { return sessionStorage.getItem('cp.email') || ''; },
    save(t, email) {
      sessionStorage.setItem('cp.access', t.access_token);
      sessionStorage.setItem('cp.refresh', t.refresh_token);
      if (email) sessionStorage.setItem('cp.email', email);
    },
    clear() { ['cp.access', 'cp.refresh', 'cp.email'].forEach((k) => sessionStorage.removeItem(k)); },
  };

  class APIError extends Error {
    constructor(status, problem) {
      super(problem.detail || problem.title || ('HTTP ' + status));
      this.status = status;
      this.code = problem.code;
    }
  }

  // api calls the JSON API with the access token, refreshing it once on 401.
  async function api(path, opts = {}, retry = true) {
    const headers = Object.assign({ Accept: 'application/json' }, opts.headers || {});
    if (session.access) headers.Authorization = 'Bearer ' + session.access;
    const res = await fetch(path, Object.assign({}, opts, { headers }));
    if (res.status === 401 && retry && session.refresh && await refresh()) {
      return api(path, opts, false);
    }
    if (!res.ok) {
      let problem = {};
      try { problem = await res.json(); } catch (_) { /* not JSON */ }
      throw new APIError(res.status, problem);
    }
    return res;
  }

  async function refresh() {
    const res = await fetch('/api/v1/auth/refresh', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ refresh_token: session.refresh }),
    });
    if (!res.ok) return false;
    session.save(await res.json());
    return true;
  }

  function show(view) {
    $('login').hidden = view !== 'login';
    $('board').hidden = view !== 'board';
    $('who').hidden = view !== 'board';
    $('who-email').textContent = session.email;
  }

  function fail(el, err) {
    el.textContent = err.message + (err.code ? ' (' + err.code + ')' : '');
    el.hidden = false;
  }

  // ---- sign in -----------------------------------------------------------

  $('login-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    $('login-error').hidden = true;
    const email = $('email').value.trim();
    try {
      const res = await api('/api/v1/auth/login', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ email, password: $('password').value }),
      }, false);
      session.save(await res.json(), email);
      $('password').value = '';
      await start();
    } catch (err) {
      fail($('login-error'), err);
    }
  });

  $('logout').addEventListener('click', () => {
    session.clear();
    show('login');
  });

  // ---- stores and window ---------------------------------------------------

  async function start() {
    show('board');
    const res = await api('/api/v1/members/me/stores');
    const stores = (await res.json()).items || [];
    const sel = $('store');
    sel.replaceChildren(...stores.map((s) => {
      const o = document.createElement('option');
      o.value = s.id;
      o.textContent = s.name + ' · ' + s.timezone;
      return o;
    }));
    if (stores.length === 0) {
      $('status').textContent = 'You have no stores yet: create one, then come back.';
      return;
    }
    await load();
  }

  // addDay returns the ISO date after d (YYYY-MM-DD), calendar-only.
  function addDay(d) {
    const t = new Date(d + 'T00:00:00Z');
    t.setUTCDate(t.getUTCDate() + 1);
    return t.toISOString().slice(0, 10);
  }

  function query(extra) {
    const q = new URLSearchParams({ bucket: $('bucket').value });
    if ($('from').value) q.set('from', $('from').value);
    // "Through" is inclusive for people; the API's to is exclusive.
    if ($('through').value) q.set('to', addDay($('through').value));
    if ($('tz').value.trim()) q.set('tz', $('tz').value.trim());
    Object.entries(extra || {}).forEach(([k, v]) => q.set(k, v));
    return '/api/v1/stores/' + encodeURIComponent($('store').value) + '/dashboard?' + q;
  }

  async function load() {
    $('board-error').hidden = true;
    $('status').textContent = 'Loading…';
    document.body.dataset.state = 'loading';
    try {
      const res = await api(query());
      const d = await res.json();
      render(d);
      $('status').textContent = 'Showing ' + wall(d.from) + ' → ' + wall(d.to) + ' (' + d.timezone + ', by ' + d.bucket + ')';
      document.body.dataset.state = 'ready';
      document.body.dataset.store = String(d.store_id);
    } catch (err) {
      $('status').textContent = '';
      if (err.status === 401) { session.clear(); show('login'); return; }
      fail($('board-error'), err);
      document.body.dataset.state = 'error';
    }
  }

  $('controls').addEventListener('submit', (ev) => { ev.preventDefault(); load(); });
  $('store').addEventListener('change', load);
  $('bucket').addEventListener('change', load);

  $('export').addEventListener('click', async () => {
    try {
      const res = await api(query({ format: 'csv' }), { headers: { Accept: 'text/csv' } });
      const blob = await res.blob();
      const m = /filename="?([^";]+)"?/.exec(res.headers.get('Content-Disposition') || '');
      const a = document.createElement('a');
      a.href = URL.createObjectURL(blob);
      a.download = m ? m[1] : 'dashboard.csv';
      a.click();
      setTimeout(() => URL.revokeObjectURL(a.href), 10000);
    } catch (err) {
      fail($('board-error'), err);
    }
  });

  // ---- rendering -------------------------------------------------------------

  // wall shows the local wall-clock part of an RFC 3339 time as the API sent
  // it (in the dashboard's zone, not the browser's).
  const wall = (s) => s.slice(0, 16).replace('T', ' ');

  function render(d) {
    renderTotals(d.totals);
    renderChart(d.series, d.bucket);
    renderHeatmap(d.heatmap);
    renderBest(d.best_hours);
    renderEvents(d.events);
  }

  function setMetric(id, text, value) {
    const el = $(id);
    el.textContent = text;
    el.dataset.value = String(value);
  }

  function minutes(m) {
    if (m === null || m === undefined) return '–';
    if (m < 120) return nf.format(Math.round(m * 10) / 10) + ' min';
    if (m < 48 * 60) return nf.format(Math.round(m / 6) / 10) + ' h';
    return nf.format(Math.round(m / 144) / 10) + ' days';
  }

  function renderTotals(t) {
    setMetric('total-issued', nf.format(t.issued), t.issued);
    setMetric('total-used', nf.format(t.used), t.used);
    setMetric('total-conversion', (t.conversion * 100).toFixed(1) + '%', t.conversion);
    setMetric('total-remaining', nf.format(t.remaining), t.remaining);
    setMetric('total-unique', nf.format(t.unique_members), t.unique_members);
    setMetric('total-repeat', nf.format(t.repeat_members), t.repeat_members);
    setMetric('total-median', minutes(t.median_minutes_to_use), t.median_minutes_to_use === null ? '' : t.median_minutes_to_use);
    setMetric('total-expired-canceled', nf.format(t.expired) + ' · ' + nf.format(t.canceled), t.expired + ',' + t.canceled);
  }

  function el(name, attrs, parent) {
    const e = document.createElementNS(SVG, name);
    Object.entries(attrs || {}).forEach(([k, v]) => e.setAttribute(k, v));
    if (parent) parent.appendChild(e);
    return e;
  }

  // niceTop is the chart's top: four gridlines apart by 1, 2 or 5 times a
  // power of ten, so every label is a whole count.
  function niceTop(v) {
    const raw = Math.max(1, Math.ceil(v / 4));
    const p = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw);
    return 4 * step;
  }

  function bucketLabel(s, bucket) {
    const w = wall(s); // YYYY-MM-DD HH:MM
    return bucket === 'hour' ? w.slice(5) : w.slice(5, 10);
  }

  function renderChart(series, bucket) {
    const W = 960, H = 300, L = 48, R = 12, T = 12, B = 34;
    const pw = W - L - R, ph = H - T - B, n = series.length;
    const top = niceTop(Math.max(0, ...series.flatMap((p) => SERIES.map((s) => p[s.key]))));
    const x = (i) => L + (i + 0.5) * pw / n;
    const y = (v) => T + ph - v / top * ph;

    const svg = el('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': 'Coupons over time', 'data-points': n });
    const grid = el('g', { class: 'grid' }, svg);
    const axis = el('g', { class: 'axis' }, svg);
    for (let k = 0; k <= 4; k++) {
      const v = top * k / 4;
      el('line', { x1: L, x2: W - R, y1: y(v), y2: y(v) }, grid);
      el('text', { x: L - 6, y: y(v) + 4, 'text-anchor': 'end' }, axis).textContent = nf.format(v);
    }
    const every = Math.max(1, Math.ceil(n / 8));
    series.forEach((p, i) => {
      if (i % every !== 0) return;
      el('text', { x: x(i), y: H - 12, 'text-anchor': 'middle' }, axis).textContent = bucketLabel(p.bucket_start, bucket);
    });

    for (const s of SERIES) {
      const d = series.map((p, i) => (i ? 'L' : 'M') + x(i).toFixed(1) + ' ' + y(p[s.key]).toFixed(1)).join(' ');
      el('path', {
        d, fill: 'none', stroke: s.color, 'stroke-width': s.key === 'issued' || s.key === 'used' ? 2.5 : 1.5,
        'stroke-dasharray': s.dash || 'none', 'data-series': s.key, 'stroke-linejoin': 'round',
      }, svg);
      if (n <= 62 && (s.key === 'issued' || s.key === 'used')) {
        series.forEach((p, i) => el('circle', { cx: x(i), cy: y(p[s.key]), r: 3, fill: s.color }, svg));
      }
    }

    // Hover: a guide line and the bucket's numbers.
    const hover = el('g', { class: 'hover', visibility: 'hidden' }, svg);
    const guide = el('line', { y1: T, y2: T + ph }, hover);
    const tip = el('g', { class: 'tip' }, hover);
    const box = el('rect', { rx: 4, width: 150, height: 84 }, tip);
    const lines = [0, 1, 2, 3, 4].map((k) => el('text', { x: 8, y: 17 + k * 15 }, tip));
    const overlay = el('rect', { x: L, y: T, width: pw, height: ph, fill: 'transparent' }, svg);
    overlay.addEventListener('mousemove', (ev) => {
      const r = svg.getBoundingClientRect();
      const px = (ev.clientX - r.left) * W / r.width;
      const i = Math.min(n - 1, Math.max(0, Math.floor((px - L) / pw * n)));
      const p = series[i];
      guide.setAttribute('x1', x(i));
      guide.setAttribute('x2', x(i));
      lines[0].textContent = wall(p.bucket_start);
      SERIES.forEach((s, k) => { lines[k + 1].textContent = s.label + ': ' + nf.format(p[s.key]); });
      const tx = x(i) + 160 > W ? x(i) - 160 : x(i) + 10;
      tip.setAttribute('transform', `translate(${tx},${T + 4})`);
      box.setAttribute('width', 150);
      hover.setAttribute('visibility', 'visible');
    });
    overlay.addEventListener('mouseleave', () => hover.setAttribute('visibility', 'hidden'));

    $('chart').replaceChildren(svg);
    $('legend').replaceChildren(...SERIES.map((s) => {
      const span = document.createElement('span');
      const i = document.createElement('i');
      i.style.background = s.color;
      span.append(i, s.label);
      return span;
    }));
  }

  // heat blends from pale to deep orange by the share of the busiest cell.
  function heat(v, max) {
    if (!v) return '#f2f4f7';
    const t = Math.sqrt(v / max); // sqrt keeps quiet hours visible
    const a = [255, 237, 213], b = [194, 65, 12];
    return 'rgb(' + a.map((c, k) => Math.round(c + (b[k] - c) * t)).join(',') + ')';
  }

  function renderHeatmap(h) {
    const cw = 30, ch = 24, L = 40, T = 18;
    const svg = el('svg', { viewBox: `0 0 ${L + 24 * cw + 4} ${T + 7 * ch + 4}`, role: 'img', 'aria-label': 'Uses by weekday and hour' });
    let max = 0, hot = null;
    h.forEach((row, wd) => row.forEach((v, hr) => { if (v > max) { max = v; hot = [wd, hr]; } }));
    for (let hr = 0; hr < 24; hr += 3) {
      el('text', { x: L + hr * cw + cw / 2, y: 12, 'text-anchor': 'middle' }, svg).textContent = String(hr).padStart(2, '0');
    }
    h.forEach((row, wd) => {
      el('text', { x: L - 6, y: T + wd * ch + ch / 2 + 4, 'text-anchor': 'end' }, svg).textContent = DAYS[wd];
      row.forEach((v, hr) => {
        const isHot = hot && hot[0] === wd && hot[1] === hr;
        const r = el('rect', {
          x: L + hr * cw + 1, y: T + wd * ch + 1, width: cw - 2, height: ch - 2, rx: 3,
          fill: heat(v, max), 'data-weekday': wd, 'data-hour': hr, 'data-uses': v,
          class: isHot ? 'cell hot' : 'cell',
        }, svg);
        el('title', {}, r).textContent = `${DAY_NAMES[wd]} ${String(hr).padStart(2, '0')}:00 · ${uses(v)}`;
      });
    });
    $('heatmap').replaceChildren(svg);
  }

  const uses = (n) => nf.format(n) + (n === 1 ? ' use' : ' uses');
  const hourRange = (h) => String(h).padStart(2, '0') + ':00–' + String((h + 1) % 24).padStart(2, '0') + ':00';

  function renderBest(best) {
    $('best-hours').replaceChildren(...best.map((b) => {
      const li = document.createElement('li');
      li.dataset.weekday = b.weekday;
      li.dataset.hour = b.hour;
      li.textContent = `${DAY_NAMES[b.weekday]} ${hourRange(b.hour)} · ${uses(b.uses)}`;
      return li;
    }));
    $('suggestion').textContent = best.length
      ? `Coupons get used most on ${DAY_NAMES[best[0].weekday]}s around ${hourRange(best[0].hour).slice(0, 5)}: launch the next event shortly before.`
      : 'No coupons were used in this window yet.';
  }

  function renderEvents(events) {
    const body = $('events').tBodies[0];
    body.replaceChildren(...events.map((e) => {
      const tr = document.createElement('tr');
      tr.dataset.eventId = e.id;
      const cells = [e.title, e.status, e.total, e.issued, e.unclaimed, e.used, e.unused];
      cells.forEach((v, k) => {
        const td = document.createElement('td');
        td.textContent = k < 2 ? v : nf.format(v);
        if (k >= 2) td.className = 'n';
        tr.appendChild(td);
      });
      return tr;
    }));
    if (!events.length) {
      const tr = document.createElement('tr');
      const td = document.createElement('td');
      td.colSpan = 7;
      td.textContent = 'No events in this window.';
      tr.appendChild(td);
      body.appendChild(tr);
    }
  }

  // ---- boot ------------------------------------------------------------------

  if (session.access) {
    start().catch((err) => {
      if (err.status === 401) { session.clear(); show('login'); return; }
      fail($('board-error'), err);
    });
  } else {
    show('login');
  }
})();
