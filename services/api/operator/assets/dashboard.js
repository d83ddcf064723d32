// The operator dashboard: polls the JSON under /v1/admin/dashboard/* and fills the panels
// that the server rendered. Plain browser JavaScript, no build step; every value goes in
// through textContent, never as HTML, so account ids and dead-letter payloads cannot inject.
/* global uPlot */
'use strict';

const API = '/v1/admin/dashboard';
const $ = (id) => document.getElementById(id);

class Unauthorized extends Error {}

async function getJson(path) {
  const res = await fetch(path, { headers: { accept: 'application/json' }, credentials: 'same-origin' });
  if (res.status === 401) throw new Unauthorized('signed out');
  const body = await res.json().catch(() => null);
  if (!res.ok) throw new Error(body?.error?.message ?? `HTTP ${res.status}`);
  return body;
}

/** Runs a panel's refresh; its status line says "loading", the error, or nothing when fine. */
async function refresh(panelId, load) {
  const status = document.querySelector(`#${panelId} [data-status]`);
  try {
    await load();
    status.textContent = '';
    status.hidden = true;
    $('updated-at').textContent = new Date().toLocaleTimeString();
  } catch (err) {
    if (err instanceof Unauthorized) {
      window.location.assign('/login?next=%2F');
      return;
    }
    status.hidden = false;
    status.textContent = `Could not load: ${err.message}`;
    status.classList.add('error');
  }
}

const fmtInt = (n) => (n === null || n === undefined ? '–' : Number(n).toLocaleString('en-US'));
const fmtTime = (iso) => (iso ? `${iso.slice(0, 19).replace('T', ' ')}Z` : '—');
const fmtRate = (v) => (v === null || v === undefined ? '–' : `${v.toLocaleString('en-US', { maximumFractionDigits: 1 })}/s`);

function cell(text, className) {
  const td = document.createElement('td');
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

/** Replaces a table's rows; an empty list shows one row that says so (never a blank table). */
function fillTable(id, rows, emptyText) {
  const tbody = $(id).querySelector('tbody');
  const columns = $(id).querySelectorAll('thead th').length;
  tbody.replaceChildren();
  if (rows.length === 0) {
    const tr = document.createElement('tr');
    const td = cell(emptyText, 'empty');
    td.colSpan = columns;
    tr.append(td);
    tbody.append(tr);
    return;
  }
  for (const row of rows) tbody.append(row);
}

function row(values, attrs = {}) {
  const tr = document.createElement('tr');
  for (const [k, v] of Object.entries(attrs)) tr.setAttribute(k, v);
  for (const v of values) tr.append(v instanceof HTMLElement ? v : cell(v));
  return tr;
}

// ---- rates chart --------------------------------------------------------------------

let chart = null;
/** The x-axis spans exactly the window ending now (uPlot would otherwise pad the range of the few points it has). */
let xWindow = [0, 1];

function drawRates(series) {
  const end = series.now ?? Math.round(Date.now() / 1000);
  xWindow = [end - (series.window_ms ?? 600_000) / 1000, end];
  const pts = series.points;
  const xs = pts.map((p) => p[0]);
  const ingest = pts.map((p) => p[1]);
  const charged = pts.map((p) => p[2]);
  const el = $('rate-chart');
  const width = Math.max(320, el.clientWidth || 640);
  if (!chart && typeof uPlot === 'function') {
    chart = new uPlot(
      {
        width,
        height: 220,
        scales: { x: { time: true, range: () => xWindow }, y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] } },
        axes: [{}, { label: 'records/s', size: 70 }],
        series: [{}, { label: 'ingest', stroke: '#2563eb', width: 2 }, { label: 'charged', stroke: '#16a34a', width: 2 }],
      },
      [xs, ingest, charged],
      el,
    );
    window.addEventListener('resize', () => chart.setSize({ width: Math.max(320, el.clientWidth), height: 220 }));
  } else if (chart) {
    chart.setData([xs, ingest, charged]);
  }
  const last = pts[pts.length - 1];
  const peak = (i) => pts.reduce((m, p) => Math.max(m, p[i] ?? 0), 0);
  const figure = $('rate-figure');
  figure.dataset.peakIngest = String(peak(1));
  figure.dataset.peakCharged = String(peak(2));
  figure.dataset.points = String(pts.length);
  if (chart && Number.isFinite(chart.scales.x.max)) [figure.dataset.xMin, figure.dataset.xMax] = [String(chart.scales.x.min), String(chart.scales.x.max)];
  $('rate-summary').textContent = last
    ? `Latest: ingest ${fmtRate(last[1])}, charged ${fmtRate(last[2])}. Peak in window: ingest ${fmtRate(peak(1))}, charged ${fmtRate(peak(2))}.`
    : 'No samples yet: the first appears within a few seconds.';
}

// ---- panels -------------------------------------------------------------------------

const knownCodes = new Set();

async function loadOverview() {
  const o = await getJson(`${API}/overview`);
  drawRates(o.rates);
  $('tile-usage').textContent = o.streams ? fmtInt(o.streams.usage_messages) : 'unavailable';
  $('tile-dead').textContent = o.streams ? fmtInt(o.streams.dead_letters) : 'unavailable';
  $('tile-lag').textContent = o.consumer ? fmtInt(o.consumer.pending) : 'unavailable';
  $('tile-inflight').textContent = o.consumer ? fmtInt(o.consumer.ack_pending) : 'unavailable';
  await refresh('queues', async () => {
    if (o.queues_error) throw new Error(o.queues_error);
    const states = ['waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed'];
    const total = Object.fromEntries(states.map((s) => [s, 0]));
    const shardQueues = o.queues.filter((q) => q.queue.startsWith('tally-shard-'));
    for (const q of shardQueues) for (const s of states) total[s] += q.counts[s] ?? 0;
    const busy = shardQueues.filter((q) => states.some((s) => s !== 'completed' && (q.counts[s] ?? 0) > 0));
    const rows = [
      row([`all ${shardQueues.length} shard queues`, ...states.map((s) => fmtInt(total[s]))], { class: 'total' }),
      ...o.queues
        .filter((q) => !q.queue.startsWith('tally-shard-') || busy.includes(q))
        .map((q) => row([q.queue, ...states.map((s) => fmtInt(q.counts[s] ?? 0))])),
    ];
    fillTable('queues-table', rows, 'No queues.');
  });
  // The per-code counts come with the overview; the list below has its own status line.
  const counts = Object.entries(o.dead_by_code ?? {}).sort((a, b) => b[1] - a[1]);
  fillTable(
    'dead-codes-table',
    counts.map(([code, n]) => row([code, fmtInt(n)])),
    o.dead_by_code ? 'No dead letters: every record so far was valid.' : 'Unavailable.',
  );
  const select = $('dead-code');
  for (const [code] of counts) {
    if (knownCodes.has(code)) continue;
    knownCodes.add(code);
    const option = document.createElement('option');
    option.value = code;
    option.textContent = code;
    select.append(option);
  }
  const problems = [o.consumer_error && `JetStream consumer: ${o.consumer_error}`, o.streams_error && `streams: ${o.streams_error}`].filter(Boolean);
  if (problems.length > 0) throw new Error(problems.join('; '));
}

async function loadDeadLetters() {
  const code = $('dead-code').value;
  const body = await getJson(`${API}/dead-letters?limit=50${code ? `&code=${encodeURIComponent(code)}` : ''}`);
  const rows = body.dead_letters.map((d) => {
    const button = document.createElement('button');
    button.type = 'button';
    button.textContent = 'View';
    button.setAttribute('aria-label', `View dead letter ${d.seq}`);
    button.addEventListener('click', () => void openDeadLetter(d.seq));
    const action = document.createElement('td');
    action.append(button);
    return row(
      [String(d.seq), fmtTime(d.received_at ?? d.stored_at), d.code, d.subject, d.message, cell(d.payload + (d.truncated ? '…' : ''), 'payload'), action],
      { 'data-seq': String(d.seq) },
    );
  });
  fillTable('dead-table', rows, code ? `No dead letters with code ${code}.` : 'No dead letters.');
}

async function loadDeadDays() {
  const counts = await getJson('/v1/admin/dead-letters/counts');
  const days = Object.entries(counts.by_day).sort((a, b) => (a[0] < b[0] ? 1 : -1));
  fillTable(
    'dead-days-table',
    days.map(([day, n]) => row([day, fmtInt(n)])),
    'No dead letters.',
  );
}

async function postJson(path, body) {
  const res = await fetch(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    credentials: 'same-origin',
    body: JSON.stringify(body),
  });
  if (res.status === 401) throw new Unauthorized('signed out');
  const answer = await res.json().catch(() => null);
  if (!res.ok) throw new Error(answer?.error?.message ?? `HTTP ${res.status}`);
  return answer;
}

/** The filters of the re-drive form: the code shown in the list above, the account and since typed here; none is `all` (an empty request is refused). */
function redriveFilters() {
  const code = $('dead-code').value;
  const account = $('redrive-account').value.trim();
  const since = $('redrive-since').value.trim();
  const filters = { ...(code ? { code } : {}), ...(account ? { account } : {}), ...(since ? { since } : {}) };
  return Object.keys(filters).length > 0 ? filters : { all: true };
}

const stillDead = (r) => {
  const entries = Object.entries(r.still_dead);
  return entries.length === 0 ? 'nothing stays dead' : `stays dead: ${entries.map(([c, n]) => `${c} ${fmtInt(n)}`).join(', ')}`;
};

let previewed = null;

async function previewRedrive() {
  const result = $('redrive-result');
  result.textContent = '';
  result.classList.remove('error');
  try {
    const filters = redriveFilters();
    const r = await postJson('/v1/admin/dead-letters/redrive', { ...filters, dry_run: true });
    previewed = filters;
    const scope = filters.code ? `code ${filters.code}` : 'all codes';
    $('redrive-preview-text').textContent =
      `Preview (${scope}): ${fmtInt(r.selected)} selected; ${fmtInt(r.charged)} would be charged for ${r.charged_usd}; ${fmtInt(r.duplicates)} already charged; ${stillDead(r)}.`;
    $('redrive-confirm-box').hidden = false;
    $('redrive-confirm').disabled = r.charged === 0;
    $('redrive-confirm').focus();
  } catch (err) {
    if (err instanceof Unauthorized) return window.location.assign('/login?next=%2F');
    result.textContent = `Preview failed: ${err.message}`;
    result.classList.add('error');
  }
}

async function confirmRedrive() {
  const result = $('redrive-result');
  $('redrive-confirm').disabled = true;
  result.textContent = 'Re-driving…';
  try {
    const r = await postJson('/v1/admin/dead-letters/redrive', previewed ?? redriveFilters());
    result.textContent = `Run ${r.run_id}: ${fmtInt(r.selected)} selected; ${fmtInt(r.charged)} charged for ${r.charged_usd}; ${fmtInt(r.duplicates)} already charged; ${stillDead(r)}.`;
    result.dataset.run = r.run_id;
  } catch (err) {
    if (err instanceof Unauthorized) return window.location.assign('/login?next=%2F');
    result.textContent = `Re-drive failed: ${err.message}`;
    result.classList.add('error');
  } finally {
    $('redrive-confirm-box').hidden = true;
    previewed = null;
  }
}

async function openDeadLetter(seq) {
  const dialog = $('dead-viewer');
  const meta = $('dead-viewer-meta');
  meta.replaceChildren();
  $('dead-viewer-payload').textContent = 'Loading…';
  if (!dialog.open) dialog.showModal();
  try {
    const d = await getJson(`${API}/dead-letters/${seq}`);
    $('dead-viewer-title').textContent = `Dead letter ${d.seq}: ${d.code}`;
    const fields = [
      ['Code', d.code],
      ['Reason', d.message],
      ['Subject', d.subject],
      ['Rejected at', fmtTime(d.received_at)],
      ['Usage stream sequence', String(d.usage_seq ?? '—')],
      ['Size', `${fmtInt(d.payload_bytes)} bytes`],
    ];
    for (const [k, v] of fields) {
      const dt = document.createElement('dt');
      dt.textContent = k;
      const dd = document.createElement('dd');
      dd.textContent = v;
      meta.append(dt, dd);
    }
    $('dead-viewer-encoding').textContent = d.payload_encoding === 'base64' ? '(not UTF-8: shown as base64)' : '';
    let text = d.payload;
    if (d.payload_encoding === 'utf8') {
      try {
        text = JSON.stringify(JSON.parse(d.payload), null, 2);
      } catch {
        // Not JSON (that may be why it is here): shown exactly as received.
      }
    }
    $('dead-viewer-payload').textContent = text;
  } catch (err) {
    $('dead-viewer-payload').textContent = `Could not load: ${err.message}`;
  }
}

/** The row's "Adjust" button; adjust.js opens the form for its account (one listener on the table, rows are redrawn every 5 s). */
function adjustButton(accountId) {
  const button = document.createElement('button');
  button.type = 'button';
  button.textContent = 'Adjust…';
  button.dataset.adjust = accountId;
  button.setAttribute('aria-label', `Adjust the balance of ${accountId}`);
  const td = document.createElement('td');
  td.append(button);
  return td;
}

async function loadAccounts() {
  const search = $('account-search').value;
  const body = await getJson(`${API}/accounts?limit=100&search=${encodeURIComponent(search)}`);
  $('account-count').textContent =
    `${fmtInt(body.matching)} of ${fmtInt(body.total)} accounts${body.matching > body.accounts.length ? `, first ${body.accounts.length} shown` : ''}`;
  const rows = body.accounts.map((a) =>
    row(
      [
        a.account_id,
        cell(a.balance_usd, a.low_balance ? 'balance low' : 'balance'),
        a.discount_tier,
        a.current_plan_id ?? '—',
        a.vm_quota_total > 0 ? `${a.vm_quota_used} / ${a.vm_quota_total}` : '—',
        fmtTime(a.vm_quota_period_end),
        fmtTime(a.last_active_at),
        adjustButton(a.account_id),
      ],
      { 'data-account': a.account_id, title: `${a.balance_micros} micros` },
    ),
  );
  fillTable('accounts-table', rows, search ? `No account id contains "${search}".` : 'No accounts yet: they appear with their first charge or payment.');
}

async function loadAllocations() {
  const body = await getJson(`${API}/allocations`);
  const rows = body.allocations.map((a) =>
    row([a.allocation_id, a.account_id, a.plan_id, String(a.slot), a.status, fmtTime(a.expires_at), fmtTime(a.created_at)]),
  );
  fillTable('allocations-table', rows, 'No VM allocations yet.');
}

async function loadTicks() {
  const body = await getJson(`${API}/ticks`);
  fillTable(
    'ticks-table',
    body.ticks.map((t) =>
      row([
        t.tick_id,
        t.source,
        fmtTime(t.now),
        `${t.shards_done} / ${t.shards}${t.complete ? '' : ' (incomplete)'}`,
        fmtInt(t.accounts),
        fmtInt(t.tier_changes),
        fmtInt(t.plans_expired),
        fmtInt(t.allocations_expired),
      ]),
    ),
    'No ladder ticks have run yet.',
  );
  fillTable(
    'transitions-table',
    body.transitions.map((t) => row([t.account_id, t.from, t.to, fmtTime(t.at), t.tick_id])),
    'No tier transitions yet.',
  );
}

// ---- schedule -----------------------------------------------------------------------

function every(ms, panelId, load) {
  const run = () => refresh(panelId, load);
  void run();
  setInterval(run, ms);
  return run;
}

every(2000, 'pipeline', loadOverview);
const reloadAccounts = every(5000, 'accounts', loadAccounts);
const reloadDead = every(5000, 'dead-letters', loadDeadLetters);
every(10000, 'dead-letters', loadDeadDays);
every(10000, 'allocations', loadAllocations);
every(10000, 'ticks', loadTicks);

let searchTimer = null;
$('account-search').addEventListener('input', () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(() => void reloadAccounts(), 250);
});
$('dead-code').addEventListener('change', () => {
  $('redrive-confirm-box').hidden = true;
  void reloadDead();
});
$('redrive-form').addEventListener('submit', (event) => {
  event.preventDefault();
  void previewRedrive();
});
$('redrive-confirm').addEventListener('click', () => void confirmRedrive());
$('redrive-cancel').addEventListener('click', () => {
  $('redrive-confirm-box').hidden = true;
  previewed = null;
});
