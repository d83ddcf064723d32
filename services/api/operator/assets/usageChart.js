// Charges per window stacked by kind (issue 29), drawn with uPlot: the account page's last
// 30 days (the answer of GET /v1/accounts/:id/usage?group_by=kind, embedded in the page as
// JSON) and the operator dashboard's last 48 hours across all accounts (polled from
// /v1/admin/dashboard/usage, same shape). Plain browser JavaScript, no build step.
/* global uPlot */
'use strict';

const KINDS = [
  ['vm_hour', '#2563eb'],
  ['llm_token', '#16a34a'],
  ['hero_os_hour', '#d97706'],
  ['other', '#6b7280'],
];
const UNIT_MS = { hour: 3_600_000, day: 86_400_000 };
const usd = (micros) => `$${(micros / 1e6).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 6 })}`;

/** Every window of [from, to) with each kind's micros (0 where none), and the kinds present. */
function columns(answer) {
  const unit = UNIT_MS[answer.window];
  const from = Date.parse(answer.from);
  const n = Math.max(0, Math.round((Date.parse(answer.to) - from) / unit));
  const xs = Array.from({ length: n }, (_, i) => (from + i * unit) / 1000);
  const byKind = new Map();
  for (const row of answer.rows) {
    const i = Math.round((Date.parse(row.start) - from) / unit);
    if (i < 0 || i >= n) continue;
    if (!byKind.has(row.kind)) byKind.set(row.kind, new Array(n).fill(0));
    byKind.get(row.kind)[i] += Number(row.charged_micros);
  }
  return { xs, unit, kinds: KINDS.filter(([kind]) => byKind.has(kind)).map(([kind, color]) => ({ kind, color, values: byKind.get(kind) })) };
}

/**
 * Stacked bars: series i is the sum of kinds i..last, drawn from the tallest down so each
 * kind shows as its own band; the legend shows each kind's own amount.
 */
function chartData(cols) {
  const stacks = cols.kinds.map((_, i) => cols.xs.map((_x, j) => cols.kinds.slice(i).reduce((s, k) => s + k.values[j], 0)));
  return [cols.xs, ...stacks];
}

const charts = new WeakMap();

function draw(figure, answer) {
  const el = figure.querySelector('[data-chart]');
  const cols = columns(answer);
  const total = cols.kinds.reduce((s, k) => s + k.values.reduce((a, b) => a + b, 0), 0);
  figure.dataset.totalMicros = String(total);
  figure.dataset.windows = String(cols.xs.length);
  figure.dataset.kinds = cols.kinds.map((k) => k.kind).join(',');
  const summary = figure.querySelector('[data-summary]');
  summary.textContent =
    total === 0
      ? 'No charges in this period.'
      : `${usd(total)} charged: ${cols.kinds.map((k) => `${k.kind} ${usd(k.values.reduce((a, b) => a + b, 0))}`).join(', ')}.`;
  if (typeof uPlot !== 'function') return;
  const key = cols.kinds.map((k) => k.kind).join(',');
  const held = charts.get(figure);
  if (held && held.key === key) {
    held.chart.setData(chartData(cols));
    return;
  }
  held?.chart.destroy();
  const width = () => Math.max(300, el.clientWidth || 640);
  const bars = uPlot.paths.bars({ size: [0.8, 40] });
  const chart = new uPlot(
    {
      width: width(),
      height: 220,
      // Windows are UTC, whatever the viewer's zone; half a window of margin keeps the end bars whole.
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
      scales: {
        x: { time: true, range: () => [cols.xs[0] - cols.unit / 2000, cols.xs[cols.xs.length - 1] + cols.unit / 2000] },
        y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] },
      },
      axes: [{}, { size: 80, values: (_u, ticks) => ticks.map(usd) }],
      series: [
        {},
        ...cols.kinds.map((k, i) => ({
          label: k.kind,
          fill: k.color,
          stroke: k.color,
          paths: bars,
          points: { show: false },
          value: (_u, _v, _si, idx) => (idx === null || idx === undefined ? '–' : usd(cols.kinds[i].values[idx] ?? 0)),
        })),
      ],
    },
    chartData(cols),
    el,
  );
  charts.set(figure, { chart, key });
  window.addEventListener('resize', () => chart.setSize({ width: width(), height: 220 }));
}

async function load(figure) {
  const source = figure.dataset.source;
  if (source.startsWith('#')) draw(figure, JSON.parse(document.querySelector(source).textContent));
  else {
    const res = await fetch(source, { headers: { accept: 'application/json' }, credentials: 'same-origin' });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    draw(figure, await res.json());
  }
  // The dashboard panel's "Loading…" line, when the chart sits in one.
  const status = figure.closest('section')?.querySelector('[data-status]');
  if (status) status.hidden = true;
}

for (const figure of document.querySelectorAll('figure[data-usage-chart]')) {
  const run = () =>
    load(figure).catch((err) => {
      figure.querySelector('[data-summary]').textContent = `Could not load: ${err.message}`;
    });
  void run();
  const every = Number(figure.dataset.refreshMs ?? 0);
  if (every > 0) setInterval(run, every);
}
