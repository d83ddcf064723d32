/** Server-rendered HTML for the account page: escaping and the page frame (scripts only for the usage chart). */

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML element content and quoted attribute values. */
export function esc(value: string | number): string {
  return String(value).replace(/[&<>"']/g, (c) => ENTITIES[c] ?? c);
}

/** A UTC instant as people read it: `2026-01-31 14:05 UTC`. */
export function when(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

// One column on a phone, cards side by side from ~700 px; focus rings kept visible for
// keyboard users; tables scroll sideways inside their card instead of widening the page.
const CSS = `
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2430;background:#f4f6f9}
a{color:#0b57d0}
.skip{position:absolute;left:-999px}.skip:focus{left:8px;top:8px;background:#fff;padding:4px 8px}
header{display:flex;flex-wrap:wrap;gap:8px;align-items:center;justify-content:space-between;padding:12px 16px;background:#1d2430;color:#fff}
header h1{font-size:1.1rem;margin:0}
main{max-width:960px;margin:0 auto;padding:16px;display:grid;gap:16px}
@media(min-width:700px){main{grid-template-columns:1fr 1fr}.wide{grid-column:1/-1}}
section{background:#fff;border-radius:8px;padding:16px;box-shadow:0 1px 2px rgba(0,0,0,.08);min-width:0}
h2{font-size:1rem;margin:0 0 8px}
.balance{display:flex;flex-wrap:wrap;align-items:baseline;gap:8px 12px}
.amount{font-size:2rem;font-weight:700}
.tier{display:inline-block;padding:2px 10px;border-radius:999px;font-size:.9rem;font-weight:600;background:#e7ebf0}
.tier[data-tier=week]{background:#dbeafe;color:#123f8c}.tier[data-tier=month]{background:#dcfce7;color:#14532d}
.muted{color:#5b6675;font-size:.92rem}
.banner{padding:12px 16px;border-radius:8px;border-left:6px solid}
.banner.error{background:#fdecec;border-color:#c62828}.banner.success{background:#e8f6ec;border-color:#2e7d32}.banner.info{background:#eaf1fb;border-color:#0b57d0}
.plans{display:grid;gap:8px;grid-template-columns:repeat(auto-fit,minmax(180px,1fr))}
button{font:inherit;padding:10px 14px;border-radius:6px;border:1px solid #0b57d0;background:#0b57d0;color:#fff;cursor:pointer;min-height:44px;width:100%;text-align:left}
button.plain{background:#fff;color:#1d2430;border-color:#aab3bf;width:auto}
button:focus-visible,input:focus-visible,a:focus-visible{outline:3px solid #f59e0b;outline-offset:2px}
.plan strong{display:block;font-size:1.1rem}
dl{display:grid;grid-template-columns:auto 1fr;gap:4px 12px;margin:0 0 12px}dt{color:#5b6675}dd{margin:0;font-weight:600}
meter{width:100%;height:14px}
figure{margin:0}#usage-chart{min-height:220px}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:.92rem}th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #e3e7ec;white-space:nowrap}
td.num,th.num{text-align:right}
label{display:block;font-weight:600;margin-bottom:4px}
input{font:inherit;width:100%;padding:10px;border:1px solid #aab3bf;border-radius:6px;margin-bottom:12px}
`;

/** The document frame: viewport for phones, inline CSS, a skip link and one landmark per region; `files`: our own scripts and styles. */
export function layout(title: string, header: string, body: string, files: { scripts: string[]; styles: string[] } = { scripts: [], styles: [] }): string {
  const links = files.styles.map((href) => `<link rel="stylesheet" href="${href}">`).join('');
  const scripts = files.scripts.map((src) => `<script src="${src}" defer></script>`).join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>${links}<style>${CSS}</style>${scripts}</head>
<body><a class="skip" href="#main">Skip to content</a>
<header>${header}</header>
<main id="main">${body}</main>
</body></html>`;
}
