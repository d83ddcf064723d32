/**
 * The operator pages as server-rendered HTML: no build step and no client framework. The
 * dashboard's shell is complete and readable without JavaScript (every panel says what
 * it holds and that it is loading); ops/assets/dashboard.js fills the panels by polling.
 */

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);

function layout(title: string, body: string, scripts: readonly string[] = [], styles: readonly string[] = []): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>${escapeHtml(title)}</title>
${[...styles, '/ops/assets/dashboard.css'].map((href) => `<link rel="stylesheet" href="${href}">`).join('\n')}
${scripts.map((src) => `<script src="${src}" defer></script>`).join('\n')}
</head>
<body>
${body}
</body>
</html>
`;
}

export function loginPage(options: { next: string; error?: string; configured: boolean }): string {
  const notice = !options.configured
    ? '<p class="error" role="alert">ADMIN_TOKEN is not set on this server, so nobody can sign in. Set it and restart.</p>'
    : options.error
      ? `<p class="error" role="alert">${escapeHtml(options.error)}</p>`
      : '';
  return layout(
    'Sign in · tally',
    `<main class="narrow">
<h1>tally operator sign-in</h1>
${notice}
<form method="post" action="/login" id="login-form">
  <input type="hidden" name="next" value="${escapeHtml(options.next)}">
  <label for="token">Admin token</label>
  <input id="token" name="token" type="password" autocomplete="current-password" required minlength="16" autofocus>
  <button type="submit">Sign in</button>
</form>
<p class="hint">The token is ADMIN_TOKEN. A local <code>tally up</code> prints a link that fills it in, and keeps it in <code>DATA_DIR/admin-token</code>.</p>
</main>`,
    ['/ops/assets/login.js'],
  );
}

export function unauthorizedPage(next: string): string {
  return layout(
    'Sign in required · tally',
    `<main class="narrow">
<h1>Sign in required</h1>
<p>This page is for tally operators (401 unauthorized).</p>
<p><a href="/login?next=${encodeURIComponent(next)}">Sign in with the admin token</a></p>
</main>`,
  );
}

const panel = (id: string, title: string, inner: string): string =>
  `<section id="${id}" aria-labelledby="${id}-title">
<h2 id="${id}-title">${title}</h2>
<p class="status" role="status" data-status>Loading…</p>
${inner}
</section>`;

const table = (id: string, caption: string, headers: readonly string[]): string =>
  `<div class="scroll"><table id="${id}"><caption class="visually-hidden">${caption}</caption>
<thead><tr>${headers.map((h) => `<th scope="col">${h}</th>`).join('')}</tr></thead><tbody></tbody></table></div>`;

export function dashboardPage(): string {
  return layout(
    'Operator dashboard · tally',
    `<header>
<h1>tally operator dashboard</h1>
<nav aria-label="Operator tools">
  <a href="/admin/queues">Queues (bull-board)</a>
  <a href="/metrics">Prometheus metrics</a>
  <form method="post" action="/logout" class="inline"><button type="submit">Sign out</button></form>
</nav>
<p class="updated" aria-live="off">Updated <span id="updated-at">never</span></p>
</header>
<main>
${panel(
  'pipeline',
  'Pipeline',
  `<dl class="tiles">
  <div><dt>Usage messages in the stream</dt><dd id="tile-usage">–</dd></div>
  <div><dt>Consumer lag (JetStream pending)</dt><dd id="tile-lag">–</dd></div>
  <div><dt>In flight (delivered, not acked)</dt><dd id="tile-inflight">–</dd></div>
  <div><dt>Dead letters</dt><dd id="tile-dead">–</dd></div>
</dl>
<figure id="rate-figure">
  <figcaption>Ingest rate and charge rate, records per second, last 10 minutes</figcaption>
  <div id="rate-chart" role="img" aria-label="Line chart of ingest and charge rates; the same figures are in the summary below"></div>
  <p id="rate-summary" aria-live="polite">No samples yet.</p>
</figure>`,
)}
${panel(
  'usage',
  'Charges by kind, last 48 hours',
  `<figure id="usage-figure" data-usage-chart data-source="/v1/admin/dashboard/usage" data-refresh-ms="10000">
  <figcaption>Charged per hour (UTC) across all accounts, stacked by kind</figcaption>
  <div id="usage-chart" data-chart role="img" aria-label="Bar chart of charges per hour by kind; the totals are in the summary below"></div>
  <p data-summary aria-live="polite">Loading…</p>
</figure>`,
)}
${panel('queues', 'Queue depths', `${table('queues-table', 'BullMQ jobs per queue and state', ['Queue', 'Waiting', 'Active', 'Delayed', 'Prioritized', 'Completed', 'Failed'])}`)}
${panel(
  'dead-letters',
  'Dead letters',
  `${table('dead-codes-table', 'Dead letters stored per code', ['Code', 'Stored'])}
<div class="controls">
  <label for="dead-code">Show code</label>
  <select id="dead-code"><option value="">all codes</option></select>
</div>
${table('dead-table', 'Latest dead letters, newest first', ['Seq', 'Rejected at', 'Code', 'Subject', 'Reason', 'Payload', ''])}
<h3>Stored per day</h3>
${table('dead-days-table', 'Dead letters stored per day (UTC)', ['Day', 'Stored'])}
<h3 id="redrive-title">Re-drive</h3>
<p class="hint">Validates the dead letters of the code shown above (all codes when none is chosen) again under the current price book, as of when each first arrived. Those that pass are charged, each at most once; the rest stay dead. <code>malformed_json</code> is never re-driven.</p>
<form id="redrive-form" class="controls" aria-labelledby="redrive-title">
  <label for="redrive-account">Account</label>
  <input id="redrive-account" type="text" placeholder="any account" autocomplete="off" pattern="[A-Za-z0-9_-]{1,64}">
  <label for="redrive-since">Stored since</label>
  <input id="redrive-since" type="text" placeholder="2026-01-01T00:00:00Z" autocomplete="off">
  <button type="submit" id="redrive-preview">Preview re-drive</button>
</form>
<div id="redrive-confirm-box" hidden>
  <p id="redrive-preview-text" role="status"></p>
  <div class="controls">
    <button type="button" id="redrive-confirm">Confirm re-drive</button>
    <button type="button" id="redrive-cancel">Cancel</button>
  </div>
</div>
<p id="redrive-result" role="status" aria-live="polite"></p>
<dialog id="dead-viewer" aria-labelledby="dead-viewer-title">
  <h3 id="dead-viewer-title">Dead letter</h3>
  <dl id="dead-viewer-meta"></dl>
  <h4>Original payload <span id="dead-viewer-encoding"></span></h4>
  <pre id="dead-viewer-payload" tabindex="0"></pre>
  <form method="dialog"><button type="submit">Close</button></form>
</dialog>`,
)}
${panel(
  'accounts',
  'Accounts',
  `<div class="controls">
  <label for="account-search">Search accounts</label>
  <input id="account-search" type="search" placeholder="account id" autocomplete="off">
  <span id="account-count" aria-live="polite"></span>
</div>
${table('accounts-table', 'Accounts', ['Account', 'Balance (USD)', 'Tier', 'Plan', 'VM quota used / total', 'Period end', 'Last active', ''])}
<h3 id="adjust-title">Adjust a balance</h3>
<p class="hint">Credit (positive) or debit (negative) an account: choose "Adjust…" on its row. The reason is kept in its ledger and shown on its account page. Nothing is posted before you confirm.</p>
<form id="adjust-form" class="controls" aria-labelledby="adjust-title" hidden>
  <label for="adjust-account">Account</label>
  <input id="adjust-account" type="text" readonly>
  <label for="adjust-amount">Amount (USD)</label>
  <input id="adjust-amount" type="text" inputmode="decimal" placeholder="-2.50" autocomplete="off" required>
  <label for="adjust-reason">Reason</label>
  <input id="adjust-reason" type="text" maxlength="500" autocomplete="off" required>
  <button type="submit" id="adjust-review">Review adjustment</button>
</form>
<div id="adjust-confirm-box" hidden>
  <p id="adjust-preview-text" role="status"></p>
  <div class="controls">
    <button type="button" id="adjust-confirm">Confirm adjustment</button>
    <button type="button" id="adjust-cancel">Cancel</button>
  </div>
</div>
<p id="adjust-result" role="status" aria-live="polite"></p>`,
)}
${panel('allocations', 'VM allocations', table('allocations-table', 'Latest VM allocations', ['Allocation', 'Account', 'Plan', 'Slot', 'Status', 'Expires', 'Created']))}
${panel(
  'ticks',
  'Ladder ticks and tier transitions',
  `<h3>Tick history</h3>
${table('ticks-table', 'Latest ladder ticks', ['Tick', 'Source', 'As of', 'Shards done', 'Accounts', 'Tier changes', 'Plans expired', 'Allocations expired'])}
<h3>Tier transitions</h3>
${table('transitions-table', 'Latest tier transitions', ['Account', 'From', 'To', 'At', 'Tick'])}`,
)}
</main>`,
    ['/ops/assets/uPlot.iife.min.js', '/ops/assets/dashboard.js', '/ops/assets/usageChart.js', '/ops/assets/adjust.js'],
    ['/ops/assets/uPlot.min.css'],
  );
}
